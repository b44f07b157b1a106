/**
 * The browser test rig: bundle TypeScript for Chromium, serve it from 127.0.0.1, drive Debian's Chromium
 * through playwright-core, run in-page cases and turn their results into Deno test steps.
 *
 * ```ts ignore
 * import { bundleForBrowser, openPage, runPageModule, serveStatic, stepResults, testPage, withChromium }
 *   from "./browser/mod.ts";
 *
 * Deno.test("my page cases pass in Chromium", async (t) => {
 *   await using server = await serveStatic({
 *     "/index.html": testPage("my cases"),
 *     "/cases.js": await bundleForBrowser(new URL("./browser/my_cases_page.ts", import.meta.url)),
 *   });
 *   const results = await withChromium(async (browser) => {
 *     const { page, errors, close } = await openPage(browser, `${server.origin}/`);
 *     try {
 *       return await runPageModule(page, "/cases.js", "run");
 *     } finally {
 *       await close();
 *     }
 *   });
 *   await stepResults(t, results);
 * });
 * ```
 *
 * - Pages that must share IndexedDB (reload, a second tab) use one context: `page.reload()`, or
 *   `openPage(browser, url, { context: first.context })`.
 * - Block the network to one server while the page keeps working (offline from IndexedDB):
 *   `await page.route(`${proxy}/**`, (route) => route.abort())`.
 * - Screenshots: `await saveScreenshot(page, "layers-view", { fullPage: true })` writes
 *   `test/artifacts/layers-view.png` (git-ignored; CI keeps the folder as an artifact).
 * - `withChromium()` closes the browser whatever happens; `runPageModule()` and page cases are time-bounded.
 *
 * @module
 */

export * from "./bundle.ts";
export * from "./server.ts";
export * from "./chromium.ts";
export * from "./page_cases.ts";
export * from "./results.ts";
