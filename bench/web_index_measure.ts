/**
 * Measures (by hand; not a test) what the page's kept listings and gzip indexes buy on a large image, in
 * headless Chromium: a synthetic 5-layer gzip image (first layer ~240 MB, ~600 MB in all, files of 1–32
 * KiB of random bytes, zlib level 6) pushed to the harness registry and opened through tug's proxy.
 *
 * 1. the first layer listed the first time (download, verify, IndexedDB write, gunzip, tar), then the time
 *    its gzip index takes to build in the background;
 * 2. after a reload: the first layer's listing, and opening a 1.6 KiB file at the end of that layer;
 * 3. the merged view of all layers the first time, then after a reload.
 *
 * Times are from the page's in-app navigation (`tug.app.navigate`) to the tree or text on screen.
 *
 * ```sh
 * deno run -A bench/web_index_measure.ts [FIRST_LAYER_MB] [OTHER_LAYER_MB] [LAYERS]
 * ```
 *
 * @module
 */

import { openPage, type Page, withChromium } from "../test/browser/mod.ts";
import { startWebServer } from "../test/_web.ts";
import { buildImage, pushImage, sharedRegistry } from "../test/harness/mod.ts";

const MB = 1_000_000;
const firstMb = Number(Deno.args[0] ?? 240);
const otherMb = Number(Deno.args[1] ?? 90);
const layerCount = Number(Deno.args[2] ?? 5);

function layerEntries(n: number, bytes: number) {
  const entries: Array<{ path: string; type?: "directory"; content?: Uint8Array }> = [];
  let seed = n * 7919 + 1;
  let made = 0;
  let dir = -1;
  for (let i = 0; made < bytes; i++) {
    if (i % 500 === 0) entries.push({ path: `l${n}/d${++dir}`, type: "directory" });
    seed = (seed * 1103515245 + 12345) >>> 0;
    const size = 1024 + (seed % (31 * 1024));
    const content = new Uint8Array(size);
    for (let at = 0; at < size; at += 65536) crypto.getRandomValues(content.subarray(at, at + 65536));
    entries.push({ path: `l${n}/d${dir}/f${i}.bin`, content });
    made += size;
  }
  return entries;
}

const SMALL = new TextEncoder().encode("small file at the end of the layer\n".repeat(48)); // 1.6 KiB
console.log(`building ${layerCount} layers: ${firstMb} MB, then ${otherMb} MB each …`);
const started = performance.now();
const image = await buildImage({
  layers: Array.from({ length: layerCount }, (_, n) => ({
    gzipLevel: 6,
    entries: [
      ...layerEntries(n, (n === 0 ? firstMb : otherMb) * MB),
      ...(n === 0
        ? [{ path: "z", type: "directory" as const }, { path: "z/small.txt", content: SMALL }]
        : []),
    ],
  })),
});
const { registry } = await sharedRegistry();
await pushImage(registry, "bench/index", image, "v1");
console.log(
  `built and pushed in ${((performance.now() - started) / 1000).toFixed(1)} s: layers ${
    image.layers.map((l) => `${(l.size / MB).toFixed(0)} MB`).join(", ")
  }; ${image.layers.map((l) => l.files.length).join(", ")} entries`,
);

await using server = await startWebServer();
const reference = `${server.registryHost}/bench/index:v1`;
const first = image.layers[0].digest;

type Tug = {
  tug: { app: { state: object; navigate(s: object): void }; indexer?: { idle(): Promise<void> } };
};

async function timed(label: string, fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  console.log(`${label}: ${ms.toFixed(0)} ms`);
  return ms;
}

async function idle(page: Page): Promise<void> {
  await page.evaluate(() => (globalThis as unknown as Tug).tug.indexer?.idle());
}

const tree = (page: Page, path: string) =>
  page.locator(`[role=treeitem][data-path="${path}"]`).waitFor({ timeout: 600_000 });

async function reload(page: Page): Promise<void> {
  await page.goto(`${server.url}/?image=${reference}`);
  await page.locator("tr[data-layer]").first().waitFor();
}

/**
 * Runs `action` in the page and resolves with the ms until `done` holds there (checked on every DOM change),
 * timed in the page (no automation overhead).
 */
async function inPage(
  page: Page,
  action: { navigate?: object; click?: string },
  done: { shown: string; idle?: boolean },
): Promise<number> {
  return await page.evaluate(({ action, done }) =>
    new Promise<number>((resolve) => {
      const ready = () =>
        document.querySelector(done.shown) !== null &&
        (!done.idle || document.querySelector(".progress.active") === null);
      const t0 = performance.now();
      const observer = new MutationObserver(() => {
        if (!ready()) return;
        observer.disconnect();
        resolve(performance.now() - t0);
      });
      observer.observe(document.body, { subtree: true, childList: true, attributes: true });
      if (action.navigate) {
        const { app } = (globalThis as unknown as Tug).tug;
        app.navigate({ ...app.state, ...action.navigate });
      }
      if (action.click) document.querySelector<HTMLElement>(action.click)!.click();
    }), { action, done });
}

function report(label: string, ms: number): void {
  console.log(`${label}: ${ms.toFixed(0)} ms`);
}

await withChromium(async (browser) => {
  const { page, errors, close } = await openPage(browser, `${server.url}/?image=${reference}`, {
    timeoutMs: 600_000,
  });
  try {
    await page.locator("tr[data-layer]").first().waitFor();
    const row = (path: string) => `[role=treeitem][data-path="${path}"]`;
    report(
      "layer 1 listed the first time (download, verify, cache, gunzip, tar)",
      await inPage(page, { navigate: { view: "files", layer: first } }, { shown: row("z") }),
    );
    await timed("  then its gzip index built in the background", () => idle(page));

    await reload(page);
    report(
      "layer 1 listing after a reload",
      await inPage(page, { navigate: { view: "files", layer: first } }, { shown: row("z") }),
    );
    await page.locator(row("z")).click();
    await tree(page, "z/small.txt");
    report(
      "opening z/small.txt (1.6 KiB, end of layer 1) after a reload",
      await inPage(page, { click: row("z/small.txt") }, { shown: "#file-view pre.file-text" }),
    );

    const last = row(`l${layerCount - 1}`);
    report(
      `merged view of ${layerCount} layers the first time`,
      await inPage(page, { navigate: { view: "files", layer: "merged", path: undefined } }, {
        shown: last,
        idle: true,
      }),
    );
    await timed("  then the gzip indexes built in the background", () => idle(page));
    await reload(page);
    report(
      `merged view of ${layerCount} layers after a reload`,
      await inPage(page, { navigate: { view: "files", layer: "merged", path: undefined } }, {
        shown: last,
        idle: true,
      }),
    );
    if (errors.length > 0) console.log("page errors:", errors);
  } finally {
    await close();
  }
});
