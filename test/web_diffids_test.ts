/**
 * The inspection page checks each layer it lists against the config's diffID (it decompresses the layer
 * anyway): a layer whose config lists a wrong diff_id shows an error on that layer, in words. The crafted
 * image is pushed to the shared real registry, which tug's proxy serves to the page.
 *
 * @module
 */

import { assertStringIncludes } from "./_assert.ts";
import { openPage, withChromium } from "./browser/mod.ts";
import { startWebServer } from "./_web.ts";
import { buildImage, pushImage, sha256Digest, sharedRegistry } from "./harness/mod.ts";

Deno.test("web page: a layer that does not match the config's diff_ids shows an error on that layer", async () => {
  const { registry } = await sharedRegistry();
  const layers = [
    { entries: [{ path: "a.txt", content: "a\n" }] },
    { entries: [{ path: "b.txt", content: "b\n" }] },
  ];
  const good = await buildImage({ layers });
  const config = JSON.parse(new TextDecoder().decode(good.config.bytes));
  config.rootfs.diff_ids[1] = sha256Digest(new TextEncoder().encode("not the layer's tar"));
  const bad = await buildImage({ layers, configBytes: new TextEncoder().encode(JSON.stringify(config)) });
  await pushImage(registry, "webdiffids/bad", bad, "v1");
  await using server = await startWebServer();
  const image = `${server.registryHost}/webdiffids/bad:v1`;
  await withChromium(async (browser) => {
    // The first layer matches: its files list.
    const { page, close } = await openPage(
      browser,
      `${server.url}/?image=${image}&view=files&layer=${bad.layers[0].digest}`,
    );
    try {
      await page.locator('[role=treeitem][data-path="a.txt"]').waitFor();
      await page.goto(`${server.url}/?image=${image}&view=files&layer=${bad.layers[1].digest}`);
      const alert = page.locator(".error[role=alert] h2", { hasText: "does not match" });
      await alert.waitFor();
      const detail = await page.locator(".error[role=alert] .detail").innerText();
      assertStringIncludes(detail, "layers from manifest don't match image configuration");
      assertStringIncludes(detail, config.rootfs.diff_ids[1]);
    } finally {
      await close();
    }
  });
});
