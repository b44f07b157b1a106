/**
 * Builds the inspection page into static files: `dist/web/index.html`, the page's script and style under
 * content-hashed names (`app.<hash>.js`, `style.<hash>.css`, and `chunk.<hash>.js` for the parts loaded on
 * demand), and the service worker `sw.js` that lets the page open offline. The page's TypeScript and tug's
 * core are bundled with esbuild; of hash-wasm only SHA-256 is in the page (SHA-512 is a chunk of its own,
 * fetched when a digest asks for it), and of fflate only its gunzip. Any static host can serve the folder
 * (`index.html` and `sw.js` revalidated on each visit, the hashed files cached for good); `tug serve` serves
 * it at `/` that way, compressed.
 *
 * ```sh
 * deno task build:web              # → dist/web/
 * deno run -A web/build.ts OUT_DIR # → OUT_DIR/
 * ```
 *
 * @module
 */

import * as esbuild from "npm:esbuild@^0.28.2";
import { npmSpecifiers } from "../build/npm_specifiers.ts";
import { narrowed } from "../build/browser_core.ts";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import process from "node:process";

const ROOT = new URL("../", import.meta.url).pathname;

/** Options for {@linkcode buildWebPage}. */
export interface BuildWebPageOptions {
  /** Minify the script (default true). */
  minify?: boolean;
  /** Add a source map to the script (default false). */
  sourcemap?: boolean;
}

/**
 * The page's files: path (`/index.html`, `/sw.js`, `/app.<hash>.js`, `/style.<hash>.css`,
 * `/chunk.<hash>.js`) → content.
 */
export type WebPageFiles = Record<string, string>;

/**
 * Builds the page in memory and returns its files.
 *
 * @example
 * ```ts ignore
 * import { buildWebPage } from "./build.ts";
 *
 * const files = await buildWebPage({ minify: false });
 * console.log(Object.keys(files)); // ["/app.3XK2QZ7A.js", "/style.MN4B5YQE.css", …, "/index.html", "/sw.js"]
 * ```
 */
export async function buildWebPage(options: BuildWebPageOptions = {}): Promise<WebPageFiles> {
  const minify = options.minify ?? true;
  const files: WebPageFiles = {};
  try {
    const result = await esbuild.build({
      entryPoints: { app: `${ROOT}web/src/main.ts`, style: `${ROOT}web/style.css` },
      absWorkingDir: ROOT,
      bundle: true,
      // The decoders and hashers the core loads with import() become chunks fetched when first used.
      splitting: true,
      plugins: [narrowed({ lazySha512: true }), npmSpecifiers()],
      write: false,
      outdir: `${ROOT}dist/web`,
      entryNames: "[name].[hash]",
      chunkNames: "chunk.[hash]",
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify,
      sourcemap: options.sourcemap ? "inline" : false,
      legalComments: "none",
      logLevel: "silent",
    });
    for (const file of result.outputFiles) files[file.path.slice(file.path.lastIndexOf("/"))] = file.text;
    const named = (prefix: string, ext: string): string => {
      const name = Object.keys(files).find((path) => path.startsWith(`/${prefix}.`) && path.endsWith(ext));
      if (name === undefined) throw new Error(`esbuild wrote no ${prefix}${ext}`);
      return name.slice(1);
    };
    let html = await readFile(`${ROOT}web/index.html`, "utf8");
    const links: [string, string][] = [
      ['href="style.css"', named("style", ".css")],
      ['src="app.js"', named("app", ".js")],
    ];
    for (const [from, to] of links) {
      if (!html.includes(from)) throw new Error(`web/index.html has no ${from}`);
      html = html.replace(from, from.replace(/"[^"]*"/, `"${to}"`));
    }
    files["/index.html"] = html;
    const shell = [
      "./",
      ...Object.keys(files).filter((path) => path !== "/index.html").map((p) => p.slice(1)),
    ];
    const worker = await esbuild.build({
      entryPoints: [`${ROOT}web/src/service_worker.ts`],
      absWorkingDir: ROOT,
      bundle: true,
      write: false,
      outfile: "sw.js",
      format: "iife",
      platform: "browser",
      target: "es2022",
      minify,
      legalComments: "none",
      logLevel: "silent",
      define: {
        __TUG_SHELL__: JSON.stringify(shell),
        __TUG_SHELL_VERSION__: JSON.stringify(await shellVersion(files)),
      },
    });
    files["/sw.js"] = worker.outputFiles[0].text;
    return files;
  } finally {
    await esbuild.stop();
  }
}

/** A hash of every shell file's name and content: a new build is a new version, the same build the same. */
async function shellVersion(files: WebPageFiles): Promise<string> {
  const text = Object.keys(files).sort().map((path) => `${path}\0${files[path]}\0`).join("");
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(hash.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The gzip size of each file in bytes (what a server sends with `Content-Encoding: gzip`).
 *
 * @example
 * ```ts ignore
 * import { buildWebPage, gzipSizes } from "./build.ts";
 *
 * console.log(gzipSizes(await buildWebPage()));
 * ```
 */
export function gzipSizes(files: WebPageFiles): Record<string, number> {
  return Object.fromEntries(
    Object.entries(files).map((
      [path, text],
    ) => [path, gzipSync(new TextEncoder().encode(text), { level: 9 }).length]),
  );
}

/**
 * Builds the page and writes its files into `outDir` (created when missing).
 *
 * @example
 * ```ts ignore
 * import { writeWebPage } from "./build.ts";
 *
 * await writeWebPage("dist/web");
 * ```
 */
export async function writeWebPage(outDir: string, options: BuildWebPageOptions = {}): Promise<string[]> {
  return await writeFiles(outDir, await buildWebPage(options));
}

async function writeFiles(outDir: string, files: WebPageFiles): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const [path, content] of Object.entries(files)) {
    const target = `${outDir.replace(/\/+$/, "")}${path}`;
    await writeFile(target, content);
    written.push(target);
  }
  return written;
}

if (import.meta.main) {
  const outDir = process.argv[2] ?? `${ROOT}dist/web`;
  const files = await buildWebPage();
  await writeFiles(outDir, files);
  const gzip = gzipSizes(files);
  for (const [path, text] of Object.entries(files)) {
    const bytes = new TextEncoder().encode(text).length;
    console.log(
      `${outDir}${path}  ${(bytes / 1024).toFixed(1)} KiB, ${(gzip[path] / 1024).toFixed(1)} KiB gzip`,
    );
  }
}
