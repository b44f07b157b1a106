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
import { openOrCreateStore, platformFlag, STORE_FLAG } from "./_common.ts";
import { registryFetch } from "./_registry_fetch.ts";
import { VERSION } from "./version.ts";
import { platformWarning } from "./_platform_warning.ts";
import { TugError } from "../../../src/errors.ts";
import { errorEvent, messageEvent } from "../../../src/pull/events.ts";
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
    "max-download-attempts": {
      type: "string",
      value: "N",
      help: "Attempts per layer download, waiting 5, 10, 15 … s between them (default 5)",
    },
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
  args: { min: 1, max: 1 },
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
  const args = PULL.parseOrHelp(argv, (text) => process.stdout.write(text));
  if (!args) return 0;
  const { flags, positionals } = args;
  const platform = platformFlag(flags.platform);
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
  let maxAttempts = 5;
  if (flags["max-download-attempts"] !== undefined) {
    maxAttempts = Number(flags["max-download-attempts"]);
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new UsageError(
        `--max-download-attempts must be a positive integer, got "${flags["max-download-attempts"]}"`,
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
  const store = await openOrCreateStore(flags.store);
  const mode = flags.quiet ? "quiet" : flags.json ? "json" : "auto";
  const renderer = createRenderer({
    mode,
    isTerminal: Boolean(process.stdout.isTTY),
    // Read at every frame, so the bars follow a resized window.
    columns: () => process.stdout.columns,
    write: (text: string) => void process.stdout.write(text),
  });
  // docker/cli image pull: a name without tag or digest is told which tag it gets (not with -q; tug's
  // --json is the Engine's stream, which does not carry this line either).
  if (!allTags && ref.tag === undefined && ref.digest === undefined && mode !== "quiet" && mode !== "json") {
    renderer.onProgress(messageEvent("Using default tag: latest"));
  }
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
      platform: platform,
      allPlatforms: Boolean(flags["all-platforms"]),
      verifyDiffIds: Boolean(flags["verify-diffids"]),
      downloads: new DownloadManager({
        maxConcurrentDownloads: maxDownloads,
        maxDownloadAttempts: maxAttempts,
        hasher: nodeHasher,
      }),
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
    if (!allTags && !flags["all-platforms"] && "images" in result && result.images.length === 1) {
      const warning = await platformWarning(
        store,
        result.images[0],
        positionals[0],
        platform,
        flags.platform !== undefined,
      );
      if (warning !== undefined) process.stderr.write(`${warning}\n`);
    }
    return 0;
  } catch (err) {
    attempts = (err as { attempts?: PullAttempt[] }).attempts ?? [];
    // Docker Engine's stream ends a failed pull with {"errorDetail":{"message":…},"error":…}; the other
    // renderers leave the error to the command line's stderr line.
    renderer.onProgress(errorEvent(err));
    await renderer.close();
    throw withLoginHint(err, ref.domain ?? "docker.io");
  } finally {
    fetch.close();
    await lease.release();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (flags.verbose) printAttempts(attempts);
  }
}

/**
 * A refusal for want of credentials gets docker's advice (its "may require 'docker login'"), naming the
 * registry to log in to: `tug login` alone for Docker Hub, `tug login HOST` for any other.
 */
function withLoginHint(err: unknown, domain: string): unknown {
  if (!(err instanceof TugError) || !["UNAUTHORIZED", "DENIED", "AUTH_FAILED"].includes(err.code)) return err;
  const login = domain === "docker.io" ? "tug login" : `tug login ${domain}`;
  return new TugError(err.code, `${err.message}\nRun '${login}' if the registry needs credentials.`, {
    cause: err,
  });
}

/** `--verbose`: one stderr line per endpoint the pull tried, and why it moved on (or stopped). */
function printAttempts(attempts: PullAttempt[]): void {
  for (const a of attempts) {
    const kind = `${a.mirror ? "mirror " : ""}v${a.version}`;
    process.stderr.write(`attempt: ${a.endpoint} (${kind}): ${a.outcome}: ${a.reason}\n`);
  }
}
