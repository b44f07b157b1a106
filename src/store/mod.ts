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
export * from "./object_lease.ts";
export * from "./object_lru.ts";

// The types this entry's signatures name (and the types those name), so that its documentation is complete
// on its own (`deno doc --lint` of this entry alone); each is documented with its own module too.
export type { Descriptor, Platform } from "../manifest/types.ts";
export type { DigestAlgorithm, Hasher, HasherFactory } from "../digest/hasher.ts";
