/**
 * Random access into a cached gzip layer (web/src/gzip_index.ts): after the layer was listed once, its
 * gzip index is built in the background; after a reload, opening the layer's last file reads only the few
 * blob chunks after the checkpoint before it, not the whole layer.
 *
 * Blob reads are counted in the page: an init script wraps `IDBObjectStore.prototype.get` and records the
 * digest of every chunk (1 MiB) of the page's blob cache that is read.
 *
 * @module
 */

import { assert, assertEquals } from "./_assert.ts";
import { openPage, withChromium } from "./browser/mod.ts";
import { openPath, startWebServer, viewedText } from "./_web.ts";
import { buildImage, pushImage, sharedRegistry } from "./harness/mod.ts";

function countChunkReads(): void {
  const reads: string[] = [];
  (globalThis as unknown as { chunkReads: string[] }).chunkReads = reads;
  const get = IDBObjectStore.prototype.get;
  IDBObjectStore.prototype.get = function (this: IDBObjectStore, key: IDBValidKey | IDBKeyRange) {
    if (this.name === "chunks" && Array.isArray(key)) reads.push(String(key[0]));
    return get.call(this, key);
  };
}

function randomBytes(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(data.subarray(at, at + 65536));
  return data;
}

Deno.test("web page: a file deep in a cached gzip layer is read from the gzip index's checkpoint, not from the layer's start", async () => {
  const { registry } = await sharedRegistry();
  // 12 MiB of incompressible files, then a small text file: ~12 blob chunks before it. zlib's level 6
  // (gzip's default) ends a DEFLATE block every 16k symbols, as Go's compress/flate and pigz do: checkpoints
  // can only be at block starts (as in zran).
  const parts = [1, 2, 3].map(() => randomBytes(4 << 20));
  const image = await buildImage({
    layers: [{
      gzipLevel: 6,
      entries: [
        { path: "big", type: "directory" },
        ...parts.map((content, n) => ({ path: `big/part${n + 1}.bin`, content })),
        { path: "z", type: "directory" },
        { path: "z/last.txt", content: "the last file of the layer\n" },
      ],
    }],
  });
  await pushImage(registry, "webgzindex/deep", image, "v1");
  await using server = await startWebServer();
  const layer = image.layers[0];
  const chunks = Math.ceil(layer.size / (1 << 20));
  await withChromium(async (browser) => {
    const url =
      `${server.url}/?image=${server.registryHost}/webgzindex/deep:v1&view=files&layer=${layer.digest}`;
    const { page, errors, close } = await openPage(browser, url);
    try {
      await page.locator('[role=treeitem][data-path="z"]').waitFor();
      // The index is built in the background after the listing: wait for it.
      await page.evaluate(() =>
        (globalThis as unknown as { tug: { indexer: { idle(): Promise<void> } } }).tug.indexer.idle()
      );
      await page.addInitScript(countChunkReads);
      await page.reload();
      await page.locator('[role=treeitem][data-path="z"]').waitFor();
      await openPath(page, "z/last.txt");
      assertEquals(await viewedText(page), "the last file of the layer\n");
      const reads = await page.evaluate(() => (globalThis as unknown as { chunkReads: string[] }).chunkReads);
      const read = reads.filter((d) => d === layer.digest).length;
      assert(chunks >= 12, `the layer is ${chunks} chunks`);
      // The checkpoint is at most 2 MiB of output (here ~2 MiB of input) before the file: 2–4 chunks.
      assert(read >= 1 && read <= 4, `read ${read} of the layer's ${chunks} chunks`);
      // A file in the middle opens too, with its own bytes (from the checkpoint before it).
      await openPath(page, "big/part2.bin");
      const hex = [...parts[1].subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
      await page.locator("#file-view pre.hex", { hasText: `00000000  ${hex}` }).waitFor();
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});
