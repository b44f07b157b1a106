/**
 * `tug verify [--store DIR] [--repair] [--json]`: checks the store (see `verifyStore`). Exit code 0 when
 * the store is sound, 1 when it is not. Leftovers of interrupted pulls are listed but are not corruption.
 *
 * @module
 */
import process from "node:process";
import { relative } from "node:path";
import { defineCommand } from "../_args.ts";
import { openExistingStore, STORE_FLAG } from "./_common.ts";
import { humanSize } from "../progress/mod.ts";
import { verifyStore } from "../../fs/verify_store.ts";
import { nodeHasher } from "../../crypto/node_hasher.ts";

const VERIFY = defineCommand({
  synopsis: `Usage: tug verify [OPTIONS]

Re-hash every blob in the store, check that every reference and every blob a manifest lists is there,
and list leftovers of interrupted pulls. Exit code 0: the store is sound; 1: it is not.`,
  flags: {
    store: STORE_FLAG,
    repair: {
      type: "boolean",
      help: "Remove corrupt blobs and leftovers of pulls that are no longer running",
    },
    diffids: {
      type: "boolean",
      help: "Also check every image's layers against its config's diff_ids (decompresses each layer once)",
    },
    json: { type: "boolean", help: "Print the report as JSON" },
  },
  args: { min: 0, max: 0 },
});

/**
 * Runs `tug verify` with `argv` (the arguments after `verify`) and returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { verifyCommand } from "./verify.ts";
 *
 * const code = await verifyCommand(["--store", "/tmp/store", "--json"]);
 * ```
 */
export async function verifyCommand(argv: string[]): Promise<number> {
  const args = VERIFY.parseOrHelp(argv, (text) => process.stdout.write(text));
  if (!args) return 0;
  const { flags } = args;
  const store = await openExistingStore(flags.store, { write: Boolean(flags.repair) });
  const report = await verifyStore(store, {
    hasher: nodeHasher,
    repair: Boolean(flags.repair),
    diffIds: Boolean(flags.diffids),
  });
  if (flags.json) {
    process.stdout.write(JSON.stringify({ store: store.dir, ...report }, null, 2) + "\n");
    return report.sound ? 0 : 1;
  }
  const lines: string[] = [];
  lines.push(
    `Checked ${report.blobs} blobs (${
      humanSize(report.bytes)
    }) and ${report.references} references in ${store.dir}`,
  );
  for (const blob of report.corrupt) {
    const removed = report.removedBlobs.includes(blob.digest) ? " (removed)" : "";
    lines.push(`corrupt: ${blob.digest}: ${blob.reason}${removed}`);
  }
  for (const blob of report.missing) {
    lines.push(`missing: ${blob.digest} (listed by ${blob.referencedBy}): ${blob.reason}`);
  }
  if (flags.diffids) {
    lines.push(`Checked the layers of ${report.diffIdImages} images against their diff_ids`);
  }
  for (const m of report.diffIdMismatches) {
    lines.push(`diffid: ${m.layer} (image ${m.manifest}): ${m.reason}`);
  }
  const describe = (file: (typeof report.temp)[number]) =>
    `${relative(store.dir, file.path)} (${humanSize(file.size)}, ${
      file.kind === "partial"
        ? "kept for a resume"
        : file.inUse
        ? `being written by process ${file.pid}`
        : "left by a process that stopped; a pull resumes from it"
    })`;
  for (const file of report.temp) lines.push(`leftover: ${describe(file)}`);
  for (const file of report.removedTemp) lines.push(`removed leftover: ${describe(file)}`);
  if (report.sound) {
    lines.push("The store is sound.");
  } else {
    const problems = report.corrupt.length - report.removedBlobs.length + report.missing.length +
      report.diffIdMismatches.length;
    lines.push(
      `The store is NOT sound: ${problems} problem${problems === 1 ? "" : "s"}.` +
        (flags.repair ? " Pull the affected images again." : " Run 'tug verify --repair', then pull again."),
    );
  }
  process.stdout.write(lines.join("\n") + "\n");
  return report.sound ? 0 : 1;
}
