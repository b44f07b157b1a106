// This module is browser compatible.
/**
 * tug: pull container images anywhere JavaScript runs.
 *
 * The core is fetch- and stream-only: it runs unchanged in Deno, Node, browsers and edge workers.
 * Runtime abilities (a fast hasher, a store on disk) come from `adapters/`.
 *
 * @example Normalize an image reference the way `docker pull` does
 * ```ts
 * import { parseReference } from "./mod.ts";
 *
 * const ref = parseReference("alpine:3.20");
 * console.assert(ref.toString() === "docker.io/library/alpine:3.20");
 * console.assert(ref.familiar === "alpine:3.20");
 * ```
 *
 * @example Pull an image into memory (needs a reachable registry, so only type-checked)
 * ```ts ignore
 * import { MemoryStore, pull } from "./mod.ts";
 *
 * const store = new MemoryStore();
 * const result = await pull("alpine:3.20", { store, platform: "linux/arm64" });
 * console.log(result.digest, result.status);
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./reference/mod.ts";
export * from "./digest/mod.ts";
export * from "./manifest/mod.ts";
export * from "./manifest/schema1.ts";
export * from "./registry/mod.ts";
export * from "./store/mod.ts";
export * from "./pull/mod.ts";
export * from "./image/mod.ts";
export * from "./proxy/mod.ts";
