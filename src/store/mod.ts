// This module is browser compatible.
/**
 * Stores: the interfaces every image store implements, and the in-memory store. The OCI image layout store
 * on disk lives in `adapters/fs/`.
 *
 * @example Keep an image in memory
 * ```ts
 * import { MemoryStore } from "./mod.ts";
 * import type { Store } from "./mod.ts";
 *
 * const store: Store = new MemoryStore();
 * console.assert((await store.references.list()).length === 0);
 * ```
 *
 * @module
 */

export type * from "./types.ts";
export * from "./memory_store.ts";
export * from "./capabilities.ts";
export * from "./object_store.ts";
