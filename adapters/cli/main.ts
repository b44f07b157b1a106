/**
 * Entry point of the `tug` command: `deno run -A adapters/cli/main.ts …`, or `node dist/tug.mjs …`
 * after `deno task build:node`.
 *
 * @module
 */
import process from "node:process";
import { runCli } from "./cli.ts";
import { guardBrokenPipe } from "./broken_pipe.ts";

// `tug … | head -1`: no EPIPE stack trace when the reader goes away.
guardBrokenPipe(process.stdout);
process.exitCode = await runCli(process.argv.slice(2));
