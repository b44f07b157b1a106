/**
 * Takes the screenshots in docs/ of the real page (built, served by tug's proxy in front of the harness's
 * registry) in Chromium, at desktop (1280×800) and phone (390×844) sizes. Run by hand after changing the
 * page's looks; each PNG should stay under ~150 KB.
 *
 * ```sh
 * deno run -A test/web_screenshots.ts
 * ```
 *
 * @module
 */

import { openPage, withChromium } from "./browser/mod.ts";
import { startWebServer } from "./_web.ts";
import { buildImage, pushImage, sharedRegistry } from "./harness/mod.ts";

const DOCS = new URL("../docs/", import.meta.url);
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** Two versions of an app on one base layer, for the diff screenshot. */
async function pushDiffPair(): Promise<string> {
  const { registry } = await sharedRegistry();
  const base = {
    entries: [
      { path: "etc", type: "directory" as const },
      { path: "etc/os-release", content: "ID=base\n" },
    ],
  };
  const app = (version: string, extra: string) =>
    buildImage({
      layers: [base, {
        entries: [
          { path: "app", type: "directory" as const },
          { path: "app/server.js", content: `console.log("v${version}");\n`.repeat(Number(version) * 40) },
          { path: `app/${extra}`, content: `${extra}\n` },
          { path: "app/current", type: "symlink" as const, linkname: `v${version}` },
        ],
      }],
    });
  await pushImage(registry, "docs/app", await app("1", "legacy.cfg"), "1.0");
  await pushImage(registry, "docs/app", await app("2", "feature.json"), "2.0");
  return `${registry.host}/docs/app`;
}

if (import.meta.main) {
  const app = await pushDiffPair();
  await using server = await startWebServer();
  const small = server.images.small.reference;
  const shots: Array<
    { file: string; url: string; viewport: { width: number; height: number }; ready: string }
  > = [
    {
      file: "web-analysis.png",
      url: `/?image=${small}&view=analysis`,
      viewport: DESKTOP,
      ready: "#efficiency",
    },
    {
      file: "web-diff.png",
      url: `/?image=${app}:1.0&diff=${app}:2.0`,
      viewport: DESKTOP,
      ready: ".diff-summary",
    },
    {
      file: "web-analysis-phone.png",
      url: `/?image=${small}&view=analysis`,
      viewport: PHONE,
      ready: "#efficiency",
    },
    {
      file: "web-files-phone.png",
      url: `/?image=${small}&view=files&layer=merged&path=etc/os-release`,
      viewport: PHONE,
      ready: "#file-view pre.file-text",
    },
  ];
  await withChromium(async (browser) => {
    for (const shot of shots) {
      const { page, close } = await openPage(browser, `${server.url}${shot.url}`, {
        viewport: shot.viewport,
      });
      try {
        await page.locator(shot.ready).waitFor();
        const path = new URL(shot.file, DOCS).pathname;
        await page.screenshot({ path, type: "png" });
        console.log(`${shot.file}: ${(await Deno.stat(path)).size} bytes`);
      } finally {
        await close();
      }
    }
  });
}
