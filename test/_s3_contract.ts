/**
 * The store contract run against an S3 server, shared by the s3rver and radosgw tests: every case on a fresh
 * key prefix of one bucket, then a check that the bucket holds nothing but committed blobs and refs.
 *
 * @module
 */

import { storeContractTests } from "../src/store/testing/mod.ts";
import { assert } from "./_assert.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";
import { s3Store, type S3StoreOptions } from "../adapters/s3/s3_store.ts";

/**
 * Runs every contract case as a step of `t`, each on `s3Store(options("case-N"))`. Afterwards every key
 * in the bucket is a committed blob or ref: an aborted or failed write left no object behind.
 */
export async function s3StoreContract(
  t: Deno.TestContext,
  options: (prefix: string) => S3StoreOptions,
): Promise<void> {
  let cases = 0;
  for (const { name, fn } of storeContractTests(() => s3Store(options(`case-${++cases}`)))) {
    await t.step(name, fn);
  }
  const bucket = new S3Bucket(options(""));
  for await (const { key } of bucket.list("")) assert(/^case-\d+\/(blobs|refs)\//.test(key), key);
}
