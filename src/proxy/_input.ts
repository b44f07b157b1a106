// This module is browser compatible.
/**
 * Checks of what a client sends the proxy (digests, references, the public URL it is configured with):
 * every bad value becomes a 4xx answer here, at the edge, instead of an exception deeper down that would
 * surface as a 500. Private to the proxy.
 *
 * @module
 */

import { parseDigest } from "../digest/parse_digest.ts";
import { TugError } from "../errors.ts";
import { TAG_PATTERN } from "../reference/patterns.ts";
import { errorResponse } from "./_responses.ts";

/**
 * Why `digest` cannot name a blob the proxy can verify, or undefined when it can. Only `sha256:` + 64 and
 * `sha512:` + 128 lowercase hex pass (the digests the proxy can check in flight); `md5:…` or `sha256:abc`
 * would otherwise reach the store or the verifier and fail there.
 */
export function digestProblem(digest: string): string | undefined {
  try {
    parseDigest(digest);
    return undefined;
  } catch (err) {
    if (err instanceof TugError) return err.message;
    throw err;
  }
}

/** A 400 `DIGEST_INVALID` for a digest the proxy cannot verify, else undefined. */
export function checkBlobDigest(digest: string): Response | undefined {
  const problem = digestProblem(digest);
  return problem === undefined ? undefined : errorResponse(400, "DIGEST_INVALID", problem);
}

/**
 * A 400 for a manifest reference that is neither a valid tag nor a verifiable digest, else undefined. A
 * reference with a colon is a digest (tags cannot hold one).
 */
export function checkManifestReference(reference: string): Response | undefined {
  if (reference.includes(":")) return checkBlobDigest(reference);
  return TAG_PATTERN.test(reference)
    ? undefined
    : errorResponse(400, "TAG_INVALID", `Invalid tag "${reference}"`);
}

/** Why `tag` is not a valid tag, or undefined. */
export function tagProblem(tag: string): string | undefined {
  return TAG_PATTERN.test(tag) ? undefined : `Invalid tag "${tag}"`;
}

/**
 * The origin of the proxy's configured public URL (`https://mirror.example`), or a TypeError naming what
 * is wrong: only http(s) URLs without credentials, query or fragment.
 */
export function publicOrigin(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`The public URL "${url}" is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TypeError(`The public URL "${url}" must be http or https`);
  }
  if (parsed.username !== "" || parsed.password !== "" || parsed.search !== "" || parsed.hash !== "") {
    throw new TypeError(`The public URL "${url}" must not carry credentials, a query or a fragment`);
  }
  if (parsed.pathname !== "/" && parsed.pathname !== "") {
    throw new TypeError(`The public URL "${url}" must be an origin (the proxy answers at its root)`);
  }
  return parsed.origin;
}
