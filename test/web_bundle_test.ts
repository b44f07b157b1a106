/**
 * The page as it is delivered: its size, content-hashed names with long cache lifetimes, compression by
 * Accept-Encoding (against the real served page), and the service worker that opens it with the proxy
 * down and is replaced by a new build's.
 *
 * @module
 */

import { request as httpRequest } from "node:http";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { openPage, type Page, withChromium } from "./browser/mod.ts";
import { openPath, startWebServer, viewedText, webPageFiles } from "./_web.ts";
import { buildWebPage, gzipSizes, type WebPageFiles } from "../web/build.ts";

/** The bound the page's files must stay within, gzip-compressed, all chunks counted. */
const MAX_GZIP_BYTES = 80 * 1024;

/** A raw HTTP exchange (node:http does not decode Content-Encoding, so the bytes are as sent). */
function get(
  url: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<{ status: number; headers: Record<string, string>; body: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      res.on("end", () => {
        const flat: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") flat[k] = v;
        const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        let at = 0;
        for (const c of chunks) body.set(c, (at += c.length) - c.length);
        resolve({ status: res.statusCode ?? 0, headers: flat, body });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The hashed script and style index.html names. */
function assetsOf(html: string): { script: string; style: string } {
  const script = /<script type="module" src="(app\.[A-Z0-9]{8}\.js)"><\/script>/.exec(html)?.[1];
  const style = /<link rel="stylesheet" href="(style\.[A-Z0-9]{8}\.css)">/.exec(html)?.[1];
  assert(script !== undefined && style !== undefined, `index.html names hashed files: ${html}`);
  return { script, style };
}

Deno.test("buildWebPage: every file of the minified page, gzip-compressed, fits in 80 KiB; SHA-512 is a chunk apart", async () => {
  const files = await buildWebPage({ minify: true });
  const gzip = gzipSizes(files);
  const total = Object.values(gzip).reduce((a, b) => a + b, 0);
  const { script } = assetsOf(files["/index.html"]);
  const entry = gzip[`/${script}`];
  console.log(
    `web page: ${Object.keys(files).length} files, ${(total / 1024).toFixed(1)} KiB gzip in all; ` +
      `${script} ${(new TextEncoder().encode(files[`/${script}`]).length / 1024).toFixed(1)} KiB, ` +
      `${(entry / 1024).toFixed(1)} KiB gzip`,
  );
  assert(total <= MAX_GZIP_BYTES, `the page is ${total} bytes gzip, more than ${MAX_GZIP_BYTES}`);
  // hash-wasm carries each algorithm as WebAssembly in base64 ("AGFzbQ" is "\0asm"), named "sha256" etc.:
  // the page has two, in chunks of their own that the page's script loads on demand only.
  const wasm = Object.keys(files).filter((path) => files[path].includes('"AGFzbQ'));
  const named = (algorithm: string) => wasm.filter((path) => files[path].includes(`"${algorithm}"`));
  assertEquals(wasm.length, 2, `two files carry WebAssembly: ${wasm}`);
  assertEquals(named("sha256").length, 1, `one carries SHA-256: ${wasm}`);
  assertEquals(named("sha512").length, 1, `one carries SHA-512: ${wasm}`);
  assert(named("sha256")[0] !== named("sha512")[0], "SHA-256 and SHA-512 are apart");
  for (const path of wasm) {
    const name = path.slice(1);
    for (const [other, content] of Object.entries(files)) {
      assert(
        !new RegExp(`(import|from) ?"\\./${name.replace(".", "\\.")}"`).test(content),
        `${other} imports ${name} statically`,
      );
    }
  }
  // Names come from contents: the same sources build the same names, other contents other names.
  const again = await buildWebPage({ minify: true });
  assertEquals(Object.keys(again).sort(), Object.keys(files).sort());
  assertEquals(again["/sw.js"], files["/sw.js"]);
});

Deno.test("withWebPage: hashed files are immutable for a year, index.html and sw.js no-cache, text sent gzip or br by Accept-Encoding", async () => {
  await using server = await startWebServer();
  const files = await webPageFiles();
  const index = await get(`${server.url}/`, { "accept-encoding": "gzip" });
  assertEquals(index.status, 200);
  assertEquals(index.headers["content-encoding"], "gzip");
  assertEquals(index.headers["cache-control"], "no-cache");
  assertEquals(index.headers["vary"], "Accept-Encoding");
  assertEquals(text(gunzipSync(index.body)), files["/index.html"]);
  const { script, style } = assetsOf(files["/index.html"]);
  for (const name of [script, style]) {
    const original = files[`/${name}`];
    const gz = await get(`${server.url}/${name}`, { "accept-encoding": "gzip, deflate" });
    assertEquals(gz.status, 200, name);
    assertEquals(gz.headers["cache-control"], "public, max-age=31536000, immutable", name);
    assertEquals(gz.headers["content-encoding"], "gzip", name);
    assertEquals(gz.headers["vary"], "Accept-Encoding", name);
    assertEquals(Number(gz.headers["content-length"]), gz.body.length, name);
    assert(gz.body.length < new TextEncoder().encode(original).length / 2, `${name} is compressed`);
    assertEquals(text(gunzipSync(gz.body)), original, name);
    const br = await get(`${server.url}/${name}`, { "accept-encoding": "gzip, deflate, br" });
    assertEquals(br.headers["content-encoding"], "br", name);
    assertEquals(text(brotliDecompressSync(br.body)), original, name);
    const preferGzip = await get(`${server.url}/${name}`, { "accept-encoding": "br;q=0.5, gzip" });
    assertEquals(preferGzip.headers["content-encoding"], "gzip", name);
    for (const accept of [undefined, "identity", "gzip;q=0, br;q=0"]) {
      const plain = await get(
        `${server.url}/${name}`,
        accept === undefined ? {} : { "accept-encoding": accept },
      );
      assertEquals(plain.headers["content-encoding"], undefined, `${name} with ${accept}`);
      assertEquals(plain.headers["vary"], "Accept-Encoding");
      assertEquals(text(plain.body), original, name);
    }
  }
  const sw = await get(`${server.url}/sw.js`, { "accept-encoding": "gzip" });
  assertEquals(sw.headers["cache-control"], "no-cache");
  assertStringIncludes(sw.headers["content-type"], "text/javascript");
  assertEquals(text(gunzipSync(sw.body)), files["/sw.js"]);
  // index.html is revalidated: its ETag answers 304 without a body.
  const again = await get(`${server.url}/?image=x`, {
    "accept-encoding": "gzip",
    "if-none-match": index.headers["etag"],
  });
  assertEquals(again.status, 304);
  assertEquals(again.body.length, 0);
  const head = await get(`${server.url}/${script}`, { "accept-encoding": "gzip" }, "HEAD");
  assertEquals(head.headers["content-encoding"], "gzip");
  assertEquals(head.body.length, 0);
  // The registry API is not the page's: no page caching headers there.
  const v2 = await get(`${server.url}/v2/`, { "accept-encoding": "gzip" });
  assert(v2.headers["cache-control"] !== "public, max-age=31536000, immutable");
});

/**
 * Waits (up to 15 s, checking every 50 ms) until a service worker controls the page and the Cache API holds
 * exactly `paths` in one cache; returns what it holds then (the last state seen when the time ran out).
 */
async function shellCached(page: Page, paths: string[]): Promise<{ caches: string[]; urls: string[] }> {
  return await page.evaluate(async (expected) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const names = await caches.keys();
      const urls: string[] = [];
      for (const name of names) {
        for (const request of await (await caches.open(name)).keys()) {
          urls.push(new URL(request.url).pathname);
        }
      }
      urls.sort();
      const done = navigator.serviceWorker.controller !== null && names.length === 1 &&
        JSON.stringify(urls) === JSON.stringify(expected);
      if (done || Date.now() > deadline) return { caches: names, urls };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }, paths);
}

/** The shell's paths as the worker stores them: `/` for the page, and the hashed files (the browser keeps sw.js). */
function shellPaths(files: WebPageFiles): string[] {
  return ["/", ...Object.keys(files).filter((p) => p !== "/index.html" && p !== "/sw.js")].sort();
}

Deno.test("web page: reloaded with the proxy stopped, the service worker opens the page and the layer seen before comes from IndexedDB", async () => {
  await using server = await startWebServer();
  const small = server.images.small;
  const layer = small.layers[0].digest;
  const files = await webPageFiles();
  await withChromium(async (browser) => {
    const url = `${server.url}/?image=${small.reference}&view=files&layer=${layer}`;
    const { page, errors, close } = await openPage(browser, url);
    try {
      await page.locator('[role=treeitem][data-path="etc"]').waitFor();
      await openPath(page, "etc/hostname");
      assertEquals(await viewedText(page), "tug-small\n");
      const cached = await shellCached(page, shellPaths(files));
      assertEquals(cached.caches.length, 1, `one shell cache: ${cached.caches}`);
      // Only the shell: no registry or proxy answer (/v2/…, /token, /upstreams) was stored.
      assertEquals(cached.urls, shellPaths(files));

      await server.stop();
      const down = await fetch(`${server.url}/`).then(() => "answered", () => "refused");
      assertEquals(down, "refused", "the proxy is down");
      await page.reload();
      await page.locator('[role=treeitem][data-path="etc"]').waitFor();
      assertStringIncludes(await page.locator(".facts .badge").innerText(), "offline");
      await openPath(page, "etc/os-release");
      assertEquals(await viewedText(page), 'ID=tug\nPRETTY_NAME="tug test image"\n');
      assertStringIncludes(await page.title(), "tug");
      assertEquals(errors.filter((e) => !e.includes("net::ERR_")), []);
    } finally {
      await close();
    }
  });
});

Deno.test("web page: a new build's service worker replaces the old shell, and the new page opens offline", async () => {
  await using server = await startWebServer();
  const first = await webPageFiles();
  // Another build (minified): other contents, so other hashed names and another sw.js.
  const second = await buildWebPage({ minify: true });
  const firstScript = assetsOf(first["/index.html"]).script;
  const secondScript = assetsOf(second["/index.html"]).script;
  assert(firstScript !== secondScript, "the two builds name their scripts apart");
  await withChromium(async (browser) => {
    const { page, errors, close } = await openPage(browser, `${server.url}/`);
    try {
      assertEquals((await shellCached(page, shellPaths(first))).urls, shellPaths(first));
      server.usePage(second);
      // The worker is fetched again on navigation (sw.js is no-cache); the new one takes over.
      await page.reload();
      const cached = await shellCached(page, shellPaths(second));
      assertEquals(cached.urls, shellPaths(second), "only the new build's shell is cached");
      assertEquals(cached.caches.length, 1, `the old cache was deleted: ${cached.caches}`);

      await server.stop();
      await page.reload();
      await page.locator("#image-input").waitFor();
      const loaded = await page.evaluate(() =>
        document.querySelector("script[type=module]")?.getAttribute("src")
      );
      assertEquals(loaded, secondScript, "offline, the page is the new build");
      assertEquals(errors.filter((e) => !e.includes("net::ERR_")), []);
    } finally {
      await close();
    }
  });
});

Deno.test("buildWebPage: the page bundles no proxy, puller or object-store code (its imports name modules, not src/mod.ts)", async () => {
  // esbuild names each source file in an unminified bundle (`// src/proxy/_blobs.ts`).
  const files = await buildWebPage({ minify: false });
  const sources = new Set<string>();
  for (const content of Object.values(files)) {
    for (const m of content.matchAll(/^\/\/ (src\/\S+\.ts)$/gm)) sources.add(m[1]);
  }
  assert(sources.has("src/image/decompress_layer.ts"), "the page's own sources are named");
  const foreign = [...sources].filter((s) =>
    s.startsWith("src/proxy/") || s.startsWith("src/pull/") || s.startsWith("src/store/object_")
  );
  assertEquals(foreign, [], "code the page never runs");
});
