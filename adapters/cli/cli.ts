/**
 * The `tug` command line (entry point: main.ts): picks the command (one file each in commands/, each loaded
 * only when called) and turns errors into messages and exit codes. Runs on Deno
 * (`deno task tug …`) and on Node (the bundle from `deno task build:node`); everything runtime-specific goes
 * through node:* modules.
 *
 * @module
 */
import process from "node:process";
import { UsageError } from "./_args.ts";
import { guardBrokenPipe, isBrokenPipe } from "./broken_pipe.ts";
import { TugError } from "../../src/errors.ts";
import { versionCommand } from "./commands/version.ts";

/** tug's version, sent as the User-Agent too. */
export { VERSION } from "./commands/version.ts";

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

/** Commands a bundle links in itself (see {@linkcode runCli}). */
export interface BundledCommands {
  /** `tug serve` (adapters/cli/commands/serve.ts: Hono and @hono/node-server). */
  serve?: (argv: string[]) => Promise<number>;
}

// `tug serve` is loaded through a path Deno cannot read ahead: Deno fetches every literal import() of a
// program (template ones too), with the npm packages behind it, before the program starts, so a literal one
// would make a first `tug pull` download Hono. Bundles (build_node.ts, the npm package) pass it in instead.
const SERVE_MODULE = ["./commands", "serve.ts"].join("/");
async function loadServe(argv: string[]): Promise<number> {
  const { serveCommand } = await import(SERVE_MODULE) as { serveCommand(argv: string[]): Promise<number> };
  return await serveCommand(argv);
}

async function main(argv: string[], commands: BundledCommands): Promise<number> {
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
    case "-v": // docker -v / docker --version
      return versionCommand();
    // Every command is loaded only when it runs: a long-running `tug serve` keeps no code of the others
    // (tug serve's resident memory at start: see docs/performance.md).
    case "pull":
      return await (await import("./commands/pull.ts")).pullCommand(rest);
    case "images":
      return await (await import("./commands/images.ts")).imagesCommand(rest);
    case "inspect":
      return await (await import("./commands/inspect.ts")).inspectCommand(rest);
    case "serve":
      return await (commands.serve ?? loadServe)(rest);
    case "verify":
      return await (await import("./commands/verify.ts")).verifyCommand(rest);
    case "unpack":
      return await (await import("./commands/unpack.ts")).unpackCommand(rest);
    case "save":
      return await (await import("./commands/save.ts")).saveCommand(rest);
    case "rmi":
      return await (await import("./commands/rmi.ts")).rmiCommand(rest);
    case "prune":
      return await (await import("./commands/prune.ts")).pruneCommand(rest);
    case "image":
      return await (await import("./commands/image.ts")).imageCommand(rest);
    case "login":
      return await (await import("./commands/login.ts")).loginCommand(rest);
    case "logout":
      return await (await import("./commands/logout.ts")).logoutCommand(rest);
    default:
      throw new UsageError(`unknown command "${command}" (see 'tug --help')`);
  }
}

/**
 * Runs the `tug` command line with `argv` (without the program name) and returns the exit code.
 * Errors are printed to stderr: usage mistakes exit 2, failures 1, an interrupted pull 130. A bundle passes
 * the commands it links in (`commands`; see main_bundle.ts); from source they are loaded when called.
 *
 * @example
 * ```ts
 * import { runCli } from "./cli.ts";
 *
 * const code = await runCli(["version"]);
 * console.assert(code === 0);
 * ```
 */
export async function runCli(argv: string[], commands: BundledCommands = {}): Promise<number> {
  try {
    return await main(argv, commands);
  } catch (err) {
    if (err instanceof UsageError) {
      // docker's hint after a flag or argument-count mistake: where to read how the command is called.
      const flagMistake = /^(unknown (shorthand )?flag|flag needs an argument|invalid value)/
        .test(err.message);
      const hint = flagMistake && !/Usage:/.test(err.message) ? `\nSee 'tug ${argv[0]} --help'.` : "";
      process.stderr.write(`tug: ${err.message}${hint}\n`);
      return 2;
    }
    if (isBrokenPipe(err)) {
      // Output that was to be read whole (an archive) was cut short: one line, no stack trace.
      process.stderr.write("Error: Cannot write to the output: its reader went away (broken pipe)\n");
      return 1;
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

/**
 * What every entry point of the `tug` command does (main.ts from source, main_bundle.ts for Node and npm,
 * main_sea.ts for the one-file binary): guard stdout against a reader that went away (`tug … | head -1`),
 * run the command line, and set the exit code. One place, so no entry point can miss a step.
 */
export function startCli(commands: BundledCommands = {}): Promise<void> {
  guardBrokenPipe(process.stdout);
  return runCli(process.argv.slice(2), commands).then((code) => {
    process.exitCode = code;
  });
}
