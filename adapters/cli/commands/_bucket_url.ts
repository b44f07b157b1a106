/**
 * Whether `--store` names a bucket (`s3://BUCKET/PREFIX`) or a folder. A value that looks like a URL but is
 * not `s3://` (`s3:/cache`, `gs://cache`, `r2://cache`) is refused: taken as a folder it would be created
 * silently in the working directory (`./s3:/cache`) and the cache would not be where it was meant to be.
 *
 * @module
 */
import { UsageError } from "../_args.ts";

/**
 * True when `value` is an `s3://` URL (the scheme in any case, as URLs allow); false for a folder.
 *
 * @throws {UsageError} For a value that looks like a mistyped or unsupported store URL.
 */
export function isBucketUrl(value: string | undefined, flag = "--store"): value is string {
  if (value === undefined) return false;
  if (/^s3:\/\//i.test(value)) return true;
  if (/^s3:/i.test(value)) {
    throw new UsageError(`${flag} "${value}" is not a bucket URL: write s3://BUCKET/PREFIX (two slashes)`);
  }
  // A scheme of two letters or more and `//` (one letter is a Windows drive: C:/store).
  const scheme = /^([a-z][a-z0-9+.-]+):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) return false;
  const r2 = scheme === "r2"
    ? "; for Cloudflare R2 use its S3 endpoint: s3://BUCKET/PREFIX?endpoint=https://ACCOUNT_ID.r2.cloudflarestorage.com&region=auto"
    : "";
  throw new UsageError(
    `${flag} takes a folder or s3://BUCKET/PREFIX, got "${value.replace(/\/\/[^/?#]*@/, "//")}" ` +
      `(${scheme}:// is not supported)${r2}`,
  );
}
