/**
 * The page's IndexedDB cache: after a reload with the network to the proxy blocked, an image and a layer
 * opened before still open, from IndexedDB; after "Clear cache" they do not.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { openPage, saveScreenshot, withChromium } from "./browser/mod.ts";
import { openPath, startWebServer, viewedText } from "./_web.ts";

Deno.test("web page: reloaded with the proxy blocked, a layer seen before comes from IndexedDB; Clear cache forgets it", async () => {
  await using server = await startWebServer();
  const small = server.images.small;
  const layer = small.layers[0].digest;
  await withChromium(async (browser) => {
    const url = `${server.url}/?image=${small.reference}&view=files&layer=${layer}`;
    const { page, errors, close } = await openPage(browser, url);
    try {
      await page.locator('[role=treeitem][data-path="etc"]').waitFor();
      await openPath(page, "etc/hostname");
      assertEquals(await viewedText(page), "tug-small\n");

      const blocked: string[] = [];
      const block = (route: { request(): { url(): string }; abort(): Promise<void> }) => {
        blocked.push(new URL(route.request().url()).pathname);
        return route.abort();
      };
      await page.route(`${server.url}/v2/**`, block);
      await page.route(`${server.url}/token**`, block);
      const seen = server.requests.length;
      await page.reload();
      await page.locator('[role=treeitem][data-path="etc"]').waitFor();
      assertStringIncludes(await page.locator(".facts .badge").innerText(), "offline");
      await openPath(page, "etc/os-release");
      assertEquals(await viewedText(page), 'ID=tug\nPRETTY_NAME="tug test image"\n');
      assertEquals(server.requests.slice(seen), [], "the proxy saw no request after the reload");
      assert(
        blocked.some((p) => p.endsWith("/manifests/v1")),
        `the page asked for the tag first: ${blocked}`,
      );
      assert(!blocked.some((p) => p.includes("/blobs/")), `no blob was asked for: ${blocked}`);
      await saveScreenshot(page, "web-offline", { fullPage: true });

      // Clear the cache: the same view now needs the network, which is still blocked.
      await page.click("#settings summary");
      await page.locator("#cache-usage", { hasText: "blobs" }).waitFor();
      assert(!(await page.locator("#cache-usage").innerText()).startsWith("0 blobs"), "something was cached");
      await page.click("#clear-cache");
      await page.locator("#cache-usage", { hasText: "0 blobs" }).waitFor();
      await page.reload();
      await page.locator(".error[role=alert] h2", { hasText: "Cannot reach" }).waitFor();
      assertEquals(errors.filter((e) => !e.includes("net::ERR_FAILED")), []);
    } finally {
      await close();
    }
  });
});
