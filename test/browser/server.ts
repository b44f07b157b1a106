/**
 * A tiny static HTTP server on 127.0.0.1 for browser tests: a few files held in memory (a test page and
 * bundles), an optional handler for everything else.
 *
 * @module
 */

/** A file served by {@linkcode serveStatic}: text, bytes, or either with a content type and headers. */
export type StaticFile = string | Uint8Array | {
  /** The body. */
  body: string | Uint8Array;
  /** Content type (default: from the path's extension). */
  type?: string;
  /** Extra response headers. */
  headers?: HeadersInit;
};

/**
 * Options for {@linkcode serveStatic}.
 *
 * @example
 * ```ts
 * import type { StaticServerOptions } from "./server.ts";
 *
 * const options: StaticServerOptions = { fallback: () => new Response("nope", { status: 404 }) };
 * console.assert(typeof options.fallback === "function");
 * ```
 */
export interface StaticServerOptions {
  /** Answers requests for paths that are not among the files (default: 404). */
  fallback?: (request: Request) => Response | Promise<Response>;
}

/** A running {@linkcode serveStatic} server. */
export interface StaticServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly origin: string;
  /** Adds or replaces a file (path starting with `/`). */
  set(path: string, file: StaticFile): void;
  /** Paths requested so far, in order (`GET /x`), for tests that check what the page fetched. */
  readonly requests: readonly string[];
  /** Stops the server. */
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  svg: "image/svg+xml",
  png: "image/png",
  wasm: "application/wasm",
  txt: "text/plain; charset=utf-8",
};

/**
 * An HTML page that loads the given module scripts (paths on the same server).
 *
 * @example
 * ```ts
 * import { testPage } from "./server.ts";
 *
 * console.assert(testPage("store", ["/store_page.js"]).includes('src="/store_page.js"'));
 * ```
 */
export function testPage(title: string, scripts: readonly string[] = []): string {
  const tags = scripts.map((src) => `<script type="module" src="${src}"></script>`).join("\n");
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title>` +
    `<link rel="icon" href="data:,">${tags}</head><body><h1>${title}</h1></body></html>\n`;
}

/**
 * Serves `files` on 127.0.0.1 at a free port. `GET /` serves `/index.html` when present. Stop it with
 * `close()` or `await using`.
 *
 * @example
 * ```ts
 * import { serveStatic, testPage } from "./server.ts";
 *
 * await using server = await serveStatic({ "/index.html": testPage("hello"), "/a.js": "export const a = 1;" });
 * const res = await fetch(`${server.origin}/a.js`);
 * console.assert(res.headers.get("content-type")?.startsWith("text/javascript"));
 * await res.body?.cancel();
 * ```
 */
export async function serveStatic(
  files: Record<string, StaticFile>,
  options: StaticServerOptions = {},
): Promise<StaticServer> {
  const table = new Map(Object.entries(files));
  const requests: string[] = [];
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: (addr) => resolve(addr as Deno.NetAddr),
  }, async (request) => {
    const url = new URL(request.url);
    requests.push(`${request.method} ${url.pathname}${url.search}`);
    const path = url.pathname === "/" && table.has("/index.html") ? "/index.html" : url.pathname;
    const file = table.get(path);
    if (file === undefined || (request.method !== "GET" && request.method !== "HEAD")) {
      if (options.fallback) return await options.fallback(request);
      return new Response(`${path} not found\n`, { status: 404 });
    }
    const { body, type, headers } = typeof file === "string" || file instanceof Uint8Array
      ? { body: file, type: undefined, headers: undefined }
      : file;
    const ext = path.slice(path.lastIndexOf(".") + 1);
    const out = new Headers(headers);
    out.set("content-type", type ?? TYPES[ext] ?? "application/octet-stream");
    out.set("cache-control", "no-store");
    return new Response(request.method === "HEAD" ? null : body as BodyInit, { headers: out });
  });
  const addr = await listening;
  const close = async () => {
    await server.shutdown();
  };
  return {
    origin: `http://127.0.0.1:${addr.port}`,
    set: (path, file) => void table.set(path, file),
    requests,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A pass-through with CORS, see {@linkcode corsPassThrough}. */
export interface CorsPassThrough extends AsyncDisposable {
  /** `127.0.0.1:PORT` to use as the registry host in references. */
  readonly host: string;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Forwards every request to `upstream` (a registry without CORS, such as docker-registry) and adds the CORS
 * headers a cross-origin page needs, so a page can talk to that registry directly. Redirects are handed to
 * the page as they are.
 */
export async function corsPassThrough(upstream: string): Promise<CorsPassThrough> {
  const cors = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, HEAD, OPTIONS",
    "access-control-allow-headers": "*",
    // Without these the page cannot read the digest, the auth challenge or the range of a response.
    "access-control-expose-headers": "*",
    "access-control-max-age": "600",
  };
  const { promise, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: (addr) => resolve(addr as Deno.NetAddr),
  }, async (request) => {
    if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: cors });
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    for (const name of ["host", "origin", "referer"]) headers.delete(name);
    const response = await fetch(`${upstream}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      redirect: "manual",
    });
    const out = new Headers(response.headers);
    for (const [name, value] of Object.entries(cors)) out.set(name, value);
    return new Response(response.body, { status: response.status, headers: out });
  });
  const addr = await promise;
  const close = () => server.shutdown();
  return { host: `127.0.0.1:${addr.port}`, close, [Symbol.asyncDispose]: close };
}
