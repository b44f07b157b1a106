/**
 * The file tree on a layer of 100,000 entries (issue L item 8): the tree is virtual (only the rows in sight
 * are in the DOM), scrolling and the keyboard reach every row, and the filter works off the search index
 * built once, so each keystroke builds a bounded number of rows. Times are measured and printed, never
 * asserted (they depend on the machine's load).
 *
 * @module
 */

import { assert, assertEquals } from "./_assert.ts";
import { bundleForBrowser, openPage, runPageModule, serveStatic, withChromium } from "./browser/mod.ts";

const FILES = 100_000;
/** Rows a virtual tree may build for one screen: the rows in sight plus the overscan, with room. */
const SCREEN_CAP = 150;

type Stats = {
  domRows: number;
  rowsBuilt: number;
  rowCount: number;
  indexBuilds: number;
  keystrokeMs: number[];
};

Deno.test("TreeView on a 100k-entry layer keeps a bounded number of rows in the DOM and filters off one index", async () => {
  const style = await Deno.readTextFile(new URL("../web/style.css", import.meta.url));
  await using server = await serveStatic({
    "/index.html": `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tree</title>` +
      `<link rel="stylesheet" href="/style.css"><link rel="icon" href="data:,"></head><body></body></html>`,
    "/style.css": style,
    "/tree_page.js": await bundleForBrowser(new URL("./browser/tree_page.ts", import.meta.url)),
  });
  await withChromium(async (browser) => {
    const { page, errors, close } = await openPage(browser, `${server.origin}/`, {
      viewport: { width: 1280, height: 800 },
    });
    const stats = () => runPageModule<Stats>(page, "/tree_page.js", "treeStats");
    try {
      const mounted = await runPageModule<{ rows: number; ms: number }>(page, "/tree_page.js", "mountTree", {
        files: FILES,
      });
      // The one folder is open: every file is a row of the tree, but only a screenful is built.
      assertEquals(mounted.rows, FILES + 1);
      let s = await stats();
      assert(s.domRows > 10 && s.domRows <= SCREEN_CAP, `rows in the DOM: ${s.domRows}`);
      assert(s.rowsBuilt <= SCREEN_CAP, `rows built to show the tree: ${s.rowsBuilt}`);
      await page.locator('[role=treeitem][data-path="data/f000000.txt"]').waitFor();

      // Scrolling to the middle builds the rows there, and only those.
      await page.locator(".tree").evaluate((el) => el.scrollTop = el.scrollHeight / 2);
      await page.locator('[role=treeitem][data-path="data/f049999.txt"]').waitFor();
      s = await stats();
      assert(s.domRows <= SCREEN_CAP, `rows in the DOM after scrolling: ${s.domRows}`);

      // The keyboard reaches the last row (End), which is then in the DOM and focused.
      await page.locator('[role=treeitem][data-path="data/f049999.txt"]').click();
      await page.keyboard.press("End");
      const last = page.locator('[role=treeitem][data-path="data/f099999.txt"]');
      await last.waitFor();
      assertEquals(
        await last.evaluate((el) =>
          el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement
        ),
        true,
      );
      assertEquals(await last.getAttribute("aria-posinset"), String(FILES + 1));

      // Typing a filter: each keystroke searches the index (built once) and builds at most a screenful.
      const before = (await stats()).rowsBuilt;
      await page.locator("#tree-filter").pressSequentially("f0999");
      s = await stats();
      assertEquals(s.indexBuilds, 1, "the search index is built once and reused by every keystroke");
      assertEquals(s.keystrokeMs.length, 5);
      assert(
        s.rowsBuilt - before <= 5 * SCREEN_CAP,
        `rows built for 5 keystrokes: ${s.rowsBuilt - before}`,
      );
      assertEquals(s.rowCount, 100, "f0999 matches f099900 … f099999");
      assert(s.domRows <= SCREEN_CAP, `rows in the DOM while filtered: ${s.domRows}`);
      // The first keystroke ("f") matches all 100,000 files: they are all in the list, a screenful is built.
      await page.locator("#tree-filter").fill("f");
      s = await stats();
      assertEquals(s.rowCount, FILES);
      assert(s.domRows <= SCREEN_CAP, `rows in the DOM for 100,000 matches: ${s.domRows}`);
      const times = s.keystrokeMs.map((ms) => ms.toFixed(1));
      console.log(`per-keystroke filter time at ${FILES} entries (ms): ${times.join(", ")}`);
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});
