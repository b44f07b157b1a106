/**
 * The analysis and diff views (issue L items 10 and 11) on images in the harness's real registry, through
 * tug's proxy, in Chromium: the seeded small image's whiteout shows as wasted bytes and a removed path, and
 * two images that share a base layer diff into added, removed and changed paths.
 *
 * @module
 */

import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { openPage, withChromium } from "./browser/mod.ts";
import { startWebServer } from "./_web.ts";
import { buildImage, type LayerSpec, pushImage, sharedRegistry } from "./harness/mod.ts";

Deno.test("web page: the analysis view shows each layer's size and changes, the whiteout's waste and dive's efficiency", async () => {
  await using server = await startWebServer();
  const small = server.images.small;
  // What the fixture holds: the whiteout in layer 2 deletes etc/motd, shipped by layer 1.
  const motd = small.layers[0].files.find((f) => f.path === "etc/motd")!;
  const shipped = small.layers.flatMap((l) => l.files).filter((f) => f.type === "file")
    .reduce((n, f) => n + f.size, 0);
  const efficiency = `${((1 - motd.size / shipped) * 100).toFixed(1)} %`;
  await withChromium(async (browser) => {
    const { page, errors, close } = await openPage(browser, `${server.url}/?image=${small.reference}`);
    try {
      await page.locator("tr[data-layer]").first().waitFor();
      await page.click('.tabs a[data-view="analysis"]');
      await page.locator("#efficiency").waitFor();
      assertEquals(new URL(page.url()).searchParams.get("view"), "analysis");
      assertEquals(await page.locator("#efficiency").innerText(), efficiency);
      assertEquals(await page.locator("#wasted").innerText(), `${motd.size} B`);
      const rows = page.locator(".analysis tr[data-layer]");
      assertEquals(await rows.count(), 3);
      const first = small.layers[0].files.filter((f) => f.type === "file").reduce((n, f) => n + f.size, 0);
      assertStringIncludes(await rows.nth(0).locator("td").nth(2).innerText(), `${first} B`);
      assertEquals(await rows.nth(0).locator("td.wasted").innerText(), `${motd.size} B`);
      assertEquals(await rows.nth(1).locator("td.counts").innerText(), "+3 ~0 −1");
      await rows.nth(1).locator("details.changes summary").click();
      const removed = rows.nth(1).locator('li.removed[data-path="etc/motd"]');
      assertStringIncludes(await removed.innerText(), `etc/motd ${motd.size} B`);
      assertEquals(await page.locator('tr.inefficiency[data-path="etc/motd"] td').nth(1).innerText(), "2");
      // The largest file links to it in the merged tree.
      const largest = page.locator("tr.largest").first();
      const biggest = small.layers.flatMap((l) => l.files).filter((f) => f.type === "file")
        .sort((a, b) => b.size - a.size)[0];
      assertEquals(await largest.getAttribute("data-path"), biggest.path);
      await largest.locator("a").click();
      await page.locator("#file-view h2.path", { hasText: `/${biggest.path}` }).waitFor();
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});

Deno.test("web page: ?image=A&diff=B lists the paths added, removed and changed between two images", async () => {
  const { registry } = await sharedRegistry();
  const base: LayerSpec = {
    entries: [
      { path: "etc", type: "directory" },
      { path: "etc/os-release", content: "ID=base\n" },
    ],
  };
  const a = await buildImage({
    layers: [base, {
      entries: [
        { path: "app", type: "directory" },
        { path: "app/run.sh", content: "echo one\n", mode: 0o755 },
        { path: "app/old.txt", content: "only in A\n" },
        { path: "app/current", type: "symlink", linkname: "v1" },
      ],
    }],
  });
  const b = await buildImage({
    layers: [base, {
      entries: [
        { path: "app", type: "directory" },
        { path: "app/run.sh", content: "echo one two\n", mode: 0o755 },
        { path: "app/new.txt", content: "only in B\n" },
        { path: "app/current", type: "symlink", linkname: "v2" },
      ],
    }],
  });
  assertEquals(a.layers[0].digest, b.layers[0].digest, "the two images share their base layer");
  await pushImage(registry, "l-diff/app", a, "a");
  await pushImage(registry, "l-diff/app", b, "b");
  await using server = await startWebServer();
  const name = `${server.registryHost}/l-diff/app`;
  await withChromium(async (browser) => {
    const { page, errors, close } = await openPage(browser, `${server.url}/?image=${name}:a&diff=${name}:b`);
    try {
      const summary = page.locator(".diff-summary");
      await summary.waitFor();
      assertStringIncludes(await summary.innerText(), "1 added, 1 removed, 2 changed");
      assertStringIncludes(await summary.innerText(), "1 of 2 layers shared");
      assertEquals(await page.locator('.tabs a[aria-current="page"]').getAttribute("data-view"), "diff");
      const row = (path: string) => page.locator(`.diff-table tr[data-path="${path}"]`);
      assertEquals(await row("app/new.txt").getAttribute("class"), "added");
      assertEquals(await row("app/old.txt").getAttribute("class"), "removed");
      assertEquals(await row("app/run.sh").getAttribute("class"), "changed");
      assertEquals(await row("app/run.sh").locator("td").nth(4).innerText(), "size");
      assertEquals(await row("app/run.sh").locator("td").nth(2).innerText(), "9 B");
      assertEquals(await row("app/run.sh").locator("td").nth(3).innerText(), "13 B");
      assertEquals(await row("app/current").locator("td").nth(4).innerText(), "link");
      assertEquals(await row("etc/os-release").count(), 0, "a file of the shared layer is no change");
      // The form compares with another image: A with itself has no differences.
      await page.fill("#diff-input", `${name}:a`);
      await page.click(".diff-form button");
      await page.locator(".diff p.muted", { hasText: "The two images have the same files." }).waitFor();
      assertEquals(new URL(page.url()).searchParams.get("diff"), `${name}:a`);
      assertStringIncludes(await summary.innerText(), "0 added, 0 removed, 0 changed");
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});
