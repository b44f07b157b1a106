/**
 * `tug prune --store s3://BUCKET/PREFIX`: cleans a proxy cache in a bucket (`ObjectLru.prune`): lists the
 * blobs once and rebuilds the eviction index from them, evicts the least recently used blobs past
 * `--cache-max-bytes`, deletes references whose manifest is gone, aborts incomplete multipart uploads and
 * removes leases left by processes that died. Prints what it removed as `docker image prune` does.
 *
 * @module
 */
import process from "node:process";
import { humanSize } from "../progress/mod.ts";
import { parseReference } from "../../../src/reference/parse_reference.ts";
import { ObjectLru } from "../../../src/store/object_lru.ts";
import { openBucketStore } from "./_bucket_cache.ts";
import { checkBucketUrl } from "./_bucket_check.ts";

/** What `tug prune` was asked to do to a bucket. */
export interface PruneBucketFlags {
  url: string;
  maxBytes: number | undefined;
  dryRun: boolean;
  force: boolean;
}

function familiar(name: string): string {
  try {
    return parseReference(name).familiar;
  } catch {
    return name;
  }
}

/** Runs the cleanup of the bucket `flags.url` names; returns the exit code. */
export async function pruneBucket(flags: PruneBucketFlags): Promise<number> {
  const { bucket, prefix } = openBucketStore(flags.url);
  // One bounded listing first: a wrong bucket, key or endpoint is named with what to change.
  await checkBucketUrl(flags.url);
  const lru = new ObjectLru({ bucket, ...(prefix !== undefined ? { prefix } : {}) });
  const report = await lru.prune({
    ...(flags.maxBytes !== undefined ? { maxBytes: flags.maxBytes } : {}),
    dryRun: flags.dryRun,
    ...(flags.force ? { staleMs: 0 } : {}),
  });
  if (report.busy) {
    process.stderr.write(
      "Nothing was deleted: an eviction pass of a 'tug serve' is running on this bucket. Try again shortly.\n",
    );
    return 1;
  }
  const out = (line: string) => void process.stdout.write(line + "\n");
  for (const name of report.untagged) out(`${flags.dryRun ? "Would untag" : "Untagged"}: ${familiar(name)}`);
  const verb = flags.dryRun ? "Would delete" : "Deleted";
  for (const blob of report.deleted) out(`${verb}: ${blob.digest}`);
  for (const o of report.removed) {
    out(`${verb}: ${o.key} (${o.kind === "upload" ? "incomplete upload" : "stale lease"})`);
  }
  if (report.uploadsSkipped !== undefined) {
    process.stderr.write(
      `Incomplete multipart uploads were not checked (${report.uploadsSkipped}); a bucket lifecycle rule ` +
        `(AbortIncompleteMultipartUpload) removes them.\n`,
    );
  }
  out(
    `${flags.dryRun ? "Space that would be reclaimed" : "Total reclaimed space"}: ${
      humanSize(report.reclaimed)
    }`,
  );
  return 0;
}
