/**
 * The layer browser on the 64 MiB layer of the large image: a progress bar with Cancel while it streams
 * (network slowed down through the DevTools protocol), a frame that does not move, and the listing once read.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { openPage, saveScreenshot, withChromium } from "./browser/mod.ts";
import { startWebServer } from "./_web.ts";

Deno.test("web page: the 64 MiB layer streams with a progress bar and Cancel, without moving the page", async () => {
  await using server = await startWebServer();
  const large = server.images.large;
  const layer = large.layers[0];
  await withChromium(async (browser) => {
    const url = `${server.url}/?image=${large.reference}&view=files&layer=${layer.digest}`;
    const { page, errors, close } = await openPage(browser, `${server.url}/?image=${large.reference}`);
    try {
      await page.locator("tr[data-layer]").waitFor();
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("Network.enable");
      // 4 MB/s: the 64 MiB layer takes ~16 s, long enough to look at the progress and cancel.
      await cdp.send("Network.emulateNetworkConditions", {
        offline: false,
        latency: 0,
        downloadThroughput: 4 * 1024 * 1024,
        uploadThroughput: 4 * 1024 * 1024,
      });
      await page.goto(url);
      const progress = page.locator(".progress.active");
      await progress.waitFor();
      const bar = page.locator(".progress progress");
      const box = async () => await page.locator(".tree-box").boundingBox();
      const before = await box();
      // Wait for some bytes to show.
      for (let i = 0; i < 100 && Number(await bar.getAttribute("value") ?? "0") === 0; i++) {
        await page.waitForTimeout(100);
      }
      const value = Number(await bar.evaluate((el) => (el as unknown as { value: number }).value));
      assert(value > 0 && value < layer.size, `the bar shows part of the layer: ${value} of ${layer.size}`);
      assertMatch(
        await page.locator(".progress-text").innerText(),
        /^Downloading and verifying: .* of 6\d\.\d MiB/,
      );
      await saveScreenshot(page, "web-streaming");
      assertEquals(await box(), before, "the tree box keeps its place while streaming");
      await page.click(".progress .cancel");
      await page.locator(".tree-box .error h2", { hasText: "Stopped" }).waitFor();
      assertEquals(await page.locator(".progress.active").count(), 0);
      assertEquals(await box(), before, "and after cancelling");

      await cdp.send("Network.emulateNetworkConditions", {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
      await page.click(".tree-box button", { timeout: 5_000 });
      const file = page.locator('[role=treeitem][data-path="data/random.bin"]');
      await file.waitFor({ timeout: 120_000 });
      assertStringIncludes(await file.innerText(), "64.0 MiB");
      assertEquals(await box(), before, "and with the tree shown");
      await file.click();
      await page.locator("#file-view .note", { hasText: "Binary file of 64.0 MiB" }).waitFor({
        timeout: 60_000,
      });
      assertStringIncludes(await page.locator("#file-view pre.hex").innerText(), "00000000  ");
      await saveScreenshot(page, "web-hex");
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});
