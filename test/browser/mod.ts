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
 * @module
 */

export * from "./bundle.ts";
export * from "./server.ts";
export * from "./chromium.ts";
export * from "./page_cases.ts";
export * from "./results.ts";
