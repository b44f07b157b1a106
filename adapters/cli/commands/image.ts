/**
 * `tug image SUBCOMMAND`: docker's management-command spelling of the image commands
 * (`tug image rm` = `tug rmi`, `tug image prune` = `tug prune`, `tug image ls` = `tug images`).
 *
 * @module
 */
import process from "node:process";
import { UsageError } from "../_args.ts";
import { imagesCommand } from "./images.ts";
import { inspectCommand } from "./inspect.ts";
import { rmiCommand } from "./rmi.ts";
import { pruneCommand } from "./prune.ts";

const USAGE = `Usage: tug image COMMAND

Manage images in the store.

Commands:
  ls        List images (tug images)
  inspect   Show an image's manifest and config (tug inspect)
  rm        Remove images (tug rmi)
  prune     Delete blobs no image uses (tug prune)

Run 'tug image COMMAND --help' for a command's options.`;

/**
 * Runs `tug image` with `argv` (the arguments after `image`) and returns the exit code.
 *
 * @example
 * ```ts
 * import { imageCommand } from "./image.ts";
 *
 * console.assert((await imageCommand(["--help"])) === 0);
 * ```
 */
export async function imageCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case undefined:
    case "--help":
    case "-h":
    case "help":
      process.stdout.write(USAGE + "\n");
      return 0;
    case "ls":
    case "list":
      return await imagesCommand(rest);
    case "inspect":
      return await inspectCommand(rest);
    case "rm":
    case "remove":
    case "rmi":
      return await rmiCommand(rest);
    case "prune":
      return await pruneCommand(rest);
    default:
      throw new UsageError(`unknown command "image ${sub}" (see 'tug image --help')`);
  }
}
