/**
 * Entry point of the `tug` command: `deno run -A adapters/cli/main.ts …`, or `node dist/tug.mjs …`
 * after `deno task build:node`.
 *
 * @module
 */
import process from "node:process";
import { runCli } from "./cli.ts";

process.exitCode = await runCli(process.argv.slice(2));
