/**
 * `tug rmi [--store DIR] [--force] NAME…` (also `tug image rm`): removes references from the
 * store, then the blobs only those images used, the way `docker rmi` does.
 *
 * @module
 */
import process from "node:process";
import { defineCommand } from "../_args.ts";
import { openExistingStore, STORE_FLAG } from "./_common.ts";
import { humanSize } from "../progress/mod.ts";
import type { Descriptor } from "../../../src/manifest/types.ts";
import { parseReference } from "../../../src/reference/parse_reference.ts";
import { collectGarbage, DEFAULT_GRACE_MS, reachableBlobs } from "../../fs/collect_garbage.ts";
import { imageDigests } from "../../fs/image_names.ts";

const RMI = defineCommand({
  synopsis: `Usage: tug rmi [OPTIONS] NAME[:TAG|@DIGEST] [NAME…]

Remove images from the store: untag each reference, and delete the blobs (manifests, configs, layers) no
remaining reference uses. Removing an image's last tag also removes its digest references (NAME@sha256:…).
Blobs written in the last ${
    DEFAULT_GRACE_MS / 60_000
  } minutes are kept (a pull in another process may be about to use
them; 'tug prune' removes them later), and no blob is deleted while a pull runs on the same store.

Aliases: tug image rm, tug image remove`,
  flags: {
    force: {
      type: "boolean",
      short: "f",
      help: `Also delete blobs written in the last ${DEFAULT_GRACE_MS / 60_000} minutes`,
    },
    store: STORE_FLAG,
  },
  args: { min: 1 },
});

/** The store key `docker.io/library/alpine:latest` for `alpine`: a name without tag or digest means `:latest`. */
function keyOf(name: string): string {
  const ref = parseReference(name);
  if (ref.digest !== undefined) return `${ref.name}@${ref.digest}`;
  return `${ref.name}:${ref.tag ?? "latest"}`;
}

function familiar(key: string): string {
  return parseReference(key).familiar;
}

/**
 * Runs `tug rmi` with `argv` (the arguments after `rmi`) and returns the exit code: 0 when every image was
 * removed, 1 when one was not in the store (`No such image: NAME`, the others are still removed).
 *
 * @example
 * ```ts
 * import { rmiCommand } from "./rmi.ts";
 *
 * console.assert((await rmiCommand(["--help"])) === 0);
 * ```
 */
export async function rmiCommand(argv: string[]): Promise<number> {
  const args = RMI.parseOrHelp(argv, (text) => process.stdout.write(text));
  if (!args) return 0;
  const { flags, positionals } = args;
  const store = await openExistingStore(flags.store, { write: true });
  let failed = 0;
  const removed: Descriptor[] = [];
  for (const name of positionals) {
    let key: string;
    try {
      key = keyOf(name);
    } catch (err) {
      process.stderr.write(`Error: ${(err as Error).message}\n`);
      failed++;
      continue;
    }
    const descriptor = await store.references.get(key);
    if (!descriptor) {
      process.stderr.write(`Error: No such image: ${name}\n`);
      failed++;
      continue;
    }
    const untag = [key];
    const ref = parseReference(key);
    if (ref.tag !== undefined) {
      // docker's image_delete.go: when a repository's last tag of an image goes, its digest references in
      // that repository go too; they would otherwise keep an untagged image nobody asked for.
      // The same image: the same manifest, or an index that lists it (NAME@<index digest> of a pull of one
      // platform, whose tag names the platform manifest).
      const records = await store.references.list();
      const sameRepo: typeof records = [];
      for (const r of records) {
        if (r.name === key || parseReference(r.name).name !== ref.name) continue;
        const stands = await imageDigests(store, r.descriptor);
        if (stands.has(descriptor.digest) || r.descriptor.digest === descriptor.digest) sameRepo.push(r);
      }
      if (!sameRepo.some((r) => parseReference(r.name).tag !== undefined)) {
        untag.push(...sameRepo.map((r) => r.name));
        // Their blobs (an index a digest name kept) go with the image's.
        removed.push(...sameRepo.map((r) => r.descriptor));
      }
    }
    for (const k of untag) {
      await store.references.delete(k);
      process.stdout.write(`Untagged: ${familiar(k)}\n`);
    }
    removed.push(descriptor);
  }
  if (removed.length > 0) {
    // Only the blobs of the images just untagged; other unreachable blobs are 'tug prune's business.
    const report = await collectGarbage(store, {
      candidates: await reachableBlobs(store, removed),
      graceMs: flags.force ? 0 : DEFAULT_GRACE_MS,
      onDelete: (digest) => void process.stdout.write(`Deleted: ${digest}\n`),
    });
    if (report.blockedBy.length > 0) {
      const pids = [...new Set(report.blockedBy.map((l) => l.pid))].join(", ");
      process.stderr.write(
        `No blob was deleted: a pull is running on this store (process ${pids}). ` +
          `Run 'tug prune' when it is done.\n`,
      );
    } else if (report.recent.length > 0) {
      const bytes = report.recent.reduce((n, b) => n + b.size, 0);
      process.stderr.write(
        `Kept ${report.recent.length} blob${report.recent.length === 1 ? "" : "s"} (${humanSize(bytes)}) ` +
          `written in the last ${DEFAULT_GRACE_MS / 60_000} minutes: a running pull may use them. ` +
          `'tug prune' removes them later; 'tug rmi --force' would not wait.\n`,
      );
    }
  }
  return failed > 0 ? 1 : 0;
}
