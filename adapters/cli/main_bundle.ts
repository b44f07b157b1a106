/**
 * Entry point of the bundled `tug` command (build_node.ts's `dist/tug.mjs`, the npm package's `bin`): as
 * main.ts, with `tug serve` linked in, since a bundle cannot load it by path at run time (cli.ts).
 *
 * @module
 */
import { startCli } from "./cli.ts";
import { serveCommand } from "./commands/serve.ts";

await startCli({ serve: serveCommand });
