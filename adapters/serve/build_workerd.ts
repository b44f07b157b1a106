/**
 * Bundles the proxy worker (adapters/serve/workerd.ts) into one ES module for workerd with esbuild.
 *
 * Run: `deno run -A adapters/serve/build_workerd.ts [OUTFILE] [ENTRY]` (default `dist/worker.js`, and the
 * worker with the in-memory store; ENTRY: a deployer's module whose default export is `createWorker({ store
 * })`).
 *
 * @module
 */
import * as esbuild from "npm:esbuild@^0.28.2";
import { npmSpecifiers } from "../../build/npm_specifiers.ts";

/** Options for {@linkcode buildWorker}. */
export interface BuildWorkerOptions {
  /**
   * The entry module (a path): default adapters/serve/workerd.ts. A deployer's own entry default-exports
   * `createWorker({ store })` from that module to pass the proxy its store.
   */
  entry?: string;
}

/**
 * Bundles the worker to `outfile`; node:* imports stay imports (workerd's `nodejs_compat` provides them).
 *
 * @example
 * ```ts ignore
 * import { buildWorker } from "./build_workerd.ts";
 *
 * await buildWorker("/tmp/worker.js");
 * await buildWorker("/tmp/my-worker.js", { entry: "./my_worker.ts" });
 * ```
 */
export async function buildWorker(outfile: string, options: BuildWorkerOptions = {}): Promise<void> {
  const root = new URL("../../", import.meta.url).pathname;
  try {
    await esbuild.build({
      entryPoints: [options.entry ?? `${root}adapters/serve/workerd.ts`],
      outfile,
      bundle: true,
      plugins: [npmSpecifiers()],
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
  await buildWorker(
    Deno.args[0] ?? `${root}dist/worker.js`,
    Deno.args[1] !== undefined ? { entry: Deno.args[1] } : {},
  );
}
