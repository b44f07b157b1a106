// This module is browser compatible.
/**
 * Parse what `docker inspect` accepts: a reference, a digest or an image ID.
 *
 * @module
 */

import { isImageId, isSupportedDigest, parseNormalized } from "./_parse.ts";
import { requireString } from "./_reference.ts";
import type { Reference } from "./reference.ts";

/** A bare content digest with no repository, as {@linkcode parseAnyReference} returns for an image ID. */
export interface DigestReference {
  /** Always `undefined`: a digest reference names no repository (test `name` to tell the two apart). */
  readonly name?: undefined;
  /** The digest, `algorithm:hex`. */
  readonly digest: string;
  /** The digest. */
  toString(): string;
  /** The digest. */
  toJSON(): string;
}

class BareDigest implements DigestReference {
  readonly digest: string;
  constructor(digest: string) {
    this.digest = digest;
    Object.freeze(this);
  }
  toString(): string {
    return this.digest;
  }
  toJSON(): string {
    return this.digest;
  }
}

/**
 * Parses a reference, or a digest standing alone, as distribution's ParseAnyReference does: a 64-digit hex
 * string is the image ID `sha256:<hex>`, a valid supported digest is itself; anything else is parsed with
 * Docker's defaults as by `parseReference`.
 *
 * @param input A reference (`redis:7`), a digest (`sha256:…`) or a full image ID (64 hex digits).
 * @returns A {@linkcode DigestReference} (its `name` is `undefined`) or a normalized {@linkcode Reference}.
 * @throws {TypeError} If `input` is not a string.
 * @throws {TugError} The codes of `parseReference` when `input` is neither a digest nor a valid reference.
 *
 * @example
 * ```ts
 * import { parseAnyReference } from "./parse_any_reference.ts";
 *
 * const id = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
 * const byId = parseAnyReference(id);
 * console.assert(byId.name === undefined && byId.toString() === `sha256:${id}`);
 *
 * const byName = parseAnyReference("redis:7");
 * console.assert(byName.name === "docker.io/library/redis");
 * ```
 */
export function parseAnyReference(input: string): Reference | DigestReference {
  requireString(input, "The reference");
  if (isImageId(input)) return new BareDigest(`sha256:${input}`);
  if (isSupportedDigest(input)) return new BareDigest(input);
  return parseNormalized(input);
}
