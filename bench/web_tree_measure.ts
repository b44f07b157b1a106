/**
 * Measures (by hand; not a test) the file tree's filter in Chromium on a synthetic layer of 100,000 entries
 * in one folder: the time each keystroke takes (search of the index + building the rows in sight), and the
 * rows in the DOM. The same page script as test/web_large_tree_test.ts.
 *
 * ```sh
 * deno run -A bench/web_tree_measure.ts [ENTRIES]
 * ```
 *
 * @module
 */

import { bundleForBrowser, openPage, runPageModule, serveStatic, withChromium } from "../test/browser/mod.ts";

const files = Number(Deno.args[0] ?? 100_000);
const style = await Deno.readTextFile(new URL("../web/style.css", import.meta.url));
await using server = await serveStatic({
  "/index.html": `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tree</title>` +
    `<link rel="stylesheet" href="/style.css"></head><body></body></html>`,
  "/style.css": style,
  "/tree_page.js": await bundleForBrowser(new URL("../test/browser/tree_page.ts", import.meta.url)),
});
await withChromium(async (browser) => {
  const { page, close } = await openPage(browser, `${server.origin}/`, {
    viewport: { width: 1280, height: 800 },
  });
  try {
    const mounted = await runPageModule<{ rows: number; ms: number }>(page, "/tree_page.js", "mountTree", {
      files,
    });
    console.log(`tree of ${files} entries built and shown in ${mounted.ms.toFixed(0)} ms`);
    // Let the idle-time index build run, as it would while the user reads the tree.
    await page.waitForTimeout(500);
    const typed = ["f09", "9", "9", "9", "\b", "\b", "\b", "\b", "\b"];
    for (const key of typed) {
      if (key === "\b") await page.locator("#tree-filter").press("Backspace");
      else await page.locator("#tree-filter").pressSequentially(key);
    }
    const stats = await runPageModule<{ domRows: number; keystrokeMs: number[] }>(
      page,
      "/tree_page.js",
      "treeStats",
    );
    const sorted = [...stats.keystrokeMs].sort((a, b) => a - b);
    console.log(`keystrokes (ms): ${stats.keystrokeMs.map((ms) => ms.toFixed(1)).join(", ")}`);
    console.log(
      `median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms; ` +
        `${stats.domRows} rows in the DOM`,
    );
  } finally {
    await close();
  }
});
