// This module is browser compatible.
/**
 * Argument check shared by the functions that take a {@linkcode Reference}.
 *
 * @module
 */

import type { Reference } from "./reference.ts";

/** Throws a `TypeError` unless `ref` looks like a {@linkcode Reference} (a string path at least). */
export function requireReference(ref: unknown, fn: string): asserts ref is Reference {
  if (typeof ref !== "object" || ref === null || typeof (ref as { path?: unknown }).path !== "string") {
    throw new TypeError(
      `${fn}() needs a Reference (from parseReference), got ${ref === null ? "null" : typeof ref}`,
    );
  }
}
