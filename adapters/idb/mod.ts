// This module is browser compatible.
/**
 * The IndexedDB store for browsers: {@linkcode IdbStore} keeps pulled blobs and references across page
 * reloads, in 1 MiB chunks, with an optional least-recently-used size cap.
 *
 * @example Open the page's cache
 * ```ts
 * import { IdbStore } from "./mod.ts";
 *
 * const store = new IdbStore({ name: "tug-page", maxBytes: 1024 * 1024 * 1024 });
 * console.assert(store.name === "tug-page");
 * ```
 *
 * @module
 */

export * from "./idb_store.ts";

// The types this entry's signatures name (and the types those name), so that its documentation is complete
// on its own (`deno doc --lint` of this entry alone); each is documented with its own module too.
export type { Descriptor, Platform } from "../../src/manifest/types.ts";
export type {
  BlobInfo,
  BlobLeaseOutcome,
  BlobLeaseRecord,
  BlobLeases,
  BlobStore,
  BlobWriter,
  DiffIdStore,
  HeldBlobLease,
  ReferenceRecord,
  ReferenceStore,
  Store,
  StoreCapabilities,
} from "../../src/store/types.ts";
