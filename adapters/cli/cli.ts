/**
 * The `tug` command line (entry point: main.ts). Runs on Deno (`deno task tug …`) and on Node (the bundle from
 * `deno task build:node`); everything runtime-specific goes through node:* modules.
 *
 * @module
 */
import process from "node:process";
import { readFile } from "node:fs/promises";
import { parseArgs, UsageError } from "./args.ts";
import { configFilePath, defaultStoreDir, hostPlatform } from "./host.ts";
import { createRenderer } from "./progress/mod.ts";
import { TugError } from "../../src/errors.ts";
import { pull, type PullAttempt, type PullOptions } from "../../src/pull/pull.ts";
import { pullAllTags } from "../../src/pull/pull_all_tags.ts";
import { DownloadManager } from "../../src/pull/download_manager.ts";
import { parseReference } from "../../src/reference/parse_reference.ts";
import {
  isInsecureRegistry,
  normalizeMirror,
  type RegistryConfig,
} from "../../src/registry/lookup_endpoints.ts";
import { OciLayoutStore } from "../fs/oci_layout_store.ts";
import { dockerCredentials } from "../fs/docker_config.ts";
import { acquireStoreLease } from "../fs/store_lease.ts";
import { nodeHasher } from "../crypto/node_hasher.ts";
import { imagesCommand, inspectCommand } from "./store_commands.ts";
import { verifyCommand } from "./verify_command.ts";

/** tug's version, sent as the User-Agent too. */
export const VERSION = "0.1.0";

const USAGE = `Usage: tug COMMAND [OPTIONS]

Pull container images anywhere JavaScript runs.

Commands:
  pull NAME[:TAG|@DIGEST]   Download an image into the local store (OCI image layout)
  images                    List the images in the store
  inspect NAME              Show an image's manifest and config (from the store, or --remote)
  verify                    Re-hash the store and check every reference resolves (--repair, --json)
  unpack NAME DIR           Unpack an image from the store into DIR as a root filesystem
  save NAME -o FILE         Write an image as a docker-archive (or --format oci-archive) tar
  rmi NAME…                 Remove images from the store (untag, delete blobs no other image uses)
  prune                     Delete blobs no image uses and leftovers of interrupted pulls
  login [SERVER]            Check and store registry credentials (as docker login does)
  logout [SERVER]           Remove stored registry credentials
  serve                     Run a pull-through registry cache (registry mirror)
  version                   Show tug's version

Common options:
  --store DIR               Store folder (default: $TUG_STORE or ~/.local/share/tug/store)

Run 'tug COMMAND --help' for a command's options.`;

const PULL_USAGE = `Usage: tug pull [OPTIONS] NAME[:TAG|@DIGEST]

Download an image from a registry into the local store.

Options:
      --platform P                  Pick this platform from a multi-platform image (default: ${hostPlatform()})
      --all-platforms               Pull every platform of a multi-platform image and keep the index
      --store DIR                   Store folder (default: $TUG_STORE or ~/.local/share/tug/store)
      --max-concurrent-downloads N  Downloads at once (default 3)
      --registry-mirror URL         Docker Hub mirror to try first (repeatable)
      --insecure-registry HOST      Registry (host[:port] or CIDR) that may use plain http (repeatable)
      --enable-legacy-registry      Also try legacy v1 registries
  -a, --all-tags                    Pull every tag of the repository (NAME without a tag or digest)
      --unpack DIR                  Also unpack the image into DIR (new or empty) as a root filesystem
      --max-zstd-window BYTES       With --unpack: largest zstd window a layer may declare (default 128MiB)
      --target-mode MODE            Octal permission bits of the --unpack DIR (default 0700: owner only)
      --json                        Print progress as Docker Engine JSON messages
  -q, --quiet                       Print only the image reference
  -v, --verbose                     Print every endpoint attempt`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      // As `docker` with no arguments: the help, exit code 0.
      process.stdout.write(USAGE + "\n");
      return 0;
    case "version":
    case "--version":
      process.stdout.write(`tug ${VERSION}\n`);
      return 0;
    case "pull":
      return await pullCommand(rest);
    case "images":
      return await imagesCommand(rest);
    case "inspect":
      return await inspectCommand(rest);
    case "serve":
      return await (await import("./serve_command.ts")).serveCommand(rest);
    case "verify":
      return await verifyCommand(rest);
    case "unpack":
      return await (await import("./unpack_command.ts")).unpackCommand(rest);
    case "save":
      return await (await import("./save_command.ts")).saveCommand(rest);
    case "rmi":
      return await (await import("./rmi_command.ts")).rmiCommand(rest);
    case "prune":
      return await (await import("./prune_command.ts")).pruneCommand(rest);
    case "image":
      return await (await import("./image_command.ts")).imageCommand(rest);
    case "login":
      return await (await import("./login_command.ts")).loginCommand(rest);
    case "logout":
      return await (await import("./logout_command.ts")).logoutCommand(rest);
    default:
      throw new UsageError(`unknown command "${command}" (see 'tug --help')`);
  }
}

/** The `registry-mirrors`/`insecure-registries` keys of the config file (the same names as Docker's daemon.json). */
async function readRegistryConfig(): Promise<RegistryConfig & { maxConcurrentDownloads?: number }> {
  const file = configFilePath();
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return {};
    throw err;
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const list = (key: string): string[] | undefined => {
    const value = json[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
      throw new UsageError(`config file ${file}: "${key}" must be a list of strings`);
    }
    return value;
  };
  const legacy = json["enable-legacy-registry"];
  if (legacy !== undefined && typeof legacy !== "boolean") {
    throw new UsageError(`config file ${file}: "enable-legacy-registry" must be true or false`);
  }
  const mcd = json["max-concurrent-downloads"];
  if (mcd !== undefined && (!Number.isInteger(mcd) || (mcd as number) < 1)) {
    throw new UsageError(`config file ${file}: "max-concurrent-downloads" must be a positive integer`);
  }
  const mirrors = list("registry-mirrors");
  const insecureRegistries = list("insecure-registries");
  // Checked when the configuration is loaded, as Docker's daemon does, not only when Docker Hub is pulled.
  try {
    mirrors?.forEach((m) => normalizeMirror(m));
    isInsecureRegistry("", insecureRegistries);
  } catch (err) {
    throw new UsageError(`config file ${file}: ${(err as Error).message}`);
  }
  return {
    mirrors,
    insecureRegistries,
    legacyRegistry: legacy as boolean | undefined,
    maxConcurrentDownloads: mcd as number | undefined,
  };
}

async function pullCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, {
    help: { type: "boolean", short: "h" },
    platform: { type: "string" },
    "all-platforms": { type: "boolean" },
    store: { type: "string" },
    json: { type: "boolean" },
    quiet: { type: "boolean", short: "q" },
    verbose: { type: "boolean", short: "v" },
    "max-concurrent-downloads": { type: "string" },
    "registry-mirror": { type: "list" },
    "insecure-registry": { type: "list" },
    "enable-legacy-registry": { type: "boolean" },
    "all-tags": { type: "boolean", short: "a" },
    unpack: { type: "string" },
    "max-zstd-window": { type: "string" },
    "target-mode": { type: "string" },
  });
  if (flags.help) {
    process.stdout.write(PULL_USAGE + "\n");
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`"tug pull" requires exactly 1 argument (an image reference)\n\n${PULL_USAGE}`);
  }
  const fileConfig = await readRegistryConfig();
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
  const store = await OciLayoutStore.open((flags.store as string | undefined) ?? defaultStoreDir());
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
  const unpacker = flags.unpack === undefined
    ? undefined
    // Loaded only when asked for: the layer readers (fflate, fzstd) cost a pull ~10 MB of RSS otherwise.
    : await (async () => {
      const { parseMaxZstdWindow, parseTargetMode, pullUnpacker } = await import("./unpack_command.ts");
      const maxZstdWindow = parseMaxZstdWindow(flags["max-zstd-window"] as string | undefined);
      const targetMode = parseTargetMode(flags["target-mode"] as string | undefined);
      return await pullUnpacker(flags.unpack as string, renderer.onProgress, { maxZstdWindow, targetMode });
    })();
  // Held until the pull is over: `tug rmi`/`tug prune` in another process delete no blob meanwhile.
  const lease = await acquireStoreLease(store.dir);
  try {
    const options: PullOptions = {
      store,
      hasher: nodeHasher,
      credentials: dockerCredentials(),
      platform: (flags.platform as string | undefined) ?? hostPlatform(),
      allPlatforms: Boolean(flags["all-platforms"]),
      downloads: new DownloadManager({ maxConcurrentDownloads: maxDownloads, hasher: nodeHasher }),
      mirrors: [...(fileConfig.mirrors ?? []), ...((flags["registry-mirror"] as string[] | undefined) ?? [])],
      insecureRegistries: [
        ...(fileConfig.insecureRegistries ?? []),
        ...((flags["insecure-registry"] as string[] | undefined) ?? []),
      ],
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
    await lease.release();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (flags.verbose) printAttempts(attempts);
  }
}

function printAttempts(attempts: PullAttempt[]): void {
  for (const a of attempts) {
    const kind = `${a.mirror ? "mirror " : ""}v${a.version}`;
    process.stderr.write(`attempt: ${a.endpoint} (${kind}): ${a.outcome}: ${a.reason}\n`);
  }
}

/**
 * Runs the `tug` command line with `argv` (without the program name) and returns the exit code.
 * Errors are printed to stderr: usage mistakes exit 2, failures 1, an interrupted pull 130.
 *
 * @example
 * ```ts
 * import { runCli } from "./cli.ts";
 *
 * const code = await runCli(["version"]);
 * console.assert(code === 0);
 * ```
 */
export async function runCli(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      // docker's hint after a flag or argument-count mistake: where to read how the command is called.
      const flagMistake =
        /^(unknown (shorthand )?flag|flag needs an argument|invalid value|"tug [a-z]+" (requires|takes))/
          .test(err.message);
      const hint = flagMistake && !/Usage:/.test(err.message) ? `\nSee 'tug ${argv[0]} --help'.` : "";
      process.stderr.write(`tug: ${err.message}${hint}\n`);
      return 2;
    }
    if (err instanceof TugError && err.code === "ABORTED") {
      process.stderr.write(`tug: ${err.message}\n`);
      return 130;
    }
    if (
      err instanceof TugError || err instanceof TypeError || err instanceof RangeError ||
      err instanceof SyntaxError
    ) {
      process.stderr.write(`Error: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`Error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    return 1;
  }
}
