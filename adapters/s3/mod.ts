// This module is browser compatible.
/**
 * Stores in object storage: an S3-API bucket (AWS S3, MinIO, Ceph radosgw, R2's S3 endpoint) with fetch
 * and SigV4 only, so it runs in Deno, Node, workerd and browsers.
 *
 * @example A proxy cache in a MinIO bucket
 * ```ts
 * import { s3Store } from "./mod.ts";
 *
 * const store = s3Store({
 *   bucket: "cache",
 *   endpoint: "http://127.0.0.1:9000",
 *   credentials: { accessKeyId: "minio", secretAccessKey: "minio123" },
 * });
 * console.assert(store.capabilities.resume === false);
 * ```
 *
 * @module
 */

export * from "./s3_bucket.ts";
export * from "./s3_store.ts";

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
