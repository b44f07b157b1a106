/**
 * Helpers for the web page tests (test/web_*_test.ts): the built page served by tug's proxy at `/` in
 * front of the harness's real registry, and small Playwright steps the tests share.
 *
 * @module
 */

import { createProxy } from "../src/proxy/create_proxy.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";
import { serveDeno } from "../adapters/serve/deno.ts";
import { withWebPage } from "../adapters/serve/with_web_page.ts";
import { buildWebPage, type WebPageFiles } from "../web/build.ts";
import { sharedRegistry } from "./harness/mod.ts";
import type { SeededImages } from "./harness/mod.ts";
import type { Page } from "./browser/mod.ts";

let built: Promise<WebPageFiles> | undefined;

/** The page built once per test process (not minified, with a source map: readable page errors). */
export function webPageFiles(): Promise<WebPageFiles> {
  built ??= buildWebPage({ minify: false, sourcemap: true });
  built.catch(() => built = undefined);
  return built;
}

/** tug's proxy serving the page at `/`, in front of the shared registry. */
export interface WebServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`: open `${url}/?image=…`. */
  readonly url: string;
  /** The seeded images; their `reference` names the registry host, which the proxy serves as an upstream. */
  readonly images: SeededImages;
  /** The registry's `host:port`. */
  readonly registryHost: string;
  /** `/v2/…` paths the proxy was asked for, in order. */
  readonly requests: string[];
  /** Serves another build of the page from now on (a new deploy), the proxy and its cache unchanged. */
  usePage(files: WebPageFiles): void;
  /** Stops the server (the proxy goes down); disposing it afterwards does nothing more. */
  stop(): Promise<void>;
}

/** Starts the proxy (memory cache, CORS for any origin) with the page, upstream = the shared registry. */
export async function startWebServer(): Promise<WebServer> {
  const { registry, images } = await sharedRegistry();
  const proxy = createProxy({
    store: new MemoryStore(),
    upstreams: { harness: registry.url },
    defaultUpstream: "harness",
    hasher: nodeHasher,
    allowOrigins: "*",
  });
  const requests: string[] = [];
  let page = withWebPage(proxy, { files: await webPageFiles() });
  const server = await serveDeno({
    fetch(request: Request) {
      const { pathname } = new URL(request.url);
      if (pathname.startsWith("/v2/")) requests.push(`${request.method} ${pathname}`);
      return page.fetch(request);
    },
  }, { hostname: "127.0.0.1", port: 0 });
  let stopped: Promise<void> | undefined;
  const stop = () => stopped ??= server.shutdown();
  return {
    url: server.url,
    images,
    registryHost: registry.host,
    requests,
    usePage(files) {
      page = withWebPage(proxy, { files });
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Opens `image` by deep link and waits until its layers table shows. */
export async function openImage(page: Page, base: string, query: string): Promise<void> {
  await page.goto(`${base}/${query}`);
}

/** Clicks through the tree to `path` (opening each parent directory) and waits for the file viewer. */
export async function openPath(page: Page, path: string): Promise<void> {
  const parts = path.split("/");
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join("/");
    const row = page.locator(`[role=treeitem][data-path="${dir}"]`);
    if ((await row.getAttribute("aria-expanded")) !== "true") await row.click();
  }
  await page.locator(`[role=treeitem][data-path="${path}"]`).click();
  await page.locator("#file-view h2.path", { hasText: `/${path}` }).waitFor();
}

/** The text the file viewer shows for the open file. */
export async function viewedText(page: Page): Promise<string> {
  const pre = page.locator("#file-view pre.file-text");
  await pre.waitFor();
  return await pre.innerText();
}
