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
