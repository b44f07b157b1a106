/**
 * The start-up check of `tug serve --store s3://…` and `tug prune --store s3://…`: one listing of the
 * bucket, bounded in time (`checkS3Bucket`), so a wrong endpoint, bucket, key or region is reported at once,
 * with what to change, rather than on a client's first pull.
 *
 * @module
 */
import process from "node:process";
import { UsageError } from "../_args.ts";
import { checkS3Bucket } from "../../s3/check_s3_bucket.ts";
import { s3StoreOptionsFromUrl } from "../../s3/s3_store.ts";

/** Checks that the bucket `url` names can be used (exit 1 with one line when not). */
export async function checkBucketUrl(url: string, flag = "--store"): Promise<void> {
  let options;
  try {
    options = s3StoreOptionsFromUrl(url, process.env);
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError(`${flag}: ${err.message}`);
    throw err;
  }
  await checkS3Bucket(options, options.prefix !== undefined ? { prefix: options.prefix } : {});
}
