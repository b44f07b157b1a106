/**
 * The browser test rig itself (test/browser/): static server, bundling, Chromium, in-page modules, error
 * capture and screenshots.
 *
 * @module
 */

import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import {
  ARTIFACTS_DIR,
  bundleForBrowser,
  launchChromium,
  openPage,
  runPageModule,
  saveScreenshot,
  serveStatic,
  testPage,
  withChromium,
} from "./browser/mod.ts";

Deno.test("serveStatic() serves files with content types, / as index.html, 404 or the fallback otherwise", async () => {
  await using server = await serveStatic({
    "/index.html": testPage("rig"),
    "/a.js": "export const a = 1;",
    "/b.bin": { body: new Uint8Array([1, 2, 3]), headers: { "x-test": "yes" } },
  }, { fallback: (request) => new Response(`fallback ${new URL(request.url).pathname}`, { status: 418 }) });
  const index = await fetch(`${server.origin}/`);
  assertEquals(index.headers.get("content-type"), "text/html; charset=utf-8");
  assertStringIncludes(await index.text(), "<title>rig</title>");
  const js = await fetch(`${server.origin}/a.js`);
  assertEquals(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  assertEquals(await js.text(), "export const a = 1;");
  const bin = await fetch(`${server.origin}/b.bin`);
  assertEquals(bin.headers.get("x-test"), "yes");
  assertEquals(new Uint8Array(await bin.arrayBuffer()), new Uint8Array([1, 2, 3]));
  const other = await fetch(`${server.origin}/missing`);
  assertEquals([other.status, await other.text()], [418, "fallback /missing"]);
  server.set("/missing", "now here");
  assertEquals(await (await fetch(`${server.origin}/missing`)).text(), "now here");
  assertEquals(server.requests, ["GET /", "GET /a.js", "GET /b.bin", "GET /missing", "GET /missing"]);
});

Deno.test("bundleForBrowser() reports a module that does not resolve, naming the entry", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/broken.ts`, 'import { x } from "./nowhere.ts";\nexport const y = x;\n');
    await assertRejects(() => bundleForBrowser(`${dir}/broken.ts`), Error, "broken.ts");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("launchChromium() refuses a missing browser binary and says it will not download one", async () => {
  await assertRejects(
    () => launchChromium({ executablePath: "/nonexistent/chromium" }),
    Error,
    "never download a browser",
  );
});

Deno.test("runPageModule() runs a bundled module in Chromium; openPage() records errors; saveScreenshot() writes a PNG", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/page.ts`,
      [
        "export function add(arg: { a: number; b: number }): number {",
        "  document.body.insertAdjacentHTML('beforeend', `<p id=sum>${arg.a + arg.b}</p>`);",
        "  return arg.a + arg.b;",
        "}",
        "export async function fail(): Promise<void> { throw new Error('in-page failure'); }",
        "export function complain(): void { console.error('something is off'); }",
        "export function hang(): Promise<void> { return new Promise(() => {}); }",
      ].join("\n"),
    );
    await using server = await serveStatic({
      "/index.html": testPage("rig page"),
      "/page.js": await bundleForBrowser(`${dir}/page.ts`),
    });
    await withChromium(async (browser) => {
      const opened = await openPage(browser, `${server.origin}/`, { viewport: { width: 390, height: 300 } });
      try {
        assertEquals(await runPageModule(opened.page, "/page.js", "add", { a: 2, b: 3 }), 5);
        assertEquals(await opened.page.textContent("#sum"), "5");
        await assertRejects(() => runPageModule(opened.page, "/page.js", "fail"), Error, "in-page failure");
        await assertRejects(
          () => runPageModule(opened.page, "/page.js", "nothing"),
          Error,
          "exports no nothing()",
        );
        await assertRejects(
          () => runPageModule(opened.page, "/page.js", "hang", undefined, { timeoutMs: 200 }),
          Error,
          "did not settle within 200 ms",
        );
        await runPageModule(opened.page, "/page.js", "complain");
        assert(opened.errors.some((e) => e.includes("something is off")), `errors: ${opened.errors}`);
        const path = await saveScreenshot(opened.page, "rig-test-page");
        assertEquals(path, `${ARTIFACTS_DIR}rig-test-page.png`);
        const png = await Deno.readFile(path);
        assertEquals([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG file");
      } finally {
        await opened.close();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
