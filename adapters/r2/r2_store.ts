// This module is browser compatible.
/**
 * A store in a Cloudflare R2 bucket, through the worker's binding: {@linkcode r2Store}.
 *
 * @module
 */

import type { HasherFactory } from "../../src/digest/hasher.ts";
import { ObjectStore, type ObjectStoreOptions } from "../../src/store/object_store.ts";
import { R2Bucket, type R2BucketBinding } from "./r2_bucket.ts";

/**
 * Options for {@linkcode r2Store}.
 *
 * @example
 * ```ts
 * import type { R2StoreOptions } from "./r2_store.ts";
 *
 * const options: R2StoreOptions = { prefix: "tug", partSize: 8 << 20 };
 * console.assert(options.prefix === "tug");
 * ```
 */
export interface R2StoreOptions {
  /** A key prefix (folder) inside the bucket. */
  prefix?: string;
  /** Hashes blobs as they are written (workerd: node:crypto's, as workers may not compile WebAssembly). */
  hasher?: HasherFactory;
  /** Bytes per part of a multipart upload (default 8 MiB; R2 needs at least 5 MiB but for the last). */
  partSize?: number;
  /** Check the digest of every whole-blob read (default true; see `ObjectStoreOptions.verifyReads`). */
  verifyReads?: boolean;
  /** The download leases' time to live and clock (see `ObjectStoreOptions.leases`). */
  leases?: ObjectStoreOptions["leases"];
}

/**
 * A store over an R2 bucket binding (see `ObjectStore`: verified in flight, visible only after the digest
 * matched, large blobs uploaded in parts while they stream; no resume, no read-back while writing).
 *
 * @param binding The worker's R2 bucket binding (e.g. `env.BLOBS`).
 * @param options Prefix, hasher and part size.
 * @returns The store.
 *
 * @example In a worker's entry module
 * ```ts
 * import { r2Store } from "./r2_store.ts";
 * import type { R2BucketBinding } from "./r2_bucket.ts";
 *
 * const env = { BLOBS: {} as R2BucketBinding };
 * const store = r2Store(env.BLOBS, { prefix: "cache" });
 * console.assert(store.capabilities.resume === false);
 * ```
 */
export function r2Store(binding: R2BucketBinding, options: R2StoreOptions = {}): ObjectStore {
  return new ObjectStore({ bucket: new R2Bucket(binding), ...options });
}
