/**
 * Layer listings kept in IndexedDB (web/src/listing_cache.ts): after a reload the files view shows a layer
 * read before without reading a byte of its blob, and the merged view fills in layer by layer.
 *
 * The page also reads each listed gzip layer once more in the background, to build its gzip index; the
 * tests wait for that before they count.
 *
 * Blob reads are counted in the page itself: an init script wraps `IDBObjectStore.prototype.get` and
 * records the digest of every chunk of the page's blob cache that is read.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { openPage, type Page, withChromium } from "./browser/mod.ts";
import { openPath, startWebServer, viewedText } from "./_web.ts";
import { buildImage, pushImage, sha256Digest, sharedRegistry } from "./harness/mod.ts";

/** Counts reads of blob chunks (keys `[digest, write, n]` in the `chunks` object store) by digest. */
function countChunkReads(): void {
  const reads: string[] = [];
  (globalThis as unknown as { chunkReads: string[] }).chunkReads = reads;
  const get = IDBObjectStore.prototype.get;
  IDBObjectStore.prototype.get = function (this: IDBObjectStore, key: IDBValidKey | IDBKeyRange) {
    if (this.name === "chunks" && Array.isArray(key)) reads.push(String(key[0]));
    return get.call(this, key);
  };
}

/** Waits until the page built the gzip indexes of the layers it listed (web/src/random_access.ts). */
async function indexed(page: Page): Promise<void> {
  await page.evaluate(() =>
    (globalThis as unknown as { tug: { indexer: { idle(): Promise<void> } } }).tug.indexer.idle()
  );
}

Deno.test("web page: after a reload, the files view shows layer listings from IndexedDB without reading their blobs", async () => {
  await using server = await startWebServer();
  const small = server.images.small;
  const layers = small.layers.map((l) => l.digest);
  await withChromium(async (browser) => {
    const url = `${server.url}/?image=${small.reference}&view=files&layer=merged`;
    const { page, errors, close } = await openPage(browser, url);
    try {
      await page.locator('[role=treeitem][data-path="var"]').waitFor();
      // The page reads each layer once more in the background, for its gzip index: let it finish.
      await indexed(page);
      await page.addInitScript(countChunkReads);
      await page.reload();
      // Every layer of the merged view: etc from layer 1, app from layer 2, var from layer 3.
      for (const path of ["etc", "app", "var"]) {
        await page.locator(`[role=treeitem][data-path="${path}"]`).waitFor();
      }
      const reads = async () =>
        await page.evaluate(() => (globalThis as unknown as { chunkReads: string[] }).chunkReads);
      assertEquals((await reads()).filter((d) => layers.includes(d)), [], "no layer blob chunk was read");
      // One layer alone, by link: also from the kept listing.
      await page.goto(`${server.url}/?image=${small.reference}&view=files&layer=${layers[0]}`);
      await page.locator('[role=treeitem][data-path="etc"]').waitFor();
      assertEquals((await reads()).filter((d) => layers.includes(d)), [], "no layer blob chunk was read");
      // Opening a file does read the (verified, cached) blob: the counter sees reads when there are some.
      await openPath(page, "etc/hostname");
      assertEquals(await viewedText(page), "tug-small\n");
      assert((await reads()).includes(layers[0]), "the file's bytes came from the cached blob");
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});

Deno.test("web page: the merged view shows the layers read so far while a later layer is still downloading", async () => {
  await using server = await startWebServer();
  const small = server.images.small;
  const last = small.layers[2].digest;
  await withChromium(async (browser) => {
    const { page, errors, close } = await openPage(browser, `${server.url}/`);
    let release!: () => void;
    const released = new Promise<void>((resolve) => release = resolve);
    let held = 0;
    try {
      // The last layer's download waits until the test has seen the partial tree.
      await page.route((u) => u.pathname.endsWith(`/blobs/${last}`), async (route) => {
        held++;
        await released;
        await route.continue();
      });
      await page.goto(`${server.url}/?image=${small.reference}&view=files&layer=merged`);
      await page.locator('[role=treeitem][data-path="etc"]').waitFor({ timeout: 10_000 });
      await page.locator('[role=treeitem][data-path="app"]').waitFor({ timeout: 10_000 });
      assertEquals(held, 1, "the last layer is being downloaded");
      assertEquals(
        await page.locator('[role=treeitem][data-path="var"]').count(),
        0,
        "layer 3 is not in yet",
      );
      assertEquals(await page.locator(".progress.active").count(), 1, "the progress line still shows");
      release();
      await page.locator('[role=treeitem][data-path="var"]').waitFor();
      await page.locator(".progress.active").waitFor({ state: "detached" });
      // The whiteout of layer 2 applies in the final tree as in the partial one.
      await page.locator('[role=treeitem][data-path="etc"]').click();
      await page.locator('[role=treeitem][data-path="etc/hostname"]').waitFor();
      assertEquals(await page.locator('[role=treeitem][data-path="etc/motd"]').count(), 0);
      assertEquals(errors, []);
    } finally {
      release();
      await close();
    }
  });
});

Deno.test("web page: a kept listing remembers its layer's diffID: another config naming another diffID fails without reading the blob", async () => {
  const { registry } = await sharedRegistry();
  const layers = [{ entries: [{ path: "kept.txt", content: "kept listing\n" }] }];
  const good = await buildImage({ layers });
  const config = JSON.parse(new TextDecoder().decode(good.config.bytes));
  config.rootfs.diff_ids[0] = sha256Digest(new TextEncoder().encode("not the layer's tar"));
  const bad = await buildImage({ layers, configBytes: new TextEncoder().encode(JSON.stringify(config)) });
  await pushImage(registry, "weblistings/good", good, "v1");
  await pushImage(registry, "weblistings/bad", bad, "v1");
  await using server = await startWebServer();
  const layer = good.layers[0].digest;
  assertEquals(bad.layers[0].digest, layer, "both images share the layer blob");
  await withChromium(async (browser) => {
    const goodUrl =
      `${server.url}/?image=${server.registryHost}/weblistings/good:v1&view=files&layer=${layer}`;
    const { page, close } = await openPage(browser, goodUrl);
    try {
      await page.locator('[role=treeitem][data-path="kept.txt"]').waitFor();
      await indexed(page);
      await page.addInitScript(countChunkReads);
      await page.goto(
        `${server.url}/?image=${server.registryHost}/weblistings/bad:v1&view=files&layer=${layer}`,
      );
      await page.locator(".error[role=alert] h2", { hasText: "does not match" }).waitFor();
      const detail = await page.locator(".error[role=alert] .detail").innerText();
      assertStringIncludes(detail, config.rootfs.diff_ids[0]);
      assertStringIncludes(detail, good.layers[0].diffId);
      const reads = await page.evaluate(() => (globalThis as unknown as { chunkReads: string[] }).chunkReads);
      assertEquals(reads.filter((d) => d === layer), [], "the blob was not read again");
      // The good image still lists it, from the kept listing.
      await page.goto(goodUrl);
      await page.locator('[role=treeitem][data-path="kept.txt"]').waitFor();
    } finally {
      await close();
    }
  });
});
