/**
 * Serves tug's inspection page (the static files `deno task build:web` writes to `dist/web/`) in front of
 * a proxy app: `GET /` and the page's files come from the folder, everything else goes to the app. Text
 * files are sent gzip- or brotli-compressed (compressed once, on the first request) to clients that accept
 * it; the build's content-hashed files (`app.<hash>.js`) are cached for a year, the rest revalidated.
 *
 * @module
 */

import type { FetchApp } from "./types.ts";

// node:zlib (the encodings) and node:fs/promises (`{ dir }`) are loaded when first used, not with this
// module: `tug serve` loads it at start, and on Deno each sets up more of Deno's Node layer, which stays in
// the process (node:fs/promises alone: 2.4 MiB; docs/performance.md, "Proxy memory").
let zlibModule: Promise<typeof import("node:zlib")> | undefined;

/**
 * A Node built-in module: through `process.getBuiltinModule()` where the runtime has it (Node 20.16+), because
 * a Node single executable application (`deno task compile:node`, CommonJS) has no dynamic `import()`.
 */
function builtin<T>(id: string, load: () => Promise<T>): Promise<T> {
  const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule;
  return get ? Promise.resolve(get(id) as T) : load();
}

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

/** Types worth compressing (images are compressed already). */
const COMPRESSIBLE = new Set(["html", "js", "css", "svg", "json", "map"]);

/** A name the build gave from the content (`app.3XK2QZ7A.js`): the same name is always the same bytes. */
const HASHED = /^\/[\w-]+\.[A-Z0-9]{8}\.(?:js|css)$/;

/** Below this size a file is sent as it is: compression would save less than its headers cost. */
const MIN_COMPRESS = 256;

/** One file ready to send: its bytes, each encoding made on first demand, and its headers. */
interface Served {
  identity: Uint8Array;
  /** Whether the file is sent compressed to clients that accept it. */
  compress: boolean;
  encoded: Partial<Record<"gzip" | "br", Uint8Array>>;
  type: string;
  cacheControl: string;
  /** A strong validator of the identity bytes; each encoding adds its name (RFC 9110 §8.8.3). */
  etag: string;
}

async function prepare(path: string, body: Uint8Array): Promise<Served> {
  const ext = path.slice(path.lastIndexOf(".") + 1);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", body as Uint8Array<ArrayBuffer>));
  return {
    identity: body,
    compress: COMPRESSIBLE.has(ext) && body.length >= MIN_COMPRESS,
    encoded: {},
    type: TYPES[ext] ?? "application/octet-stream",
    // Hashed names never change content: browsers keep them a year without asking (`immutable`: not even
    // on reload). index.html and sw.js name the current build, so browsers check them on every visit.
    cacheControl: HASHED.test(path) ? "public, max-age=31536000, immutable" : "no-cache",
    etag: Array.from(hash.subarray(0, 12), (b) => b.toString(16).padStart(2, "0")).join(""),
  };
}

/** The file in `encoding`, compressed once and kept. */
async function encode(served: Served, encoding: "gzip" | "br"): Promise<Uint8Array> {
  let bytes = served.encoded[encoding];
  if (bytes === undefined) {
    const { brotliCompressSync, constants: zlib, gzipSync } = await (zlibModule ??= builtin("node:zlib", () =>
      import("node:zlib")));
    const body = served.identity;
    // Brotli's best quality costs ~2.5 ms per KiB; the minified page (~250 KiB) pays it once. Larger files
    // (a build with inline source maps) get a quality that takes a tenth of that.
    const quality = body.length <= 256 * 1024 ? 11 : 5;
    bytes = new Uint8Array(
      encoding === "gzip" ? gzipSync(body, { level: 9 }) : brotliCompressSync(body, {
        params: { [zlib.BROTLI_PARAM_QUALITY]: quality, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length },
      }),
    );
    served.encoded[encoding] = bytes;
  }
  return bytes;
}

/** The encoding to send: the client's most preferred of br and gzip (br on a tie), else identity. */
function pickEncoding(acceptEncoding: string | null, served: Served): "br" | "gzip" | "identity" {
  let best: "br" | "gzip" | "identity" = "identity";
  let bestQ = 0;
  if (!served.compress) return best;
  for (const part of (acceptEncoding ?? "").split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!(q > 0)) continue;
    const coding = name.trim() === "*" ? "br" : name.trim();
    if ((coding === "br" || coding === "gzip") && (q > bestQ || (q === bestQ && coding === "br"))) {
      best = coding;
      bestQ = q;
    }
  }
  return best;
}

async function readFolder(dir: string): Promise<Map<string, Uint8Array>> {
  const { readdir, readFile } = await builtin("node:fs/promises", () => import("node:fs/promises"));
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
 * Wraps `app` so that it also serves the inspection page: `GET /` (and `/index.html`, `/sw.js`,
 * `/app.<hash>.js`, …) answer from the page's files, with `?image=…` deep links served the same page. Text
 * files go out compressed as the request's `Accept-Encoding` allows (`br`, `gzip`; `Vary: Accept-Encoding`),
 * content-hashed names with `Cache-Control: public, max-age=31536000, immutable`, the others with
 * `no-cache` and an ETag (a revalidation costs a 304). Every other
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
  const read = (): Promise<Map<string, Uint8Array>> => {
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
  let table: Promise<Map<string, Served>> | undefined;
  const load = (): Promise<Map<string, Served>> => {
    table ??= read().then(async (map) => {
      const out = new Map<string, Served>();
      for (const [path, body] of map) out.set(path, await prepare(path, body));
      return out;
    });
    table.catch(() => table = undefined);
    return table;
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
      const served = table.get(path);
      if (served === undefined) return await app.fetch(request);
      const encoding = pickEncoding(request.headers.get("accept-encoding"), served);
      const body = encoding === "identity" ? served.identity : await encode(served, encoding);
      const etag = `"${served.etag}${encoding === "identity" ? "" : `-${encoding}`}"`;
      const headers = new Headers({
        "content-type": served.type,
        "cache-control": served.cacheControl,
        "etag": etag,
        "x-content-type-options": "nosniff",
      });
      // Caches must key compressed answers by what the client accepts.
      if (served.compress) headers.set("vary", "Accept-Encoding");
      if (encoding !== "identity") headers.set("content-encoding", encoding);
      const match = request.headers.get("if-none-match");
      if (match !== null && match.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag)) {
        return new Response(null, { status: 304, headers });
      }
      headers.set("content-length", String(body.length));
      return new Response(method === "HEAD" ? null : body as Uint8Array<ArrayBuffer>, { headers });
    },
  };
}
