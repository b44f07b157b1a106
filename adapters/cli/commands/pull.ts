/**
 * `tug pull [OPTIONS] NAME[:TAG|@DIGEST]`: downloads an image from a registry into the local store, with
 * the registry settings of the config file (see `_config_file.ts`) and of the flags.
 *
 * @module
 */
import process from "node:process";
import { defineCommand, UsageError } from "../_args.ts";
import { readConfigFile } from "../_config_file.ts";
import { hostPlatform } from "../host.ts";
import { createRenderer } from "../progress/mod.ts";
import { openStore, STORE_FLAG } from "./_common.ts";
import { registryFetch } from "./_registry_fetch.ts";
import { VERSION } from "./version.ts";
import { TugError } from "../../../src/errors.ts";
import { pull, type PullAttempt, type PullOptions } from "../../../src/pull/pull.ts";
import { pullAllTags } from "../../../src/pull/pull_all_tags.ts";
import { DownloadManager } from "../../../src/pull/download_manager.ts";
import { parseReference } from "../../../src/reference/parse_reference.ts";
import { dockerCredentials } from "../../fs/docker_config.ts";
import { acquireStoreLease } from "../../fs/store_lease.ts";
import { nodeHasher } from "../../crypto/node_hasher.ts";

const PULL = defineCommand({
  synopsis: `Usage: tug pull [OPTIONS] NAME[:TAG|@DIGEST]

Download an image from a registry into the local store.`,
  flags: {
    platform: {
      type: "string",
      value: "P",
      help: `Pick this platform from a multi-platform image (default: ${hostPlatform()})`,
    },
    "all-platforms": {
      type: "boolean",
      help: "Pull every platform of a multi-platform image and keep the index",
    },
    store: STORE_FLAG,
    "max-concurrent-downloads": { type: "string", value: "N", help: "Downloads at once (default 3)" },
    "registry-mirror": { type: "list", value: "URL", help: "Docker Hub mirror to try first (repeatable)" },
    "insecure-registry": {
      type: "list",
      value: "HOST",
      help: "Registry (host[:port] or CIDR) that may use plain http (repeatable)",
    },
    "enable-legacy-registry": { type: "boolean", help: "Also try legacy v1 registries" },
    "verify-diffids": {
      type: "boolean",
      help: "Check each layer against the config's diff_ids before recording the image (as Docker does)",
    },
    "all-tags": {
      type: "boolean",
      short: "a",
      help: "Pull every tag of the repository (NAME without a tag or digest)",
    },
    unpack: {
      type: "string",
      value: "DIR",
      help: "Also unpack the image into DIR (new or empty) as a root filesystem",
    },
    "max-zstd-window": {
      type: "string",
      value: "BYTES",
      help: "With --unpack: largest zstd window a layer may declare (default 128MiB)",
    },
    "target-mode": {
      type: "string",
      value: "MODE",
      help: "Octal permission bits of the --unpack DIR (default 0700: owner only)",
    },
    json: { type: "boolean", help: "Print progress as Docker Engine JSON messages" },
    quiet: { type: "boolean", short: "q", help: "Print only the image reference" },
    verbose: { type: "boolean", short: "v", help: "Print every endpoint attempt" },
  },
  column: 30,
});

/**
 * Runs `tug pull` with `argv` (the arguments after `pull`) and returns the exit code: 0 when the image is
 * in the store (and unpacked, with --unpack), 1 on failure, 2 on usage errors; an interrupted pull throws
 * the `ABORTED` error the command line turns into exit code 130.
 *
 * @example
 * ```ts
 * import { pullCommand } from "./pull.ts";
 *
 * console.assert((await pullCommand(["--help"])) === 0);
 * ```
 */
export async function pullCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = PULL.parse(argv);
  if (flags.help) {
    process.stdout.write(PULL.usage + "\n");
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`"tug pull" requires exactly 1 argument (an image reference)\n\n${PULL.usage}`);
  }
  const fileConfig = await readConfigFile();
  let maxDownloads = fileConfig.maxConcurrentDownloads ?? 3;
  if (flags["max-concurrent-downloads"] !== undefined) {
    maxDownloads = Number(flags["max-concurrent-downloads"]);
    if (!Number.isInteger(maxDownloads) || maxDownloads < 1) {
      throw new UsageError(
        `--max-concurrent-downloads must be a positive integer, got "${flags["max-concurrent-downloads"]}"`,
      );
    }
  }
  const ref = parseReference(positionals[0]);
  const allTags = Boolean(flags["all-tags"]);
  // docker/cli image pull: --all-tags takes a bare repository name.
  if (allTags && (ref.tag !== undefined || ref.digest !== undefined)) {
    throw new UsageError("tag can't be used with --all-tags/-a");
  }
  if (flags.unpack !== undefined && (allTags || flags["all-platforms"])) {
    throw new UsageError("--unpack takes one image: it cannot be used with --all-tags or --all-platforms");
  }
  if (flags["target-mode"] !== undefined && flags.unpack === undefined) {
    throw new UsageError("--target-mode sets the mode of the --unpack folder: it needs --unpack DIR");
  }
  const store = await openStore(flags.store);
  const mode = flags.quiet ? "quiet" : flags.json ? "json" : "auto";
  const renderer = createRenderer({
    mode,
    isTerminal: Boolean(process.stdout.isTTY),
    // Read at every frame, so the bars follow a resized window.
    columns: () => process.stdout.columns,
    write: (text: string) => void process.stdout.write(text),
  });
  const controller = new AbortController();
  const onSignal = () => controller.abort(new TugError("ABORTED", "The pull was interrupted"));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let attempts: PullAttempt[] = [];
  const unpackDir = flags.unpack;
  const unpacker = unpackDir === undefined
    ? undefined
    // Loaded only when asked for: the layer readers (fflate, fzstd) cost a pull ~10 MB of RSS otherwise.
    : await (async () => {
      const { parseMaxZstdWindow, parseTargetMode, pullUnpacker } = await import("./unpack.ts");
      const maxZstdWindow = parseMaxZstdWindow(flags["max-zstd-window"]);
      const targetMode = parseTargetMode(flags["target-mode"]);
      return await pullUnpacker(unpackDir, renderer.onProgress, { maxZstdWindow, targetMode });
    })();
  const insecureRegistries = [
    ...(fileConfig.insecureRegistries ?? []),
    ...(flags["insecure-registry"] ?? []),
  ];
  const fetch = registryFetch(insecureRegistries);
  // Held until the pull is over: `tug rmi`/`tug prune` in another process delete no blob meanwhile.
  const lease = await acquireStoreLease(store.dir);
  try {
    const options: PullOptions = {
      fetch,
      store,
      hasher: nodeHasher,
      credentials: dockerCredentials(),
      platform: flags.platform ?? hostPlatform(),
      allPlatforms: Boolean(flags["all-platforms"]),
      verifyDiffIds: Boolean(flags["verify-diffids"]),
      downloads: new DownloadManager({ maxConcurrentDownloads: maxDownloads, hasher: nodeHasher }),
      mirrors: [...(fileConfig.mirrors ?? []), ...(flags["registry-mirror"] ?? [])],
      insecureRegistries,
      legacyRegistry: Boolean(flags["enable-legacy-registry"] ?? fileConfig.legacyRegistry),
      userAgent: `tug/${VERSION}`,
      onProgress: unpacker?.onProgress ?? renderer.onProgress,
      signal: controller.signal,
    };
    const result = allTags ? await pullAllTags(ref, options) : await pull(ref, options);
    attempts = result.attempts;
    if (unpacker && "images" in result) {
      await unpacker.finish(store, result.images[0].descriptor, controller.signal);
    }
    await renderer.close(result.reference);
    if (!flags.quiet && !flags.json) process.stdout.write(`${result.reference}\n`);
    return 0;
  } catch (err) {
    attempts = (err as { attempts?: PullAttempt[] }).attempts ?? [];
    await renderer.close();
    throw err;
  } finally {
    fetch.close();
    await lease.release();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (flags.verbose) printAttempts(attempts);
  }
}

/** `--verbose`: one stderr line per endpoint the pull tried, and why it moved on (or stopped). */
function printAttempts(attempts: PullAttempt[]): void {
  for (const a of attempts) {
    const kind = `${a.mirror ? "mirror " : ""}v${a.version}`;
    process.stderr.write(`attempt: ${a.endpoint} (${kind}): ${a.outcome}: ${a.reason}\n`);
  }
}
