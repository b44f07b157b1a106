/**
 * Builds tug's core for pages that embed it (`<script type="module">`): one minified ES module with what
 * src/mod.ts exports except the proxy (`createProxy`: Hono, a server), and a WebAssembly hasher that
 * carries SHA-256 only (hash-wasm ships the WebAssembly of every algorithm it has; the core needs one) and
 * of fflate only its gunzip (the fallback where DecompressionStream is missing).
 *
 * ```sh
 * deno task build:browser            # → dist/tug.browser.js, and prints its size and gzip size
 * deno run -A build/browser_core.ts OUT_FILE
 * ```
 *
 * @module
 */
import * as esbuild from "npm:esbuild@^0.28.2";
import { npmSpecifiers } from "./npm_specifiers.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const NARROWED_NS = "tug-narrowed";

/** Sizes of a built bundle in bytes. */
export interface BundleSize {
  /** The file as written. */
  bytes: number;
  /** The file gzip-compressed (what a server sends with Content-Encoding: gzip). */
  gzipBytes: number;
}

// The core loads hash-wasm and fflate with import(), whose whole namespace esbuild must then keep; these
// modules name the parts the core uses, so the rest is left out.
const NARROWED: Record<string, (specifier: string, options: NarrowedOptions) => string> = {
  "hash-wasm": (specifier, options) =>
    options.lazySha512
      // Its own import(): with code splitting, SHA-512's WebAssembly goes into a chunk of its own, fetched
      // only when a digest asks for it (registries use sha256; sha512 is allowed by the OCI spec).
      ? `export { createSHA256 } from ${JSON.stringify(specifier)};
export async function createSHA512() {
  return (await import(${JSON.stringify(`${SHA512_PREFIX}${specifier}`)})).createSHA512();
}
`
      : `export { createSHA256 } from ${JSON.stringify(specifier)};
export function createSHA512() {
  throw new Error("tug's browser bundle hashes SHA-256 only: pass a SHA-512 hasher in the hasher option");
}
`,
  // Only used where DecompressionStream is missing (src/image/decompress_layer.ts).
  fflate: (specifier) => `export { Gunzip } from ${JSON.stringify(specifier)};\n`,
};
const SHA512_PREFIX = "tug-sha512:";

/** Options for {@linkcode narrowed}. */
export interface NarrowedOptions {
  /**
   * Keep SHA-512, behind an import() of its own (default false: asking for SHA-512 throws). Build with
   * `splitting: true` so that it lands in a chunk of its own.
   */
  lazySha512?: boolean;
}

/**
 * Narrows hash-wasm to SHA-256 (asking the core's wasmHasher for SHA-512 throws, or loads it apart with
 * `lazySha512`) and fflate to `Gunzip`.
 *
 * @example
 * ```ts ignore
 * await esbuild.build({ entryPoints: ["src/mod.ts"], bundle: true, plugins: [narrowed(), npmSpecifiers()] });
 * ```
 */
export function narrowed(options: NarrowedOptions = {}): esbuild.Plugin {
  return {
    name: NARROWED_NS,
    setup(build) {
      build.onResolve(
        { filter: /^npm:(hash-wasm|fflate)@/ },
        (args) => args.namespace === NARROWED_NS ? undefined : { path: args.path, namespace: NARROWED_NS },
      );
      build.onResolve({ filter: new RegExp(`^${SHA512_PREFIX}`) }, (args) => ({
        path: args.path,
        namespace: NARROWED_NS,
      }));
      build.onLoad({ filter: /.*/, namespace: NARROWED_NS }, (args) => ({
        resolveDir: ROOT,
        loader: "js",
        contents: args.path.startsWith(SHA512_PREFIX)
          // hash-wasm's one-algorithm build: the index module is one file, which esbuild does not split.
          ? `export { createSHA512 } from ${
            JSON.stringify(`${args.path.slice(SHA512_PREFIX.length)}/dist/sha512.umd.min.js`)
          };\n`
          : NARROWED[/^npm:([^@]+)@/.exec(args.path)![1]](args.path, options),
      }));
    },
  };
}

/**
 * Builds the bundle into `outfile` and returns its sizes.
 *
 * @example
 * ```ts ignore
 * import { buildBrowserCore } from "./browser_core.ts";
 *
 * const { gzipBytes } = await buildBrowserCore("/tmp/tug.browser.js");
 * ```
 */
export async function buildBrowserCore(outfile: string): Promise<BundleSize> {
  // The root module's values, read from the module itself so the bundle follows src/mod.ts.
  const names = Object.keys(await import("../src/mod.ts")).filter((name) => name !== "createProxy").sort();
  try {
    await esbuild.build({
      stdin: {
        contents: `export { ${names.join(", ")} } from "./src/mod.ts";\n`,
        resolveDir: ROOT,
        sourcefile: "tug.browser.ts",
        loader: "ts",
      },
      outfile,
      bundle: true,
      plugins: [narrowed(), npmSpecifiers()],
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      legalComments: "none",
      logLevel: "warning",
    });
  } finally {
    await esbuild.stop();
  }
  const bytes = await Deno.readFile(outfile);
  const gzipped = await new Response(
    new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip")),
  ).arrayBuffer();
  return { bytes: bytes.length, gzipBytes: gzipped.byteLength };
}

if (import.meta.main) {
  const outfile = Deno.args[0] ?? `${ROOT}dist/tug.browser.js`;
  const { bytes, gzipBytes } = await buildBrowserCore(outfile);
  console.log(`${outfile}: ${(bytes / 1024).toFixed(1)} KiB, ${(gzipBytes / 1024).toFixed(1)} KiB gzip`);
}
