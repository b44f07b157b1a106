/**
 * tug's registry test harness: a real `docker-registry` process (distribution 2.8.2), a Docker token
 * server, a tar writer, and fixture images pushed through the registry's own API.
 *
 * Most integration tests only need the shared registry with the four standard images:
 *
 * ```ts ignore
 * import { sharedRegistry } from "../test/harness/mod.ts";
 *
 * Deno.test("pull() stores the small image", async () => {
 *   const { registry, images } = await sharedRegistry();
 *   // images.small.reference === `${registry.host}/tug/small:v1`; compare results with
 *   // images.small.manifestDigest, .config.digest, .layers[i].digest/.diffId/.files …
 * });
 * ```
 *
 * - `sharedRegistry()` starts one registry per `deno test` process (all test files share it), seeds
 *   `tug/small`, `tug/multi`, `tug/large`, `tug/zstd` (tag `v1`) and kills it at exit. Do not stop it and do
 *   not push into `tug/*`; push custom images into other repositories or start your own registry.
 * - Sanitizers stay on: registries run detached from Deno (no child handle, no pending op), so a test that
 *   calls `sharedRegistry()` or `startRegistry()` needs no `sanitizeResources/sanitizeOps: false`. Consume or
 *   cancel every response body, as always. The token server is a `Deno.serve` listener: stop it (or use
 *   `await using`) inside the test that started it.
 * - Tests that count upstream requests use `registry.accessLog()` before and after. Distribution's own
 *   proxy mode may fetch a blob upstream twice when a second request comes while it is still storing it.
 * - A GET of a manifest without a schema2 `Accept` makes distribution 2.8 answer with a schema1 manifest it
 *   converts and signs itself: the simplest source of schema1 content.
 * - Own registry: `await using registry = await startRegistry({ auth, proxy, tls, extra })`; token auth:
 *   `await using both = await startTokenRegistry({ token: { users, access } })`; custom images:
 *   `pushImage(registry, "custom/x", await buildImage({ … }), "tag")`.
 *
 * @module
 */

export * from "./registry.ts";
export * from "./registry_fetch.ts";
export * from "./tar.ts";
export * from "./images.ts";
export * from "./seed.ts";
export * from "./shared_registry.ts";
export * from "./port.ts";
export * from "./certificate.ts";
export * from "./token_server.ts";
