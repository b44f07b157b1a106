/**
 * Entry point of the one-file `tug` binary built on Node's single executable applications (build_sea.ts):
 * as main_bundle.ts, without top-level await, since Node 20 runs a SEA's script as CommonJS, which has none.
 *
 * @module
 */
import process from "node:process";
import { runCli } from "./cli.ts";
import { serveCommand } from "./commands/serve.ts";

runCli(process.argv.slice(2), { serve: serveCommand }).then((code) => {
  process.exitCode = code;
});
