/**
 * The stores in a real browser: Debian's Chromium runs the store contract against {@linkcode IdbStore}
 * (and {@linkcode MemoryStore}, for comparison), the IndexedDB-specific cases (chunking, eviction, sweep,
 * clear) and a page reload that must find blobs, references and partial writes still there.
 *
 * @module
 */

import { assert } from "./_assert.ts";
import {
  bundleForBrowser,
  openPage,
  type PageCaseResult,
  runPageModule,
  serveStatic,
  stepResults,
  testPage,
  withChromium,
} from "./browser/mod.ts";
import type { Page } from "./browser/mod.ts";

let bundle: Promise<string> | undefined;

/** Serves the store page, opens it in a fresh Chromium, runs `fn`, and closes everything. */
async function onStorePage<T>(fn: (page: Page) => Promise<T>): Promise<T> {
  bundle ??= bundleForBrowser(new URL("./browser/store_page.ts", import.meta.url));
  await using server = await serveStatic({
    "/index.html": testPage("tug store tests"),
    "/store_page.js": await bundle,
  });
  return await withChromium(async (browser) => {
    const opened = await openPage(browser, `${server.origin}/`);
    try {
      const result = await fn(opened.page);
      assert(opened.errors.length === 0, `the page logged errors:\n${opened.errors.join("\n")}`);
      return result;
    } finally {
      await opened.close();
    }
  });
}

function contract(options: { kind: "idb" | "memory"; chunkSize?: number }) {
  return onStorePage((page) =>
    runPageModule<PageCaseResult[]>(page, "/store_page.js", "runContract", options, { timeoutMs: 120_000 })
  );
}

Deno.test("IdbStore passes the store contract in Chromium", async (t) => {
  await stepResults(t, await contract({ kind: "idb" }));
});

Deno.test("IdbStore with 4099-byte chunks passes the store contract in Chromium", async (t) => {
  await stepResults(t, await contract({ kind: "idb", chunkSize: 4099 }));
});

Deno.test("MemoryStore passes the store contract in Chromium", async (t) => {
  await stepResults(t, await contract({ kind: "memory" }));
});

Deno.test("IdbStore in Chromium: chunking, eviction, sweep, clear", async (t) => {
  const results = await onStorePage((page) =>
    runPageModule<PageCaseResult[]>(page, "/store_page.js", "runIdbCases", undefined, { timeoutMs: 120_000 })
  );
  await stepResults(t, results);
});

Deno.test("IdbStore in Chromium keeps blobs, references and partial writes across a page reload", async (t) => {
  const name = `test-persist-${Date.now()}`;
  const results = await onStorePage(async (page) => {
    await runPageModule(page, "/store_page.js", "persistWrite", name, { timeoutMs: 30_000 });
    // Same origin, same browser context: a reload drops every object in the page, IndexedDB stays.
    await page.reload({ waitUntil: "load" });
    return await runPageModule<PageCaseResult[]>(page, "/store_page.js", "persistRead", name, {
      timeoutMs: 30_000,
    });
  });
  await stepResults(t, results);
});
