/**
 * `tug unpack [--store DIR] [--platform P] NAME DIR`, and the `--unpack DIR` step of `tug pull`.
 *
 * @module
 */
import process from "node:process";
import { defineCommand, UsageError } from "../_args.ts";
import { hostPlatform } from "../host.ts";
import { openExistingStore, platformFlag, STORE_FLAG } from "./_common.ts";
import { createRenderer } from "../progress/mod.ts";
import { TugError } from "../../../src/errors.ts";
import type { Descriptor } from "../../../src/manifest/types.ts";
import type { ProgressEvent, ProgressHandler } from "../../../src/pull/events.ts";
import type { Store } from "../../../src/store/types.ts";
import { nodeHasher } from "../../crypto/node_hasher.ts";
import { checkUnpackTarget, unpack } from "../../fs/unpack.ts";

const UNPACK = defineCommand({
  synopsis: `Usage: tug unpack [OPTIONS] NAME[:TAG|@DIGEST] DIR

Unpack an image from the local store into DIR as a root filesystem (DIR must be new or empty).`,
  flags: {
    platform: {
      type: "string",
      value: "P",
      help: `Platform to unpack when NAME is a multi-platform image (default: ${hostPlatform()})`,
    },
    store: STORE_FLAG,
    "max-zstd-window": {
      type: "string",
      value: "BYTES",
      help: "Largest window a zstd layer may declare (default 128MiB, as zstd's --memory)",
    },
    "target-mode": {
      type: "string",
      value: "MODE",
      help: "Octal permission bits of DIR (default 0700: only its owner may enter it, so the\n" +
        "image's device nodes and setuid files are out of other users' reach)",
    },
    json: { type: "boolean", help: "Print progress as Docker Engine JSON messages" },
    quiet: { type: "boolean", short: "q", help: "Print nothing but errors" },
  },
  args: { min: 2, max: 2 },
  column: 15,
});

/**
 * Reads `--target-mode`: octal permission bits (`0755`, `755`, `0o750`), or undefined when not given.
 *
 * @param value The flag's value.
 * @returns The mode, or undefined for unpack()'s default (0700).
 * @throws {UsageError} When the value is not octal permission bits.
 *
 * @example
 * ```ts
 * import { parseTargetMode } from "./unpack.ts";
 *
 * console.assert(parseTargetMode("0755") === 0o755);
 * console.assert(parseTargetMode(undefined) === undefined);
 * ```
 */
export function parseTargetMode(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(?:0o?)?([0-7]{1,4})$/i.exec(value);
  if (!match || Number.parseInt(match[1], 8) > 0o7777) {
    throw new UsageError(`--target-mode must be octal permission bits such as 0700 or 0755, got "${value}"`);
  }
  return Number.parseInt(match[1], 8);
}

/**
 * `tug unpack`: exit 0 when the image is unpacked, 1 on failure (DIR left as it was), 2 on usage errors.
 *
 * @param argv The arguments after `unpack`.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * import { unpackCommand } from "./unpack.ts";
 *
 * await unpackCommand(["--store", "/tmp/store", "localhost:5000/tug/small:v1", "/tmp/rootfs"]);
 * ```
 */
export async function unpackCommand(argv: string[]): Promise<number> {
  const args = UNPACK.parseOrHelp(argv, (text) => process.stdout.write(text));
  if (!args) return 0;
  const { flags, positionals } = args;
  const platform = platformFlag(flags.platform);
  const [name, dir] = positionals;
  const maxZstdWindow = parseMaxZstdWindow(flags["max-zstd-window"]);
  const targetMode = parseTargetMode(flags["target-mode"]);
  const store = await openExistingStore(flags.store);
  const renderer = createRenderer({
    mode: flags.quiet ? "quiet" : flags.json ? "json" : "auto",
    isTerminal: Boolean(process.stdout.isTTY),
    columns: () => process.stdout.columns,
    write: (text: string) => void process.stdout.write(text),
    // Without a terminal too, each layer says when its extraction starts: it is what this command does.
    transfers: true,
  });
  // unpack() reports a layer done as a pull does ("Pull complete"); nothing is pulled here.
  const onProgress = (event: ProgressEvent) =>
    renderer.onProgress(
      event.type === "layer" && event.status === "Pull complete"
        ? { ...event, status: "Extract complete" as const }
        : event,
    );
  const controller = new AbortController();
  const onSignal = () => controller.abort(new TugError("ABORTED", "The unpack was interrupted"));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const result = await unpack(store, name, dir, {
      platform: platform,
      hasher: nodeHasher,
      onProgress,
      signal: controller.signal,
      maxZstdWindow,
      targetMode,
    });
    await renderer.close();
    if (!flags.quiet && !flags.json) process.stdout.write(`Unpacked ${name} into ${result.dir}\n`);
    return 0;
  } catch (err) {
    await renderer.close();
    throw err;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/**
 * `--max-zstd-window`: bytes, with an optional KiB/MiB/GiB (or K/M/G) suffix, e.g. `1GiB`, `268435456`.
 *
 * @param value The flag's value, if given.
 * @returns The limit in bytes, or undefined for the default.
 * @throws {UsageError} When it is not a size.
 */
export function parseMaxZstdWindow(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)\s*(?:([KMG])(?:i?B)?|B)?$/i.exec(value.trim());
  if (!m) {
    throw new UsageError(`--max-zstd-window must be a size such as 256MiB or 268435456, got "${value}"`);
  }
  const scale = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m[2] ?? "").toUpperCase()]!;
  return Number(m[1]) * scale;
}

/** What `tug pull --unpack DIR` needs around a pull. */
export interface PullUnpacker {
  /** Progress handler for the pull: holds back its final "Digest:"/"Status:" lines until the unpack. */
  readonly onProgress: ProgressHandler;
  /** Unpacks the pulled image, then lets the held lines through (Docker prints them after extracting). */
  finish(store: Store, image: Descriptor, signal?: AbortSignal): Promise<void>;
}

/**
 * Prepares `tug pull --unpack DIR`: checks DIR before anything is downloaded, and orders the progress
 * lines as `docker pull` prints them (layers' "Extracting"/"Pull complete" before "Digest:" and "Status:").
 *
 * @param dir The target folder (new or empty).
 * @param onProgress The renderer's handler.
 * @param targetMode The target folder's permission bits (`--target-mode`; default unpack()'s 0700).
 * @returns The wrapped handler and the step to run after the pull.
 *
 * @example
 * ```ts ignore
 * const unpacker = await pullUnpacker("/tmp/rootfs", renderer.onProgress);
 * const result = await pull(ref, { store, onProgress: unpacker.onProgress });
 * await unpacker.finish(store, result.images[0].descriptor);
 * ```
 */
export async function pullUnpacker(
  dir: string,
  onProgress: ProgressHandler,
  options: { maxZstdWindow?: number; targetMode?: number } = {},
): Promise<PullUnpacker> {
  await checkUnpackTarget(dir);
  const held: ProgressEvent[] = [];
  return {
    onProgress(event) {
      if (event.type === "digest" || event.type === "status") held.push(event);
      else onProgress(event);
    },
    async finish(store, image, signal) {
      await unpack(store, image, dir, { hasher: nodeHasher, onProgress, signal, ...options });
      for (const event of held) onProgress(event);
    },
  };
}
