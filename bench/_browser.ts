/**
 * The browser pair: in headless Chromium, listing the files of a gzip layer with tug's `listLayerFiles` vs
 * draining a bare `DecompressionStream` over the same blob, with the JS heap sampled through the DevTools
 * protocol (`Runtime.getHeapUsage` every 20 ms; garbage collected before each run, so the figure is what
 * the run itself holds at its peak).
 *
 * @module
 */

import { bundleForBrowser, openPage, serveStatic, testPage, withChromium } from "../test/browser/mod.ts";
import type { Page } from "../test/browser/mod.ts";
import type { Contender, PairResult, Sample } from "./_measure.ts";
import { runPair } from "./_measure.ts";

type Cdp = Awaited<ReturnType<ReturnType<Page["context"]>["newCDPSession"]>>;

async function heapUsed(cdp: Cdp): Promise<number> {
  const { usedSize } = await cdp.send("Runtime.getHeapUsage") as { usedSize: number };
  return usedSize;
}

/** Runs `fn` in the page while sampling the heap; returns the sample with the peak heap growth. */
async function measured(page: Page, cdp: Cdp, fn: "tug" | "native", blobSize: number): Promise<Sample> {
  await cdp.send("HeapProfiler.collectGarbage");
  const base = await heapUsed(cdp);
  let peak = base;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        peak = Math.max(peak, await heapUsed(cdp));
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    const r = await page.evaluate(
      (name) =>
        (globalThis as unknown as Record<string, Record<string, () => Promise<Record<string, number>>>>)
          .tugBench[name](),
      fn,
    );
    const seconds = r.ms / 1000;
    return {
      wall: seconds,
      extra: {
        heapPeakMB: (peak - base) / 1e6,
        throughputMBs: blobSize / 1e6 / seconds,
        ...(fn === "tug" ? { entries: r.entries } : { tarBytes: r.bytes }),
      },
    };
  } finally {
    sampling = false;
    await sampler;
  }
}

/** (d) Runs the browser pair over the gzip layer at `layerPath`. */
export async function browserPair(
  layerPath: string,
  options: { rounds: number; warmup: number; log: (line: string) => void },
): Promise<PairResult[]> {
  const bytes = await Deno.readFile(layerPath);
  await using server = await serveStatic({
    "/index.html": testPage("tug bench"),
    "/bench.js": await bundleForBrowser(new URL("./_browser_page.ts", import.meta.url), { sourcemap: false }),
    "/layer.tar.gz": { body: bytes, type: "application/octet-stream" },
  });
  return await withChromium(async (browser) => {
    const { page, close } = await openPage(browser, `${server.origin}/`, { timeoutMs: 600_000 });
    try {
      await page.addScriptTag({ url: "/bench.js", type: "module" });
      await page.waitForFunction(() => "tugBench" in globalThis, undefined, { timeout: 30_000 });
      const size = await page.evaluate(
        (url) =>
          (globalThis as unknown as { tugBench: { load(u: string): Promise<number> } }).tugBench.load(url),
        `${server.origin}/layer.tar.gz`,
      );
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("HeapProfiler.enable");
      const a: Contender = { label: "tug listLayerFiles", run: () => measured(page, cdp, "tug", size) };
      const b: Contender = { label: "DecompressionStream", run: () => measured(page, cdp, "native", size) };
      return await runPair("browser: list a gzip layer", a, b, options);
    } finally {
      await close();
    }
  });
}
