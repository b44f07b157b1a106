/**
 * Measures (once, by hand; not a test) how long the page takes to list the files of the large image's
 * 64 MiB layer in Chromium, and the peak JS heap meanwhile: first from the registry through the proxy
 * (downloaded, verified, cached in IndexedDB), then again from IndexedDB after a reload.
 *
 * ```sh
 * deno run -A bench/web_measure.ts
 * ```
 *
 * @module
 */

import { openPage, withChromium } from "../test/browser/mod.ts";
import type { Browser, Page } from "../test/browser/mod.ts";
import { startWebServer } from "../test/_web.ts";

const MiB = 1024 * 1024;

/** Resident memory of the browser's renderer processes (ArrayBuffers live outside the JS heap). */
async function rendererRss(browser: Browser): Promise<number> {
  const session = await browser.newBrowserCDPSession();
  try {
    const info = (await session.send("SystemInfo.getProcessInfo")) as {
      processInfo: Array<{ type: string; id: number }>;
    };
    let max = 0;
    for (const p of info.processInfo.filter((p) => p.type === "renderer")) {
      const status = await Deno.readTextFile(`/proc/${p.id}/status`).catch(() => "");
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      max = Math.max(max, kb * 1024);
    }
    return max;
  } finally {
    await session.detach();
  }
}

async function measure(browser: Browser, page: Page, label: string): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("HeapProfiler.enable");
  await cdp.send("HeapProfiler.collectGarbage");
  const base = (await cdp.send("Runtime.getHeapUsage")) as { usedSize: number; totalSize: number };
  let peak = base.usedSize;
  let peakTotal = base.totalSize;
  const rssBase = await rendererRss(browser);
  let rssPeak = rssBase;
  let polling = true;
  const poll = (async () => {
    while (polling) {
      rssPeak = Math.max(rssPeak, await rendererRss(browser));
      const usage = (await cdp.send("Runtime.getHeapUsage")) as { usedSize: number; totalSize: number };
      peak = Math.max(peak, usage.usedSize);
      peakTotal = Math.max(peakTotal, usage.totalSize);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const started = performance.now();
  await page.locator("tr[data-layer] a").first().click();
  await page.locator('[role=treeitem][data-path="data/random.bin"]').waitFor({ timeout: 300_000 });
  const ms = performance.now() - started;
  polling = false;
  await poll;
  console.log(
    `${label}: ${(ms / 1000).toFixed(2)} s; JS heap used ${(base.usedSize / MiB).toFixed(1)} MiB before, ` +
      `peak ${(peak / MiB).toFixed(1)} MiB (+${((peak - base.usedSize) / MiB).toFixed(1)} MiB), ` +
      `peak heap size ${(peakTotal / MiB).toFixed(1)} MiB; renderer RSS ${
        (rssBase / MiB).toFixed(0)
      } MiB before, ` +
      `peak ${(rssPeak / MiB).toFixed(0)} MiB`,
  );
  await cdp.detach();
}

await using server = await startWebServer();
const large = server.images.large;
await withChromium(async (browser) => {
  const { page, errors, close } = await openPage(browser, `${server.url}/?image=${large.reference}`, {
    timeoutMs: 300_000,
  });
  try {
    await page.locator("tr[data-layer]").waitFor();
    await measure(browser, page, "registry → proxy → page (verify + IndexedDB write + gunzip + tar)");
    await page.goto(`${server.url}/?image=${large.reference}`);
    await page.locator("tr[data-layer]").waitFor();
    await measure(browser, page, "IndexedDB → page (kept listing, blob not read)");
    if (errors.length > 0) console.log("page errors:", errors);
  } finally {
    await close();
  }
});
