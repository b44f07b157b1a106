/**
 * `tug prune [--store DIR] [--all] [--dry-run] [--force]` (also `tug image prune`): deletes blobs no
 * reference reaches and leftovers of interrupted pulls, as `docker image prune` does for dangling layers.
 *
 * @module
 */
import process from "node:process";
import { defineCommand } from "../_args.ts";
import { openExistingStore, STORE_FLAG } from "./_common.ts";
import { humanSize } from "../progress/mod.ts";
import { parseReference } from "../../../src/reference/parse_reference.ts";
import { collectGarbage, DEFAULT_GRACE_MS } from "../../fs/collect_garbage.ts";
import { imageDigests } from "../../fs/image_names.ts";
import { UsageError } from "../_args.ts";
import { pruneBucket } from "./_prune_bucket.ts";
import { isBucketUrl } from "./_bucket_url.ts";
import { sizeFlag } from "../_size.ts";

const MINUTES = DEFAULT_GRACE_MS / 60_000;

const PRUNE = defineCommand({
  synopsis: `Usage: tug prune [OPTIONS]

Remove what no image in the store uses: blobs no reference reaches (left by 'tug rmi', by a tag that moved
to a new image, or by an interrupted pull) and leftovers of pulls that are no longer running (including
partial downloads kept for a resume). Files written in the last ${MINUTES} minutes are kept (a pull in another
process may be about to use them), and nothing is deleted while a pull runs on the same store.

With --store s3://BUCKET/PREFIX (a 'tug serve' cache in a bucket; credentials from AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN): list the blobs once and rebuild the eviction index from them,
evict the least recently used blobs past --cache-max-bytes, remove references whose manifest is gone, abort
multipart uploads started over a day ago and remove leases not written for a day (-f: any age).

Aliases: tug image prune`,
  flags: {
    all: {
      type: "boolean",
      short: "a",
      help: "Also remove untagged images: digest references (NAME@sha256:…) of a manifest no tag\n" +
        "points at ('tug images --digests' lists them)",
    },
    "dry-run": { type: "boolean", help: "Print what would be removed, change nothing" },
    force: { type: "boolean", short: "f", help: `Also remove files written in the last ${MINUTES} minutes` },
    store: { ...STORE_FLAG, value: "DIR|URL", help: STORE_FLAG.help + ", or s3://BUCKET/PREFIX[?…]" },
    "cache-max-bytes": {
      type: "string",
      value: "SIZE",
      help: "With s3://: evict the least recently used blobs until SIZE is left (10GB, 500m)",
    },
  },
  args: { min: 0, max: 0 },
});

/**
 * Runs `tug prune` with `argv` (the arguments after `prune`) and returns the exit code.
 *
 * @example
 * ```ts
 * import { pruneCommand } from "./prune.ts";
 *
 * console.assert((await pruneCommand(["--help"])) === 0);
 * ```
 */
export async function pruneCommand(argv: string[]): Promise<number> {
  const args = PRUNE.parseOrHelp(argv, (text) => process.stdout.write(text));
  if (!args) return 0;
  const { flags } = args;
  const dryRun = Boolean(flags["dry-run"]);
  const capFlag = flags["cache-max-bytes"];
  if (isBucketUrl(flags.store)) {
    if (flags.all) throw new UsageError("--all has no meaning for a bucket: it keeps no untagged images");
    const maxBytes = sizeFlag("cache-max-bytes", capFlag);
    return await pruneBucket({ url: flags.store, maxBytes, dryRun, force: Boolean(flags.force) });
  }
  if (capFlag !== undefined) throw new UsageError("--cache-max-bytes applies to --store s3://… only");
  const store = await openExistingStore(flags.store, { write: true });
  const verb = dryRun ? "Would delete" : "Deleted";

  const untagged: string[] = [];
  if (flags.all) {
    // Untagged images: what docker lists as `<none>` once a tag moved on, here digest references of a
    // manifest no tag reference (of any repository) points at.
    const records = await store.references.list();
    const tagged = new Set(
      records.filter((r) => parseReference(r.name).tag !== undefined).map((r) => r.descriptor.digest),
    );
    for (const r of records) {
      if (parseReference(r.name).tag !== undefined) continue;
      // A digest name of an index is tagged when a tag names one of its platform images (a pull of one
      // platform: the tag names the platform manifest, NAME@<index digest> the index).
      const stands = await imageDigests(store, r.descriptor);
      if ([...stands].some((d) => tagged.has(d))) continue;
      if (!dryRun) await store.references.delete(r.name);
      untagged.push(r.name);
      process.stdout.write(`${dryRun ? "Would untag" : "Untagged"}: ${parseReference(r.name).familiar}\n`);
    }
  }

  const report = await collectGarbage(store, {
    graceMs: flags.force ? 0 : DEFAULT_GRACE_MS,
    dryRun,
    ignoreReferences: untagged,
    removeTemp: true,
    onDelete: (digest) => void process.stdout.write(`${verb}: ${digest}\n`),
  });
  for (const file of report.removedTemp) {
    process.stdout.write(
      `${verb}: ${file.path} (${file.kind === "partial" ? "partial download" : "leftover"})\n`,
    );
  }
  if (report.blockedBy.length > 0) {
    const pids = [...new Set(report.blockedBy.map((l) => l.pid))].join(", ");
    process.stderr.write(
      `Nothing was deleted: a pull is running on this store (process ${pids}). Run 'tug prune' when it is done.\n`,
    );
  } else if (report.recent.length > 0) {
    const bytes = report.recent.reduce((n, b) => n + b.size, 0);
    process.stderr.write(
      `Kept ${report.recent.length} unused blob${report.recent.length === 1 ? "" : "s"} (${
        humanSize(bytes)
      }) ` +
        `written in the last ${MINUTES} minutes; 'tug prune --force' removes them too.\n`,
    );
  }
  process.stdout.write(
    `${dryRun ? "Space that would be reclaimed" : "Total reclaimed space"}: ${humanSize(report.reclaimed)}\n`,
  );
  return 0;
}
