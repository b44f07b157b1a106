/**
 * `tug save [--store DIR] [--platform P] [--format docker-archive|oci-archive] NAME [-o FILE]`.
 *
 * @module
 */
import process from "node:process";
import { Writable } from "node:stream";
import { defineCommand, UsageError } from "../_args.ts";
import { hostPlatform } from "../host.ts";
import { openExistingStore, platformFlag, STORE_FLAG } from "./_common.ts";
import { TugError } from "../../../src/errors.ts";
import { save } from "../../fs/save.ts";

const SAVE = defineCommand({
  synopsis: `Usage: tug save [OPTIONS] NAME[:TAG|@DIGEST]

Write an image from the local store as a tar archive (to STDOUT by default).`,
  flags: {
    output: {
      type: "string",
      short: "o",
      value: "FILE",
      help: "Write to FILE instead of STDOUT (written whole, then renamed into place)",
    },
    format: {
      type: "string",
      value: "F",
      help: "docker-archive (default; for docker/podman load) or oci-archive (an OCI image layout)",
    },
    platform: {
      type: "string",
      value: "P",
      help: `Platform to save when NAME is a multi-platform image (default: ${hostPlatform()})`,
    },
    store: STORE_FLAG,
  },
  args: { min: 1, max: 1 },
  column: 16,
});

/**
 * `tug save`: exit 0 when the archive is written, 1 on failure, 2 on usage errors.
 *
 * @param argv The arguments after `save`.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * import { saveCommand } from "./save.ts";
 *
 * await saveCommand(["--store", "/tmp/store", "-o", "/tmp/small.tar", "localhost:5000/tug/small:v1"]);
 * ```
 */
export async function saveCommand(argv: string[]): Promise<number> {
  const args = SAVE.parseOrHelp(argv, (text) => process.stdout.write(text));
  if (!args) return 0;
  const { flags, positionals } = args;
  const platform = platformFlag(flags.platform);
  const format = flags.format ?? "docker-archive";
  if (format !== "docker-archive" && format !== "oci-archive") {
    throw new UsageError(`--format must be docker-archive or oci-archive, got "${format}"`);
  }
  const output = flags.output;
  // docker save's own refusal when neither -o nor a redirect is given.
  if (output === undefined && process.stdout.isTTY) {
    throw new UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
  }
  const store = await openExistingStore(flags.store);
  const controller = new AbortController();
  const onSignal = () => controller.abort(new TugError("ABORTED", "The save was interrupted"));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await save(
      store,
      positionals[0],
      output ?? (Writable.toWeb(process.stdout) as WritableStream<Uint8Array>),
      {
        format,
        platform: platform,
        signal: controller.signal,
      },
    );
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
