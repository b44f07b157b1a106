// This module is browser compatible.
/**
 * The one rule every reader of a remote manifest uses to decide which digest it has.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import { digestBytes } from "../digest/digest_bytes.ts";
import type { DigestAlgorithm } from "../digest/hasher.ts";

/** What {@linkcode verifyManifestDigest} checks the bytes against. */
export interface ManifestDigestCheck {
  /** The digest asked for (a reference by digest, or an index entry): the bytes must hash to it. */
  readonly expected?: string;
  /** The registry's `Docker-Content-Digest`, when it sent one. */
  readonly digestHeader?: string;
  /** How the manifest is named in errors, e.g. `docker.io/library/alpine@sha256:…` or `alpine:3.20`. */
  readonly name: string;
}

/**
 * Hashes a manifest's bytes and checks them, returning their digest. By digest, the bytes must hash to
 * `expected` (in its algorithm). By tag, there is nothing to check against but the registry's own
 * `Docker-Content-Digest`: when it is present and in sha256 (the algorithm tug hashes a tag's manifest
 * with) it must match, as moby's pull_v2.go and go-containerregistry's remote.Get require; a header in
 * another algorithm cannot be compared without a second hash and is ignored, as before.
 *
 * Errors: `DIGEST_MISMATCH` (a {@linkcode TugError}) naming what was expected and what the bytes hash to;
 * a `TypeError` when `expected` is in an algorithm tug cannot hash.
 *
 * @example A manifest fetched by tag, checked against the header
 * ```ts
 * import { verifyManifestDigest } from "./verify_manifest_digest.ts";
 * import { digestBytes } from "../digest/digest_bytes.ts";
 *
 * const bytes = new TextEncoder().encode("{}");
 * const digest = await digestBytes(bytes);
 * console.assert(await verifyManifestDigest(bytes, { digestHeader: digest, name: "a:b" }) === digest);
 * ```
 */
export async function verifyManifestDigest(bytes: Uint8Array, check: ManifestDigestCheck): Promise<string> {
  const { expected, digestHeader, name } = check;
  // By digest, the digest's own algorithm (digestBytes refuses one it does not know with a TypeError).
  const algorithm =
    (expected === undefined ? "sha256" : expected.slice(0, expected.indexOf(":"))) as DigestAlgorithm;
  const actual = await digestBytes(bytes, algorithm);
  if (expected !== undefined && actual !== expected) {
    throw new TugError(
      "DIGEST_MISMATCH",
      `Manifest "${name}" does not match its digest: registry sent content hashing to ${actual}`,
    );
  }
  if (
    expected === undefined && digestHeader && digestHeader.startsWith(`${algorithm}:`) &&
    digestHeader !== actual
  ) {
    throw new TugError(
      "DIGEST_MISMATCH",
      `Manifest "${name}": the registry says its digest is ${digestHeader}, the content hashes to ${actual}`,
    );
  }
  return actual;
}
