// This module is browser compatible.
/**
 * Tell a pin-by-digest reference from a tagged one.
 *
 * @module
 */

import { requireReference } from "./_require_reference.ts";
import type { Reference } from "./reference.ts";

/**
 * Whether `ref` names its image by digest alone (`name@sha256:…`, no tag). Such a reference pins content:
 * a pull of it stores no tag, and nothing is "up to date" by name.
 *
 * @param ref The reference.
 * @returns `true` when `ref` has a digest and no tag.
 * @throws {TypeError} If `ref` is not a reference.
 *
 * @example
 * ```ts
 * import { isDigestOnly } from "./is_digest_only.ts";
 * import { parseReference } from "./parse_reference.ts";
 *
 * const digest = "sha256:" + "a".repeat(64);
 * console.assert(isDigestOnly(parseReference(`alpine@${digest}`)));
 * console.assert(!isDigestOnly(parseReference(`alpine:3@${digest}`)));
 * console.assert(!isDigestOnly(parseReference("alpine")));
 * ```
 */
export function isDigestOnly(ref: Reference): boolean {
  requireReference(ref, "isDigestOnly");
  return ref.digest !== undefined && ref.tag === undefined;
}
