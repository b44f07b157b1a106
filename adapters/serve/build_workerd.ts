/**
 * Bundles the proxy worker (adapters/serve/workerd.ts) into one ES module for workerd with esbuild.
 *
 * Run: `deno run -A adapters/serve/build_workerd.ts [OUTFILE]` (default `dist/worker.js`).
 *
 * @module
 */
import * as esbuild from "esbuild";

/**
 * Bundles the worker to `outfile`; node:* imports stay imports (workerd's `nodejs_compat` provides them).
 *
 * @example
 * ```ts ignore
 * import { buildWorker } from "./build_workerd.ts";
 *
 * await buildWorker("/tmp/worker.js");
 * ```
 */
export async function buildWorker(outfile: string): Promise<void> {
  const root = new URL("../../", import.meta.url).pathname;
  try {
    await esbuild.build({
      entryPoints: [`${root}adapters/serve/workerd.ts`],
      outfile,
      bundle: true,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      conditions: ["workerd", "worker", "browser", "import"],
      external: ["node:*"],
      target: "es2022",
      logLevel: "warning",
    });
  } finally {
    await esbuild.stop();
  }
}

if (import.meta.main) {
  const root = new URL("../../", import.meta.url).pathname;
  await buildWorker(Deno.args[0] ?? `${root}dist/worker.js`);
}
