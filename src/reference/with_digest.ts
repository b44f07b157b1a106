// This module is browser compatible.
/**
 * Set the digest of a reference.
 *
 * @module
 */

import { checkDigestForm } from "./_grammar.ts";
import { makeReference, refuse, requireString } from "./_reference.ts";
import { requireReference } from "./_require_reference.ts";
import type { Reference } from "./reference.ts";

/**
 * Returns `ref` with its digest set to `digest` (distribution's WithDigest): the name and any tag are kept.
 *
 * Like upstream, this checks the digest's form only (`algorithm:hex` with at least 32 hex digits), not the
 * length its algorithm requires; `parseReference` checks that when the string is parsed again.
 *
 * @param ref The reference to start from.
 * @param digest The digest, `algorithm:hex`.
 * @returns A new reference; `ref` is not changed.
 * @throws {TypeError} If `ref` is not a reference or `digest` is not a string.
 * @throws {TugError} `DIGEST_INVALID_FORMAT` if `digest` is not of the form `algorithm:hex`.
 *
 * @example
 * ```ts
 * import { parseReference } from "./parse_reference.ts";
 * import { withDigest } from "./with_digest.ts";
 *
 * const digest = "sha256:" + "0".repeat(64);
 * const ref = withDigest(parseReference("acme/app:1"), digest);
 * console.assert(ref.familiar === `acme/app:1@${digest}`);
 * ```
 */
export function withDigest(ref: Reference, digest: string): Reference {
  requireReference(ref, "withDigest");
  requireString(digest, "The digest");
  const problem = checkDigestForm(digest, 0, digest.length);
  if (problem !== undefined) refuse("DIGEST_INVALID_FORMAT", digest, problem, "digest");
  return makeReference(ref.domain, ref.path, ref.tag, digest);
}
