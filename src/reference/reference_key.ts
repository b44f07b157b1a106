// This module is browser compatible.
/**
 * The key a reference is stored under in a store's references: one spelling for every writer and reader.
 *
 * @module
 */

import type { Reference } from "./reference.ts";

/**
 * The store key for a reference: `name:tag`, or `name@digest` for digest-only references (a reference with
 * both is stored by its tag).
 *
 * @example
 * ```ts
 * import { referenceKey } from "./reference_key.ts";
 * import { parseReference } from "./parse_reference.ts";
 *
 * console.assert(referenceKey(parseReference("alpine:3.20")) === "docker.io/library/alpine:3.20");
 * ```
 */
export function referenceKey(ref: Reference): string {
  return ref.tag !== undefined ? `${ref.name}:${ref.tag}` : `${ref.name}@${ref.digest}`;
}
