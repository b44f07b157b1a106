/**
 * The page through a proxy whose default upstream is not Docker Hub: a name without a host goes where the
 * proxy's own rule sends it (its default upstream), and the start page says which registries the proxy
 * serves (`GET /upstreams`).
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { openPage, withChromium } from "./browser/mod.ts";
import { openPath, startWebServer, viewedText } from "./_web.ts";
import { buildImage, pushImage, sharedRegistry } from "./harness/mod.ts";

/** Pushes a one-layer image as `small:latest` (a single-component name) into the shared registry. */
async function pushShortName(): Promise<void> {
  const { registry } = await sharedRegistry();
  const image = await buildImage({
    layers: [{ entries: [{ path: "etc/hostname", content: "short-name\n" }] }],
  });
  await pushImage(registry, "small", image, "latest");
}

Deno.test("web page: /?image=small:latest through a proxy opens the default upstream's small, not Docker Hub's", async () => {
  await pushShortName();
  await using server = await startWebServer();
  await withChromium(async (browser) => {
    const { page, errors, close } = await openPage(browser, `${server.url}/?image=small:latest`);
    try {
      const rows = page.locator("tr[data-layer]");
      await rows.first().waitFor();
      assertEquals(await rows.count(), 1);
      await rows.locator("a").first().click();
      await openPath(page, "etc/hostname");
      assertEquals(await viewedText(page), "short-name\n");
      assert(
        server.requests.every((r) => !r.includes("/library/")),
        `no request named Docker Hub's library/: ${server.requests}`,
      );
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});

Deno.test("web page: the start page lists the proxy's registries and only examples that open on it", async () => {
  await pushShortName();
  await using server = await startWebServer();
  await withChromium(async (browser) => {
    const { page, errors, close } = await openPage(browser, `${server.url}/`);
    try {
      const list = page.locator(".upstream-list li");
      await list.first().waitFor();
      assertEquals(await list.count(), 1);
      const text = await list.first().innerText();
      assertStringIncludes(text, server.registryHost);
      assertStringIncludes(text, "default");
      assertStringIncludes(await page.locator(".home").innerText(), `opens from ${server.registryHost}`);
      // Docker Hub is not an upstream here: its images would be refused, so none is offered.
      assertEquals(await page.locator(".examples a").count(), 0);
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});
