/**
 * Bundles the `tug` command for Node 20 into `dist/tug.mjs` with esbuild (npm): the TypeScript sources
 * and npm packages go in one ES module; node:* modules stay imports.
 *
 * Run: `deno task build:node`, then `node dist/tug.mjs pull …`. An argument names another output file
 * (tests build into a temporary folder): `deno run -A adapters/cli/build_node.ts /tmp/x/tug.mjs`.
 * build_sea.ts uses {@linkcode bundleCli} for the one-binary build (a CommonJS bundle).
 *
 * @module
 */
import process from "node:process";
import * as esbuild from "npm:esbuild@^0.28.2";
import { npmSpecifiers } from "../../build/npm_specifiers.ts";

const root = new URL("../../", import.meta.url).pathname;

/** How {@linkcode bundleCli} bundles the command. */
export interface BundleCliOptions {
  /** The entry module (default main_bundle.ts, an ES module with top-level await). */
  entry?: string;
  /** `esm` (default) or `cjs` (for a Node single executable application, which runs CommonJS only). */
  format?: "esm" | "cjs";
  /** A first line, such as a `#!` line. */
  banner?: string;
}

/**
 * Bundles the `tug` command, with the inspection page that `tug serve` serves, into `outfile` and returns
 * the bundle's size in bytes.
 *
 * @example
 * ```ts ignore
 * const bytes = await bundleCli("/tmp/tug.cjs", { entry: "adapters/cli/main_sea.ts", format: "cjs" });
 * ```
 */
export async function bundleCli(outfile: string, options: BundleCliOptions = {}): Promise<number> {
  // The inspection page goes into the bundle, so `node tug.mjs serve` serves it at / like the Deno command.
  const { buildWebPage } = await import("../../web/build.ts");
  const webFiles = await buildWebPage({ minify: true });
  // esbuild's service process would keep a failed build from exiting: stop it either way.
  const result = await esbuild.build({
    entryPoints: [options.entry ?? `${root}adapters/cli/main_bundle.ts`],
    outfile,
    bundle: true,
    plugins: [npmSpecifiers()],
    format: options.format ?? "esm",
    platform: "node",
    target: "node20",
    banner: options.banner === undefined ? undefined : { js: options.banner },
    logLevel: "warning",
    metafile: true,
    define: { __TUG_WEB_FILES__: JSON.stringify(webFiles) },
  }).finally(() => esbuild.stop());
  return Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
}

if (import.meta.main) {
  const outfile = process.argv[2] ?? `${root}dist/tug.mjs`;
  const bytes = await bundleCli(outfile, { banner: "#!/usr/bin/env node" });
  console.log(`${outfile}: ${(bytes / 1024).toFixed(0)} KiB`);
}
