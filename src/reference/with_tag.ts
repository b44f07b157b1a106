// This module is browser compatible.
/**
 * Set the tag of a reference.
 *
 * @module
 */

import { checkTag } from "./_grammar.ts";
import { makeReference, refuse, requireString } from "./_reference.ts";
import { requireReference } from "./_require_reference.ts";
import type { Reference } from "./reference.ts";

/**
 * Returns `ref` with its tag set to `tag` (distribution's WithTag): the name and any digest are kept.
 *
 * @param ref The reference to start from.
 * @param tag The new tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
 * @returns A new reference; `ref` is not changed.
 * @throws {TypeError} If `ref` is not a reference or `tag` is not a string.
 * @throws {TugError} `TAG_INVALID_FORMAT` if `tag` does not match the tag grammar.
 *
 * @example
 * ```ts
 * import { parseReference } from "./parse_reference.ts";
 * import { withTag } from "./with_tag.ts";
 *
 * const ref = withTag(parseReference("alpine:3.19"), "3.20");
 * console.assert(ref.toString() === "docker.io/library/alpine:3.20");
 * ```
 */
export function withTag(ref: Reference, tag: string): Reference {
  requireReference(ref, "withTag");
  requireString(tag, "The tag");
  const problem = checkTag(tag, 0, tag.length);
  if (problem !== undefined) refuse("TAG_INVALID_FORMAT", tag, problem, "tag");
  return makeReference(ref.domain, ref.path, tag, ref.digest);
}
