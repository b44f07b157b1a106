/**
 * The inspection page in headless Chromium, served by tug's proxy at `/` in front of the harness's real
 * registry: deep links, the layer table, the layer browser (tree, viewer, downloads, keyboard), the merged
 * view, multi-platform indexes, zstd layers, and errors in words. Screenshots go to test/artifacts/.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { openPage, saveScreenshot, withChromium } from "./browser/mod.ts";
import { openPath, startWebServer, viewedText } from "./_web.ts";

Deno.test("web page: a deep link opens the small image and shows its three layers", async () => {
  await using server = await startWebServer();
  const small = server.images.small;
  await withChromium(async (browser) => {
    const { page, errors, close } = await openPage(browser, `${server.url}/?image=${small.reference}`);
    try {
      const rows = page.locator("tr[data-layer]");
      await rows.nth(2).waitFor();
      assertEquals(
        await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-layer"))),
        small.layers.map((l) => l.digest),
      );
      const text = await page.locator(".layers").innerText();
      for (const layer of small.layers) assertStringIncludes(text, layer.diffId.slice(7, 19));
      assertStringIncludes(text, small.layers[0].mediaType);
      await saveScreenshot(page, "web-layers", { fullPage: true });
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});

Deno.test("web page: opening a layer lists its files, shows one and downloads it", async () => {
  await using server = await startWebServer();
  const small = server.images.small;
  await withChromium(async (browser) => {
    const { page, errors, close } = await openPage(browser, `${server.url}/?image=${small.reference}`);
    try {
      await page.locator("tr[data-layer] a").first().click();
      await page.locator('[role=treeitem][data-path="etc"]').waitFor();
      assert(
        new URL(page.url()).searchParams.get("layer") === small.layers[0].digest,
        "the URL names the layer",
      );
      const files = small.layers[0].files;
      assertStringIncludes(await page.locator(".progress-text").innerText(), `${files.length} entries`);
      await openPath(page, "etc/hostname");
      assertEquals(await viewedText(page), "tug-small\n");
      assertEquals(new URL(page.url()).searchParams.get("path"), "etc/hostname");
      await saveScreenshot(page, "web-files", { fullPage: true });
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-file")]);
      assertEquals(download.suggestedFilename(), "hostname");
      const saved = await download.path();
      assertEquals(await Deno.readTextFile(saved), "tug-small\n");
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});
