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
import { S3Bucket } from "../../s3/s3_bucket.ts";

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

/**
 * A warning for `tug serve --redirect` when the bucket is on the host name clients reach the proxy by
 * (`proxyUrl`: --public-url, else the listen address): Go's client (docker, containerd, skopeo, podman)
 * sends the `Authorization` header along to a redirect on the same host name, whatever the port, and S3
 * refuses a request with both that header and a query signature, so every redirected pull would fail.
 */
export function redirectHostWarning(url: string, proxyUrl: string): string | undefined {
  const options = s3StoreOptionsFromUrl(url, process.env);
  const bucketHost = new URL(new S3Bucket(options).url("")).hostname;
  const proxyHost = new URL(proxyUrl).hostname;
  if (bucketHost !== proxyHost) return undefined;
  return `tug serve: --redirect sends clients to the bucket on ${bucketHost}, the proxy's own host name: ` +
    `they would send it the proxy's Authorization header, which S3 refuses; reach the bucket by another ` +
    `name (e.g. localhost in endpoint=) or the proxy by another (--public-url)\n`;
}
