/**
 * Navigation on the page (issue L item 12): copy buttons, a link pinned to the digest, media types linked to
 * their specifications, `org.opencontainers.image.source` as a link, symlinks that can be followed, each
 * layer's `created_by` in the layers table, and the referrers of an image.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { openPage, withChromium } from "./browser/mod.ts";
import { startWebServer, viewedText } from "./_web.ts";
import {
  buildImage,
  jsonBlob,
  MEDIA_TYPES,
  pushBlob,
  pushImage,
  pushManifest,
  sharedRegistry,
} from "./harness/mod.ts";

Deno.test("web page: the head copies the digest and links the reference pinned to it; layers show their step and spec", async () => {
  await using server = await startWebServer();
  const small = server.images.small;
  await withChromium(async (browser) => {
    const context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
    const { page, errors, close } = await openPage(browser, `${server.url}/?image=${small.reference}`, {
      context,
    });
    try {
      const rows = page.locator("tr[data-layer]");
      await rows.first().waitFor();
      await page.click('button.copy[aria-label="Copy the digest"]');
      await page.locator('button.copy[aria-label="Copy the digest"]', { hasText: "Copied" }).waitFor();
      assertEquals(await page.evaluate("navigator.clipboard.readText()"), small.manifestDigest);

      assertStringIncludes(await rows.nth(1).innerText(), "rm /etc/motd && mkdir /app");
      assertStringIncludes(await rows.first().locator(".created-by").innerText(), "ADD file:base");
      const spec = await rows.first().locator("td.mediatype a").getAttribute("href");
      assert(spec?.endsWith("/manifest-v2-2.md"), `the media type links to its spec: ${spec}`);

      const name = small.reference.slice(0, small.reference.lastIndexOf(":"));
      const pinned = `${name}@${small.manifestDigest}`;
      assertEquals(await page.locator("a.pinned").innerText(), pinned);
      await page.click("a.pinned");
      await page.locator("tr[data-layer]").first().waitFor();
      assertEquals(new URL(page.url()).searchParams.get("image"), pinned);
      assertEquals(await page.locator("tr[data-layer]").count(), 3);
      assertEquals(errors, []);
    } finally {
      await close();
      await context.close();
    }
  });
});

Deno.test("web page: a symlink is followed to its target, and the source label is a link", async () => {
  const { registry } = await sharedRegistry();
  await pushImage(
    registry,
    "l-web/source",
    await buildImage({
      layers: [{ entries: [{ path: "x", content: "x\n" }] }],
      config: {
        Labels: {
          "org.opencontainers.image.source": "https://example.com/src",
          "dev.tug.note": "https://no",
        },
      },
    }),
    "v1",
  );
  await using server = await startWebServer();
  const small = server.images.small;
  await withChromium(async (browser) => {
    const url = `${server.url}/?image=${small.reference}&view=files&layer=${
      small.layers[0].digest
    }&path=bin/hi`;
    const { page, errors, close } = await openPage(browser, url);
    try {
      const follow = page.locator("#file-view a.follow");
      await follow.waitFor();
      assertEquals(await follow.innerText(), "hello");
      await follow.click();
      await page.locator("#file-view h2.path", { hasText: "/bin/hello" }).waitFor();
      assertEquals(await viewedText(page), "#!/bin/sh\necho hello from tug\n");
      assertEquals(new URL(page.url()).searchParams.get("path"), "bin/hello");

      await page.goto(`${server.url}/?image=${server.registryHost}/l-web/source:v1&view=config`);
      const link = page.locator(".config table.kv a", { hasText: "https://example.com/src" });
      await link.waitFor();
      assertEquals(await link.getAttribute("href"), "https://example.com/src");
      assertEquals(await page.locator(".config table.kv a", { hasText: "https://no" }).count(), 0);
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});

Deno.test("web page: the tag list of a repository opens a page of 50 tags, then the next page", async () => {
  const { registry } = await sharedRegistry();
  const image = await buildImage({ layers: [{ entries: [{ path: "t", content: "t\n" }] }] });
  await pushImage(registry, "l-web/tags", image, "t000");
  const tags = Array.from({ length: 55 }, (_, i) => `t${String(i).padStart(3, "0")}`);
  for (const tag of tags.slice(1)) {
    await pushManifest(registry, "l-web/tags", tag, image.manifestBytes, image.manifestMediaType);
  }
  await using server = await startWebServer();
  await withChromium(async (browser) => {
    const { page, errors, close } = await openPage(
      browser,
      `${server.url}/?image=${server.registryHost}/l-web/tags:t007`,
    );
    try {
      await page.locator("tr[data-layer]").first().waitFor();
      await page.click("details.tags summary");
      const links = page.locator(".tag-list a");
      await page.locator(".tags [role=status]", { hasText: "50 tags so far" }).waitFor();
      assertEquals(await links.count(), 50);
      assertEquals(await page.locator('.tag-list a[aria-current="true"]').innerText(), "t007");
      await page.click("button.more-tags");
      await page.locator(".tags [role=status]", { hasText: "55 tags." }).waitFor();
      assertEquals(await links.allInnerTexts(), tags);
      assert(server.requests.some((r) => r.includes("/tags/list")), "the list came through the proxy");
      await links.nth(54).click();
      await page.locator("tr[data-layer]").first().waitFor();
      assertStringIncludes(new URL(page.url()).searchParams.get("image")!, "l-web/tags:t054");
      assertEquals(errors, []);
    } finally {
      await close();
    }
  });
});

Deno.test("web page: the Referrers disclosure lists an SBOM tagged sha256-<hex> and links it; an image without referrers shows none", async () => {
  const { registry } = await sharedRegistry();
  const repo = "l-web/referred";
  const image = await buildImage({
    format: "oci",
    layers: [{ entries: [{ path: "r", content: "r\n" }] }],
  });
  await pushImage(registry, repo, image, "v1");
  const bare = await buildImage({ format: "oci", layers: [{ entries: [{ path: "b", content: "b\n" }] }] });
  await pushImage(registry, repo, bare, "bare");
  // An OCI 1.1 artifact whose subject is the image, as `oras attach` or `cosign attach sbom` push it.
  const artifactType = "application/vnd.example.sbom+json";
  const empty = jsonBlob({}, "application/vnd.oci.empty.v1+json");
  const sbom = jsonBlob({ packages: ["r"] }, "application/json");
  for (const blob of [empty, sbom]) await pushBlob(registry, repo, blob);
  const artifact = jsonBlob({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType,
    config: { mediaType: empty.mediaType, digest: empty.digest, size: empty.size },
    layers: [{ mediaType: sbom.mediaType, digest: sbom.digest, size: sbom.size }],
    subject: {
      mediaType: MEDIA_TYPES.ociManifest,
      digest: image.manifestDigest,
      size: image.manifestBytes.length,
    },
  }, MEDIA_TYPES.ociManifest);
  await pushManifest(registry, repo, artifact.digest, artifact.bytes, MEDIA_TYPES.ociManifest);
  // The referrers tag schema of the distribution spec: an index tagged sha256-<hex of the subject>.
  const created = "2026-01-02T03:04:05Z";
  const referrers = jsonBlob({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [{
      mediaType: MEDIA_TYPES.ociManifest,
      digest: artifact.digest,
      size: artifact.size,
      artifactType,
      annotations: { "org.opencontainers.image.created": created },
    }],
  }, MEDIA_TYPES.ociIndex);
  const tag = image.manifestDigest.replace(":", "-");
  await pushManifest(registry, repo, tag, referrers.bytes, MEDIA_TYPES.ociIndex);

  await using server = await startWebServer();
  await withChromium(async (browser) => {
    const { page, errors, close } = await openPage(
      browser,
      `${server.url}/?image=${server.registryHost}/${repo}:v1`,
    );
    try {
      await page.locator("tr[data-layer]").first().waitFor();
      await page.click("details.referrers summary");
      await page.locator(".referrers [role=status]", { hasText: "1 manifest refers" }).waitFor();
      const item = page.locator(`.referrer-list li[data-digest="${artifact.digest}"]`);
      assertStringIncludes(await item.innerText(), artifactType);
      assertStringIncludes(await item.innerText(), `created ${created}`);
      assertStringIncludes(await item.innerText(), artifact.digest.slice(7, 19));
      // Through the proxy: the referrers API is no route of it (404), so the tag came through /manifests/.
      assert(server.requests.includes(`GET /v2/${repo}/manifests/${tag}`), server.requests.join("\n"));
      await item.locator("a").click();
      await page.locator("pre.json").waitFor();
      const opened = new URL(page.url()).searchParams;
      assertEquals(opened.get("image"), `${server.registryHost}/${repo}@${artifact.digest}`);
      assertEquals(opened.get("view"), "manifest");
      assertStringIncludes(await page.locator("pre.json").innerText(), artifactType);

      await page.goto(`${server.url}/?image=${server.registryHost}/${repo}:bare`);
      await page.locator("tr[data-layer]").first().waitFor();
      await page.click("details.referrers summary");
      await page.locator(".referrers [role=status]", { hasText: "None" }).waitFor();
      assertEquals(await page.locator(".referrer-list li").count(), 0);
      assertEquals(await page.locator("[role=alert]").count(), 0);
      // The two 404s (no referrers API, no sha256-<hex> tag) are the protocol's answers; Chromium logs
      // every 4xx fetch as "Failed to load resource". Nothing else may be logged.
      assertEquals(errors.filter((e) => !/Failed to load resource: .* 404/.test(e)), []);
    } finally {
      await close();
    }
  });
});
