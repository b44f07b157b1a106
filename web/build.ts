/**
 * Builds the inspection page into static files: `dist/web/index.html`, `app.js` (the page's TypeScript and
 * tug's core, bundled with esbuild) and `style.css`. Any static host can serve the folder; `tug serve`
 * serves it at `/`.
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
import { mkdir, readFile, writeFile } from "node:fs/promises";
import process from "node:process";

const ROOT = new URL("../", import.meta.url).pathname;

/** Options for {@linkcode buildWebPage}. */
export interface BuildWebPageOptions {
  /** Minify the script (default true). */
  minify?: boolean;
  /** Add a source map to the script (default false). */
  sourcemap?: boolean;
}

/** The page's files: path (`/index.html`, `/app.js`, `/style.css`) → content. */
export type WebPageFiles = Record<string, string>;

/**
 * Builds the page in memory and returns its files.
 *
 * @example
 * ```ts ignore
 * import { buildWebPage } from "./build.ts";
 *
 * const files = await buildWebPage({ minify: false });
 * console.log(Object.keys(files)); // ["/index.html", "/style.css", "/app.js"]
 * ```
 */
export async function buildWebPage(options: BuildWebPageOptions = {}): Promise<WebPageFiles> {
  try {
    const result = await esbuild.build({
      entryPoints: [`${ROOT}web/src/main.ts`],
      absWorkingDir: ROOT,
      bundle: true,
      plugins: [npmSpecifiers()],
      write: false,
      outfile: "app.js",
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: options.minify ?? true,
      sourcemap: options.sourcemap ? "inline" : false,
      legalComments: "none",
      logLevel: "silent",
    });
    const js = result.outputFiles.find((f) => f.path.endsWith(".js"));
    if (!js) throw new Error("esbuild wrote no JavaScript");
    return {
      "/index.html": await readFile(`${ROOT}web/index.html`, "utf8"),
      "/style.css": await readFile(`${ROOT}web/style.css`, "utf8"),
      "/app.js": js.text,
    };
  } finally {
    await esbuild.stop();
  }
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
  const files = await buildWebPage(options);
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
  for (const path of await writeWebPage(outDir)) {
    const { size } = await import("node:fs/promises").then((fs) => fs.stat(path));
    console.log(`${path}  ${(size / 1024).toFixed(1)} KiB`);
  }
}
