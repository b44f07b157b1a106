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

Deno.test("web page: the tree works from the keyboard (arrows open folders, Enter shows a file)", async () => {
  await using server = await startWebServer();
  const small = server.images.small;
  await withChromium(async (browser) => {
    const url = `${server.url}/?image=${small.reference}&view=files&layer=${small.layers[0].digest}`;
    const { page, errors, close } = await openPage(browser, url);
    try {
      const first = page.locator('[role=treeitem][data-path="bin"]');
      await first.waitFor();
      await first.focus();
      // bin/ → etc/ (down), open it (right), into its first child (right), then Enter.
      await page.keyboard.press("ArrowDown");
      await page.keyboard.press("ArrowRight");
      assertEquals(
        await page.locator('[role=treeitem][data-path="etc"]').getAttribute("aria-expanded"),
        "true",
      );
      await page.keyboard.press("ArrowRight");
      await page.keyboard.press("Enter");
      await page.locator("#file-view h2.path", { hasText: "/etc/hostname" }).waitFor();
      assertEquals(await viewedText(page), "tug-small\n");
      assertEquals(
        await page.locator("[role=treeitem]:focus").getAttribute("data-path"),
        "etc/hostname",
        "focus stays on the row",
      );
      // Left goes to the parent, Left again closes it.
      await page.keyboard.press("ArrowLeft");
      await page.keyboard.press("ArrowLeft");
      assertEquals(
        await page.locator('[role=treeitem][data-path="etc"]').getAttribute("aria-expanded"),
        "false",
      );
      assertEquals(
        await page.locator('[role=treeitem][tabindex="0"]').count(),
        1,
        "one row in the tab order",
      );
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});

Deno.test("web page: the filter box narrows the tree to matching paths, and a long PAX path opens", async () => {
  await using server = await startWebServer();
  const small = server.images.small;
  const long = small.layers[0].files.find((f) => f.path.length > 100)!;
  await withChromium(async (browser) => {
    const url = `${server.url}/?image=${small.reference}&view=files&layer=${small.layers[0].digest}`;
    const { page, errors, close } = await openPage(browser, url);
    try {
      await page.locator('[role=treeitem][data-path="etc"]').waitFor();
      await page.fill("#tree-filter", "and-a-long-file");
      const rows = page.locator("[role=treeitem]");
      await rows.first().waitFor();
      assertEquals(await rows.count(), 1);
      assertEquals(await rows.first().getAttribute("data-path"), long.path);
      await rows.first().click();
      assertEquals(await viewedText(page), "long path\n");
      assertEquals(new URL(page.url()).searchParams.get("filter"), "and-a-long-file");
      await page.fill("#tree-filter", "no-such-name");
      await page.locator(".tree .empty", { hasText: "No path contains" }).waitFor();
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});

Deno.test("web page: the merged view applies the whiteout and marks each file's layer", async () => {
  await using server = await startWebServer();
  const small = server.images.small;
  await withChromium(async (browser) => {
    const url = `${server.url}/?image=${small.reference}&view=files&layer=merged&path=app/config.json`;
    const { page, errors, close } = await openPage(browser, url);
    try {
      const config = page.locator('[role=treeitem][data-path="app/config.json"]');
      await config.waitFor();
      assertEquals(await config.locator(".layer").innerText(), `#3 ${small.layers[2].digest.slice(7, 14)}`);
      assertEquals(await viewedText(page), '{"greeting":"hello"}\n');
      assertEquals(
        await page.locator('[role=treeitem][data-path="app/data.txt"] .layer').innerText(),
        `#2 ${small.layers[1].digest.slice(7, 14)}`,
      );
      await page.locator('[role=treeitem][data-path="etc"]').click();
      await page.locator('[role=treeitem][data-path="etc/hostname"]').waitFor();
      assertEquals(
        await page.locator('[role=treeitem][data-path="etc/motd"]').count(),
        0,
        "etc/motd is whited out",
      );
      // A hard link shows the content of the file it links to.
      await page.locator('[role=treeitem][data-path="app/data-link.txt"]').click();
      assertEquals(await viewedText(page), "data shared by a hard link\n");
      await saveScreenshot(page, "web-merged", { fullPage: true });
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});

Deno.test("web page: config and history views show what the image runs and how it was built", async () => {
  await using server = await startWebServer();
  const small = server.images.small;
  await withChromium(async (browser) => {
    const { page, errors, close } = await openPage(
      browser,
      `${server.url}/?image=${small.reference}&view=config`,
    );
    try {
      const config = page.locator(".config");
      await config.waitFor();
      const text = await config.innerText();
      for (
        const want of [
          '["/bin/hello"]',
          '["--greet","world"]',
          "/app",
          "1000:1000",
          "8080/tcp",
          "TUG_FIXTURE",
          "org.opencontainers.image.title",
          "tug-small",
        ]
      ) {
        assertStringIncludes(text, want);
      }
      await saveScreenshot(page, "web-config", { fullPage: true });
      await page.click('a[data-view="history"]');
      const history = page.locator("table.history");
      await history.waitFor();
      assertEquals(await history.locator("tbody tr").count(), 5);
      assertEquals(await history.locator("tr.empty-layer").count(), 2);
      assertStringIncludes(await history.innerText(), "rm /etc/motd && mkdir /app");
      assertEquals(new URL(page.url()).searchParams.get("view"), "history");
      await saveScreenshot(page, "web-history", { fullPage: true });
      await page.click('a[data-view="manifest"]');
      const links = page.locator("pre.json a.digest");
      await links.first().waitFor();
      assertEquals(await links.count(), 4, "config and three layer digests are links");
      await links.nth(1).click();
      await page.locator('[role=treeitem][data-path="etc"]').waitFor();
      assertEquals(new URL(page.url()).searchParams.get("layer"), small.layers[0].digest);
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});

Deno.test("web page: picking linux/arm64/v8 from the multi-platform index shows that image's files", async () => {
  await using server = await startWebServer();
  const multi = server.images.multi;
  const arm = multi.images["linux/arm64/v8"];
  await withChromium(async (browser) => {
    const { page, errors, close } = await openPage(browser, `${server.url}/?image=${multi.reference}`);
    try {
      const picker = page.locator(".platforms");
      await picker.waitFor();
      assertStringIncludes(await picker.innerText(), "linux/amd64");
      assertStringIncludes(await picker.innerText(), "attestation for linux/amd64");
      assertEquals(
        await picker.locator('li[data-kind="attestation"] a').count(),
        0,
        "an attestation is not picked",
      );
      await saveScreenshot(page, "web-platforms", { fullPage: true });
      await page.click('a[data-platform="linux/arm64/v8"]');
      await page.locator("tr[data-layer]").first().waitFor();
      assertEquals(new URL(page.url()).searchParams.get("platform"), "linux/arm64/v8");
      assertEquals(await page.locator("tr[data-layer]").getAttribute("data-layer"), arm.layers[0].digest);
      await page.locator("tr[data-layer] a").first().click();
      await openPath(page, "arch.txt");
      assertEquals(await viewedText(page), "arm64\n");
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});

Deno.test("web page: a zstd layer lists and shows its files", async () => {
  await using server = await startWebServer();
  const zstd = server.images.zstd;
  await withChromium(async (browser) => {
    const url = `${server.url}/?image=${zstd.reference}&view=files&layer=${
      zstd.layers[0].digest
    }&path=zstd/hello.txt`;
    const { page, errors, close } = await openPage(browser, url);
    try {
      assertEquals(await viewedText(page), "compressed with zstd\n");
      assertStringIncludes(
        await page.locator('[role=treeitem][data-path="zstd/link"]').innerText(),
        "hello.txt",
      );
      await page.locator('[role=treeitem][data-path="zstd/repeat.txt"]').click();
      assertEquals(await viewedText(page), "tug ".repeat(10_000));
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});

Deno.test("web page: errors are said in words (unknown image, denied registry, proxy down, bad reference)", async () => {
  await using server = await startWebServer();
  await withChromium(async (browser) => {
    const { page, close } = await openPage(
      browser,
      `${server.url}/?image=${server.registryHost}/tug/nope:v1`,
    );
    try {
      const alert = page.locator(".error[role=alert] h2");
      await alert.waitFor();
      assertStringIncludes(await alert.innerText(), "was not found");
      await saveScreenshot(page, "web-error-unknown");
      await page.goto(`${server.url}/?image=registry.example.com/team/app:1`);
      await page.locator(".error[role=alert] h2", { hasText: "denied" }).waitFor();
      assertStringIncludes(await page.locator(".error .detail").innerText(), "not configured");
      await page.goto(`${server.url}/?image=${server.registryHost}/tug/small:v1&registry=http://127.0.0.1:9`);
      await page.locator(".error[role=alert] h2", { hasText: "Cannot reach" }).waitFor();
      await page.goto(`${server.url}/`);
      await page.fill("#image-input", "Not A Reference!");
      await page.click("#open-form button[type=submit]");
      await page.locator("#form-message", { hasText: "not a valid image reference" }).waitFor();
    } finally {
      await close();
    }
  });
});

Deno.test("web page: on a phone-sized screen the views fit the width", async () => {
  await using server = await startWebServer();
  const small = server.images.small;
  await withChromium(async (browser) => {
    const url = `${server.url}/?image=${small.reference}&view=files&layer=merged&path=etc/os-release`;
    const { page, errors, close } = await openPage(browser, url, { viewport: { width: 390, height: 844 } });
    try {
      assertStringIncludes(await viewedText(page), "PRETTY_NAME");
      const width = async () => Number(await page.evaluate("document.documentElement.scrollWidth"));
      assert((await width()) <= 390, `the files view fits: ${await width()} px`);
      await saveScreenshot(page, "web-phone-files", { fullPage: true });
      for (const view of ["layers", "config", "history", "manifest"]) {
        await page.click(`a[data-view="${view}"]`);
        await page.locator(`a[data-view="${view}"][aria-current="page"]`).waitFor();
        assert((await width()) <= 390, `the ${view} view fits: ${await width()} px`);
      }
      await page.click('a[data-view="layers"]');
      await page.locator("tr[data-layer]").first().waitFor();
      await saveScreenshot(page, "web-phone-layers", { fullPage: true });
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});
