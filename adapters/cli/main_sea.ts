/**
 * Entry point of the one-file `tug` binary built on Node's single executable applications (build_sea.ts):
 * as main_bundle.ts, without top-level await, since Node 20 runs a SEA's script as CommonJS, which has none.
 *
 * @module
 */
import { startCli } from "./cli.ts";
import { serveCommand } from "./commands/serve.ts";

void startCli({ serve: serveCommand });
