// This module is browser compatible.
/**
 * Talking to registries: a {@linkcode RegistryClient} for one repository, and the transport under it —
 * fetch wrappers stacked as `withUserAgent → withRetry → withAuth → withRedirects → fetch` by
 * {@linkcode createRegistryFetch}, `WWW-Authenticate` parsing, bearer tokens and registry error bodies.
 *
 * @example Read a tag's manifest digest
 * ```ts
 * import { RegistryClient } from "./mod.ts";
 *
 * const client = new RegistryClient({
 *   registry: "http://127.0.0.1:5000",
 *   repository: "small",
 *   fetch: () =>
 *     Promise.resolve(new Response(null, { headers: { "docker-content-digest": "sha256:" + "a".repeat(64) } })),
 * });
 * const { digest } = await client.headManifest("v1");
 * console.assert(digest?.startsWith("sha256:"));
 * ```
 *
 * @module
 */

export * from "./types.ts";
export * from "./parse_www_authenticate.ts";
export * from "./token_cache.ts";
export * from "./fetch_token.ts";
export * from "./registry_error.ts";
export * from "./with_user_agent.ts";
export * from "./retry_policy.ts";
export * from "./describe_network_error.ts";
export * from "./with_retry.ts";
export * from "./with_auth.ts";
export * from "./with_redirects.ts";
export * from "./create_registry_fetch.ts";
export * from "./registry_client.ts";
export * from "./lookup_endpoints.ts";

// The types this entry's signatures name (and the types those name), so that its documentation is complete
// on its own (`deno doc --lint` of this entry alone); each is documented with its own module too.
export type { TugError, TugErrorCode } from "../errors.ts";
