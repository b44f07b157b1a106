/**
 * Bundles the `tug` command for Node 20 into `dist/tug.mjs` with esbuild (npm): the TypeScript sources
 * and npm packages go in one ES module; node:* modules stay imports.
 *
 * Run: `deno task build:node`, then `node dist/tug.mjs pull …`. An argument names another output file
 * (tests build into a temporary folder): `deno run -A adapters/cli/build_node.ts /tmp/x/tug.mjs`.
 *
 * @module
 */
import process from "node:process";
import * as esbuild from "npm:esbuild@^0.28.2";
import { npmSpecifiers } from "../../build/npm_specifiers.ts";

const root = new URL("../../", import.meta.url).pathname;
const outfile = process.argv[2] ?? `${root}dist/tug.mjs`;
// The inspection page goes into the bundle, so `node tug.mjs serve` serves it at / like the Deno command.
const { buildWebPage } = await import("../../web/build.ts");
const webFiles = await buildWebPage({ minify: true });
// esbuild's service process would keep a failed build from exiting: stop it either way.
const result = await esbuild.build({
  entryPoints: [`${root}adapters/cli/main_bundle.ts`],
  outfile,
  bundle: true,
  plugins: [npmSpecifiers()],
  format: "esm",
  platform: "node",
  target: "node20",
  banner: { js: "#!/usr/bin/env node" },
  logLevel: "warning",
  metafile: true,
  define: { __TUG_WEB_FILES__: JSON.stringify(webFiles) },
}).finally(() => esbuild.stop());
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`${outfile}: ${(bytes / 1024).toFixed(0)} KiB`);
