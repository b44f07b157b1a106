// This module is browser compatible.
/**
 * Add `:latest` to a bare name.
 *
 * @module
 */

import { makeReference } from "./_reference.ts";
import { requireReference } from "./_require_reference.ts";
import type { Reference } from "./reference.ts";

/** The tag Docker assumes when a reference has neither a tag nor a digest. */
export const DEFAULT_TAG = "latest";

/**
 * Adds the tag `latest` to a reference that has neither a tag nor a digest (distribution's TagNameOnly);
 * returns any other reference unchanged.
 *
 * @param ref The reference.
 * @returns `ref` with `:latest`, or `ref` itself.
 * @throws {TypeError} If `ref` is not a reference.
 *
 * @example
 * ```ts
 * import { parseReference } from "./parse_reference.ts";
 * import { withDefaultTag } from "./with_default_tag.ts";
 *
 * console.assert(withDefaultTag(parseReference("alpine")).familiar === "alpine:latest");
 * console.assert(withDefaultTag(parseReference("alpine:3")).familiar === "alpine:3");
 * ```
 */
export function withDefaultTag(ref: Reference): Reference {
  requireReference(ref, "withDefaultTag");
  if (ref.tag !== undefined || ref.digest !== undefined) return ref;
  return makeReference(ref.domain, ref.path, DEFAULT_TAG, undefined);
}
