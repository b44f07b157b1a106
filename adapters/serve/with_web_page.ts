/**
 * Serves tug's inspection page (the static files `deno task build:web` writes to `dist/web/`) in front of
 * a proxy app: `GET /` and the page's files come from the folder, everything else goes to the app.
 *
 * @module
 */

import { readdir, readFile } from "node:fs/promises";
import type { FetchApp } from "./types.ts";

/** Options for {@linkcode withWebPage}: the page's files in memory, or the folder that holds them. */
export type WebPageSource =
  /** Path (`/index.html`, `/app.js`, …) → content. */
  | { files: Record<string, string | Uint8Array> }
  /** A folder with the built page (`dist/web`), read once on the first request. */
  | { dir: string };

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  json: "application/json",
  map: "application/json",
};

async function readFolder(dir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const name of await readdir(dir)) {
    // The build writes a flat folder; anything else in it is not the page's.
    if (!/^[\w.-]+$/.test(name)) continue;
    try {
      files.set(`/${name}`, new Uint8Array(await readFile(`${dir}/${name}`)));
    } catch {
      // A subfolder or an unreadable file: not served.
    }
  }
  if (!files.has("/index.html")) {
    throw new Error(`Cannot serve the web page: ${dir} has no index.html (run: deno task build:web)`);
  }
  return files;
}

/**
 * Wraps `app` so that it also serves the inspection page: `GET /` (and `/index.html`, `/app.js`,
 * `/style.css`) answer from the page's files, with `?image=…` deep links served the same page. Every other
 * request (`/v2/…`, `/token`, …) goes to `app` unchanged, so the page talks to the proxy on its own origin
 * and needs no CORS.
 *
 * @param app The proxy app (anything with a `fetch` handler).
 * @param source The page's files, or the folder of the built page.
 * @returns An app that serves both.
 *
 * @example Serve the proxy and the page on Deno (not run here: it listens)
 * ```ts ignore
 * import { withWebPage } from "./with_web_page.ts";
 * import { serveDeno } from "./deno.ts";
 * import { createProxy } from "../../src/proxy/create_proxy.ts";
 * import { MemoryStore } from "../../src/store/memory_store.ts";
 *
 * const app = withWebPage(createProxy({ store: new MemoryStore() }), { dir: "dist/web" });
 * const server = await serveDeno(app, { port: 5000 });
 * console.log(`open ${server.url}/?image=alpine:3.20`);
 * ```
 */
export function withWebPage(app: FetchApp, source: WebPageSource): FetchApp {
  let files: Promise<Map<string, Uint8Array>> | undefined;
  const load = (): Promise<Map<string, Uint8Array>> => {
    if ("files" in source) {
      const encoder = new TextEncoder();
      const map = new Map<string, Uint8Array>();
      for (const [path, body] of Object.entries(source.files)) {
        map.set(path, typeof body === "string" ? encoder.encode(body) : body);
      }
      return Promise.resolve(map);
    }
    files ??= readFolder(source.dir);
    files.catch(() => files = undefined);
    return files;
  };
  return {
    async fetch(request: Request): Promise<Response> {
      const method = request.method;
      const { pathname } = new URL(request.url);
      if ((method !== "GET" && method !== "HEAD") || pathname.startsWith("/v2/") || pathname === "/v2") {
        return await app.fetch(request);
      }
      const table = await load();
      const path = pathname === "/" ? "/index.html" : pathname;
      const body = table.get(path);
      if (body === undefined) return await app.fetch(request);
      const ext = path.slice(path.lastIndexOf(".") + 1);
      return new Response(method === "HEAD" ? null : body as Uint8Array<ArrayBuffer>, {
        headers: {
          "content-type": TYPES[ext] ?? "application/octet-stream",
          "content-length": String(body.length),
          // The page's file names do not change between builds: let browsers check them again each time.
          "cache-control": "no-cache",
          "x-content-type-options": "nosniff",
        },
      });
    },
  };
}
