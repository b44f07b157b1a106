/**
 * Entry point of the `tug` command: `deno run -A adapters/cli/main.ts …`, or `node dist/tug.mjs …`
 * after `deno task build:node`.
 *
 * @module
 */
import { startCli } from "./cli.ts";

await startCli();
