/**
 * Bundles the `tug` command for Node 20 into `dist/tug.mjs` with esbuild (npm): the TypeScript sources
 * and npm packages go in one ES module; node:* modules stay imports.
 *
 * Run: `deno task build:node`, then `node dist/tug.mjs pull …`.
 *
 * @module
 */
import * as esbuild from "esbuild";

const root = new URL("../../", import.meta.url).pathname;
const result = await esbuild.build({
  entryPoints: [`${root}adapters/cli/main.ts`],
  outfile: `${root}dist/tug.mjs`,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  banner: { js: "#!/usr/bin/env node" },
  logLevel: "warning",
  metafile: true,
});
await esbuild.stop();
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`dist/tug.mjs: ${(bytes / 1024).toFixed(0)} KiB`);
