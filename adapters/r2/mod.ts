// This module is browser compatible.
/**
 * A store in a Cloudflare R2 bucket, through a worker's R2 binding (`env.BLOBS`).
 *
 * @example
 * ```ts
 * import { r2Store, type R2BucketBinding } from "./mod.ts";
 *
 * const store = r2Store({} as R2BucketBinding, { prefix: "tug" });
 * console.assert(store.capabilities.readWhileWriting === false);
 * ```
 *
 * @module
 */

export * from "./r2_bucket.ts";
export * from "./r2_store.ts";

// The types this entry's signatures name, so that its documentation is complete on its own.
export type {
  ObjectBucket,
  ObjectMultipartUpload,
  ObjectPart,
  ObjectStore,
  ObjectStoreOptions,
} from "../../src/store/object_store.ts";
export type { LeaseSleep, ObjectLeases, ObjectLeasesOptions } from "../../src/store/object_lease.ts";
export type { DigestAlgorithm, Hasher, HasherFactory } from "../../src/digest/hasher.ts";
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
export type { Descriptor, Platform } from "../../src/manifest/types.ts";
