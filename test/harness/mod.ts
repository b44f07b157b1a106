/**
 * tug's registry test harness: a real `docker-registry` process, a token server, a tar writer and fixture
 * images pushed through the registry's own API. Import from here in integration tests:
 *
 * ```ts ignore
 * import { sharedRegistry, startRegistry } from "../test/harness/mod.ts";
 * ```
 *
 * @module
 */

export * from "./registry.ts";
export * from "./registry_fetch.ts";
export * from "./tar.ts";
export * from "./images.ts";
export * from "./seed.ts";
export * from "./shared_registry.ts";
export * from "./certificate.ts";
export * from "./token_server.ts";
