// This module is browser compatible.
/**
 * Drop the tag and digest of a reference.
 *
 * @module
 */

import { makeReference } from "./_reference.ts";
import { requireReference } from "./_require_reference.ts";
import type { Reference } from "./reference.ts";

/**
 * Returns the repository alone, without tag or digest (distribution's TrimNamed).
 *
 * @param ref The reference.
 * @returns A reference with the same domain and path, and no tag or digest.
 * @throws {TypeError} If `ref` is not a reference.
 *
 * @example
 * ```ts
 * import { parseReference } from "./parse_reference.ts";
 * import { trimToName } from "./trim_to_name.ts";
 *
 * const repo = trimToName(parseReference("alpine:3.20"));
 * console.assert(repo.toString() === "docker.io/library/alpine");
 * ```
 */
export function trimToName(ref: Reference): Reference {
  requireReference(ref, "trimToName");
  return makeReference(ref.domain, ref.path, undefined, undefined);
}
