/**
 * Navigation on the page (issue L item 12): copy buttons, a link pinned to the digest, media types linked to
 * their specifications, `org.opencontainers.image.source` as a link, symlinks that can be followed, and
 * each layer's `created_by` in the layers table.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { openPage, withChromium } from "./browser/mod.ts";
import { startWebServer, viewedText } from "./_web.ts";
import { buildImage, pushImage, pushManifest, sharedRegistry } from "./harness/mod.ts";

Deno.test("web page: the head copies the digest and links the reference pinned to it; layers show their step and spec", async () => {
  await using server = await startWebServer();
  const small = server.images.small;
  await withChromium(async (browser) => {
    const context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
    const { page, errors, close } = await openPage(browser, `${server.url}/?image=${small.reference}`, {
      context,
    });
    try {
      const rows = page.locator("tr[data-layer]");
      await rows.first().waitFor();
      await page.click('button.copy[aria-label="Copy the digest"]');
      await page.locator('button.copy[aria-label="Copy the digest"]', { hasText: "Copied" }).waitFor();
      assertEquals(await page.evaluate("navigator.clipboard.readText()"), small.manifestDigest);

      assertStringIncludes(await rows.nth(1).innerText(), "rm /etc/motd && mkdir /app");
      assertStringIncludes(await rows.first().locator(".created-by").innerText(), "ADD file:base");
      const spec = await rows.first().locator("td.mediatype a").getAttribute("href");
      assert(spec?.endsWith("/manifest-v2-2.md"), `the media type links to its spec: ${spec}`);

      const name = small.reference.slice(0, small.reference.lastIndexOf(":"));
      const pinned = `${name}@${small.manifestDigest}`;
      assertEquals(await page.locator("a.pinned").innerText(), pinned);
      await page.click("a.pinned");
      await page.locator("tr[data-layer]").first().waitFor();
      assertEquals(new URL(page.url()).searchParams.get("image"), pinned);
      assertEquals(await page.locator("tr[data-layer]").count(), 3);
      assertEquals(errors, []);
    } finally {
      await close();
      await context.close();
    }
  });
});

Deno.test("web page: a symlink is followed to its target, and the source label is a link", async () => {
  const { registry } = await sharedRegistry();
  await pushImage(
    registry,
    "l-web/source",
    await buildImage({
      layers: [{ entries: [{ path: "x", content: "x\n" }] }],
      config: {
        Labels: {
          "org.opencontainers.image.source": "https://example.com/src",
          "dev.tug.note": "https://no",
        },
      },
    }),
    "v1",
  );
  await using server = await startWebServer();
  const small = server.images.small;
  await withChromium(async (browser) => {
    const url = `${server.url}/?image=${small.reference}&view=files&layer=${
      small.layers[0].digest
    }&path=bin/hi`;
    const { page, errors, close } = await openPage(browser, url);
    try {
      const follow = page.locator("#file-view a.follow");
      await follow.waitFor();
      assertEquals(await follow.innerText(), "hello");
      await follow.click();
      await page.locator("#file-view h2.path", { hasText: "/bin/hello" }).waitFor();
      assertEquals(await viewedText(page), "#!/bin/sh\necho hello from tug\n");
      assertEquals(new URL(page.url()).searchParams.get("path"), "bin/hello");

      await page.goto(`${server.url}/?image=${server.registryHost}/l-web/source:v1&view=config`);
      const link = page.locator(".config table.kv a", { hasText: "https://example.com/src" });
      await link.waitFor();
      assertEquals(await link.getAttribute("href"), "https://example.com/src");
      assertEquals(await page.locator(".config table.kv a", { hasText: "https://no" }).count(), 0);
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});

Deno.test("web page: the tag list of a repository opens a page of 50 tags, then the next page", async () => {
  const { registry } = await sharedRegistry();
  const image = await buildImage({ layers: [{ entries: [{ path: "t", content: "t\n" }] }] });
  await pushImage(registry, "l-web/tags", image, "t000");
  const tags = Array.from({ length: 55 }, (_, i) => `t${String(i).padStart(3, "0")}`);
  for (const tag of tags.slice(1)) {
    await pushManifest(registry, "l-web/tags", tag, image.manifestBytes, image.manifestMediaType);
  }
  await using server = await startWebServer();
  await withChromium(async (browser) => {
    const { page, errors, close } = await openPage(
      browser,
      `${server.url}/?image=${server.registryHost}/l-web/tags:t007`,
    );
    try {
      await page.locator("tr[data-layer]").first().waitFor();
      await page.click("details.tags summary");
      const links = page.locator(".tag-list a");
      await page.locator(".tags [role=status]", { hasText: "50 tags so far" }).waitFor();
      assertEquals(await links.count(), 50);
      assertEquals(await page.locator('.tag-list a[aria-current="true"]').innerText(), "t007");
      await page.click("button.more-tags");
      await page.locator(".tags [role=status]", { hasText: "55 tags." }).waitFor();
      assertEquals(await links.allInnerTexts(), tags);
      assert(server.requests.some((r) => r.includes("/tags/list")), "the list came through the proxy");
      await links.nth(54).click();
      await page.locator("tr[data-layer]").first().waitFor();
      assertStringIncludes(new URL(page.url()).searchParams.get("image")!, "l-web/tags:t054");
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});
