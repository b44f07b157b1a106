// This module is browser compatible.
/**
 * Digest validation for callers that only need a yes-or-throw on a digest string.
 *
 * @module
 */

import { parseDigest } from "./parse_digest.ts";

/**
 * Checks that `input` is a supported, well-formed digest (`sha256:` + 64 or `sha512:` + 128 lowercase hex
 * characters) and returns it unchanged; safe to use in a file path or a URL afterwards.
 *
 * @param input The digest string to check.
 * @returns `input`, unchanged.
 * @throws {TypeError} If `input` is not a string.
 * @throws {TugError} `DIGEST_INVALID_FORMAT` or `DIGEST_UNSUPPORTED`, as {@linkcode parseDigest}.
 *
 * @example Validate before building a URL
 * ```ts
 * import { validateDigest } from "./validate_digest.ts";
 *
 * const digest = validateDigest("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * const url = `https://registry.example/v2/library/alpine/blobs/${digest}`;
 * console.assert(url.endsWith(digest));
 * ```
 */
export function validateDigest(input: string): string {
  parseDigest(input);
  return input;
}
