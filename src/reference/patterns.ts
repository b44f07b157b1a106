// This module is browser compatible.
/**
 * The shapes of a tag and a digest in a registry URL (OCI distribution spec, "Pulling manifests"), in one
 * place for the registry client and the proxy. Full reference parsing lives in parse_reference.ts.
 *
 * @module
 */

/**
 * A tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}` (OCI distribution spec).
 *
 * @example
 * ```ts
 * import { TAG_PATTERN } from "./patterns.ts";
 *
 * console.assert(TAG_PATTERN.test("3.20") && !TAG_PATTERN.test(".x"));
 * ```
 */
export const TAG_PATTERN: RegExp = /^[\w][\w.-]{0,127}$/;

/**
 * A digest's form: `algorithm:encoded` (OCI image spec descriptor.md); whether the algorithm is known and
 * the encoding fits it is checked elsewhere (parseDigest).
 *
 * @example
 * ```ts
 * import { DIGEST_PATTERN } from "./patterns.ts";
 *
 * console.assert(DIGEST_PATTERN.test("sha256:abc") && !DIGEST_PATTERN.test("latest"));
 * ```
 */
export const DIGEST_PATTERN: RegExp = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * A repository name's path components, `/`-separated (OCI distribution spec `<name>`), without a domain.
 *
 * @example
 * ```ts
 * import { REPOSITORY_PATTERN } from "./patterns.ts";
 *
 * console.assert(REPOSITORY_PATTERN.test("library/alpine") && !REPOSITORY_PATTERN.test("Alpine"));
 * ```
 */
export const REPOSITORY_PATTERN: RegExp =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
