/**
 * Bundles a TypeScript module and what it imports (sources and npm packages) into one ES module for
 * Chromium, with esbuild (npm). The browser tests serve the result with {@linkcode serveStatic}.
 *
 * @module
 */

import * as esbuild from "npm:esbuild@^0.28.2";
import { npmSpecifiers } from "../../build/npm_specifiers.ts";

/**
 * Options for {@linkcode bundleForBrowser}.
 *
 * @example
 * ```ts
 * import type { BundleOptions } from "./bundle.ts";
 *
 * const options: BundleOptions = { minify: true, sourcemap: false };
 * console.assert(options.minify);
 * ```
 */
export interface BundleOptions {
  /** Minify the output (default false: readable stacks in failures). */
  minify?: boolean;
  /** Append an inline source map (default true: page errors point at the TypeScript lines). */
  sourcemap?: boolean;
  /** Replace global identifiers at build time, as esbuild's `define`. */
  define?: Record<string, string>;
}

// esbuild runs as one child service per process; builds are queued so one build's stop() never cuts off
// another, and the service is stopped after each build so no test leaks the child process.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Bundles `entry` (a path, or a file: URL) into one browser ES module and returns its text. The module's
 * exports stay exports, so a page can `import()` it and call them.
 *
 * @example
 * ```ts ignore
 * import { bundleForBrowser } from "./bundle.ts";
 *
 * const code = await bundleForBrowser(new URL("./store_page.ts", import.meta.url));
 * console.log(`${code.length} bytes`);
 * ```
 */
export function bundleForBrowser(entry: string | URL, options: BundleOptions = {}): Promise<string> {
  const run = queue.then(() => build(entry, options));
  queue = run.catch(() => {});
  return run;
}

async function build(entry: string | URL, options: BundleOptions): Promise<string> {
  const path = entry instanceof URL ? decodeURIComponent(entry.pathname) : entry;
  try {
    const result = await esbuild.build({
      entryPoints: [path],
      absWorkingDir: new URL("../../", import.meta.url).pathname,
      bundle: true,
      plugins: [npmSpecifiers()],
      write: false,
      outfile: "bundle.js",
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: options.minify ?? false,
      sourcemap: options.sourcemap === false ? false : "inline",
      define: options.define,
      logLevel: "silent",
    });
    const file = result.outputFiles.find((f) => f.path.endsWith(".js"));
    if (!file) throw new Error(`Cannot bundle ${path}: esbuild wrote no JavaScript`);
    return file.text;
  } catch (err) {
    throw new Error(`Cannot bundle ${path} for the browser: ${err instanceof Error ? err.message : err}`, {
      cause: err,
    });
  } finally {
    await esbuild.stop();
  }
}
