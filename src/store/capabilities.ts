// This module is browser compatible.
/**
 * The capabilities a store declares ({@linkcode StoreCapabilities}), with the defaults for a store that
 * declares none.
 *
 * @module
 */

import type { Store, StoreCapabilities } from "./types.ts";

/**
 * The capabilities of `store`: what it declares, else `resume: true` (the behaviour every store had before
 * capabilities were declared) and `readWhileWriting: undefined` (not declared: look at each writer's
 * `readWritten`).
 *
 * @param store Any store.
 * @returns `resume`, and `readWhileWriting` when the store declared it.
 *
 * @example An object store that keeps only committed blobs
 * ```ts
 * import { storeCapabilities } from "./capabilities.ts";
 * import { MemoryStore } from "./memory_store.ts";
 * import type { Store } from "./types.ts";
 *
 * const memory = new MemoryStore();
 * console.assert(storeCapabilities(memory).resume && storeCapabilities(memory).readWhileWriting === true);
 *
 * // Stand-in for a store over S3 or R2: it declares that it neither resumes nor reads back.
 * const objectStore: Store = {
 *   blobs: memory.blobs,
 *   references: memory.references,
 *   capabilities: { resume: false, readWhileWriting: false },
 * };
 * console.assert(storeCapabilities(objectStore).resume === false);
 * ```
 */
export function storeCapabilities(
  store: Store,
): { readonly resume: boolean; readonly readWhileWriting?: StoreCapabilities["readWhileWriting"] } {
  const declared = store.capabilities;
  if (declared === undefined) return { resume: true };
  return { resume: declared.resume !== false, readWhileWriting: declared.readWhileWriting === true };
}
