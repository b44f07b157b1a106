/**
 * The page hosted as static files on another origin: talking to a real `tug serve` process (started with
 * `--allow-origin`) in front of the harness's registry, and straight to a registry that sends CORS
 * headers (the registry choice `registry=direct`).
 *
 * @module
 */

import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { corsPassThrough, openPage, saveScreenshot, serveStatic, withChromium } from "./browser/mod.ts";
import { MAIN } from "./_cli.ts";
import { openPath, viewedText, webPageFiles } from "./_web.ts";
import { sharedRegistry } from "./harness/mod.ts";

/** Runs `tug serve` on a free port until disposed; resolves once it listens. */
async function tugServe(args: string[]): Promise<{ url: string } & AsyncDisposable> {
  const store = await Deno.makeTempDir({ prefix: "tug-web-serve-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "serve", "--listen", "127.0.0.1:0", "--store", store, ...args],
    env: {
      DOCKER_CONFIG: "/nonexistent/tug-test-docker-config",
      TUG_CONFIG: "/nonexistent/tug-test-config.json",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    await child.stderr.cancel().catch(() => {});
    await Deno.remove(store, { recursive: true });
  };
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + 60_000;
  try {
    while (Date.now() < deadline) {
      const r = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error("tug serve did not start")), 60_000)
        ),
      ]);
      if (r.done) throw new Error(`tug serve exited: ${text}`);
      text += r.value;
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(text);
      if (m) {
        // Keep draining stdout so the process never blocks on a full pipe.
        (async () => {
          while (!(await reader.read()).done);
        })().catch(() => {});
        return { url: m[1], [Symbol.asyncDispose]: stop };
      }
    }
    throw new Error(`tug serve did not say where it listens: ${text}`);
  } catch (err) {
    await reader.cancel().catch(() => {});
    await stop();
    throw err;
  }
}

Deno.test("web page: hosted statically, it opens an image through a `tug serve` process with --allow-origin", async () => {
  const { registry, images } = await sharedRegistry();
  const small = images.small;
  await using proxy = await tugServe(["--upstream", `harness=${registry.url}`, "--allow-origin", "*"]);
  await using site = await serveStatic(await webPageFiles());
  await withChromium(async (browser) => {
    const url = `${site.origin}/?image=${small.reference}&registry=${proxy.url}`;
    const { page, errors, close } = await openPage(browser, url);
    try {
      await page.locator("tr[data-layer]").nth(2).waitFor();
      assertEquals(await page.locator("#proxy-url").inputValue(), proxy.url);
      await page.locator("tr[data-layer]").nth(1).locator("a").first().click();
      await openPath(page, "app/data.txt");
      assertEquals(await viewedText(page), "data shared by a hard link\n");
      assertEquals(
        new URL(page.url()).searchParams.get("registry"),
        proxy.url,
        "the registry choice stays in the URL",
      );
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});

Deno.test("web page: registry=direct reads a registry that sends CORS headers, and explains one that does not", async () => {
  const { registry, images } = await sharedRegistry();
  const zstd = images.zstd;
  await using cors = await corsPassThrough(registry.url);
  await using site = await serveStatic(await webPageFiles());
  await withChromium(async (browser) => {
    const reference = `${cors.host}/${zstd.repository}:${zstd.tag}`;
    const url = `${site.origin}/?image=${reference}&registry=direct&view=files&layer=${
      zstd.layers[0].digest
    }`;
    const { page, close } = await openPage(browser, url);
    try {
      await page.locator('[role=treeitem][data-path="zstd"]').waitFor();
      assertEquals(await page.locator("#registry-mode").inputValue(), "direct");
      await openPath(page, "zstd/hello.txt");
      assertEquals(await viewedText(page), "compressed with zstd\n");
      // docker-registry itself sends no CORS headers: the browser refuses the answer, and the page says so.
      await page.goto(`${site.origin}/?image=${images.small.reference}&registry=direct`);
      const alert = page.locator(".error[role=alert]");
      await alert.waitFor();
      assertStringIncludes(await alert.innerText(), "does not allow web pages to read it");
      await saveScreenshot(page, "web-error-cors");
    } finally {
      await close();
    }
  });
});
