/**
 * The core pulls in a real browser: a page bundle calls `pull()` from src/mod.ts with an
 * {@linkcode IdbStore} in Chromium, against the harness's real docker-registry, then reads every blob back
 * from IndexedDB and hashes it.
 *
 * docker-registry sends no CORS headers, so these tests put a minimal CORS-adding pass-through in front of
 * it (test only; the page itself will talk to the proxy in src/proxy, which adds them).
 *
 * @module
 */

import { assert, assertEquals } from "./_assert.ts";
import {
  bundleForBrowser,
  corsPassThrough,
  openPage,
  runPageModule,
  serveStatic,
  testPage,
  withChromium,
} from "./browser/mod.ts";
import type { PagePullReport } from "./browser/pull_page.ts";
import { sharedRegistry } from "./harness/mod.ts";

let bundle: Promise<string> | undefined;

async function pullInChromium(
  options: { repository: string; tag: string; name: string; platform?: string },
): Promise<{ report: PagePullReport; host: string }> {
  const { registry } = await sharedRegistry();
  bundle ??= bundleForBrowser(new URL("./browser/pull_page.ts", import.meta.url));
  const cors = await corsPassThrough(registry.url);
  try {
    await using server = await serveStatic({
      "/index.html": testPage("tug pull"),
      "/pull_page.js": await bundle,
    });
    const report = await withChromium(async (browser) => {
      const opened = await openPage(browser, `${server.origin}/`);
      try {
        return await runPageModule<PagePullReport>(opened.page, "/pull_page.js", "pullImage", {
          reference: `${cors.host}/${options.repository}:${options.tag}`,
          name: options.name,
          platform: options.platform,
        }, { timeoutMs: 120_000 });
      } finally {
        await opened.close();
      }
    });
    return { report, host: cors.host };
  } finally {
    await cors.close();
  }
}

function checkBlobs(report: PagePullReport, expected: Array<{ digest: string; size: number }>): void {
  const byDigest = new Map(report.blobs.map((b) => [b.digest, b]));
  for (const { digest, size } of expected) {
    const blob = byDigest.get(digest);
    assert(blob, `blob ${digest} is in the IdbStore`);
    assertEquals(blob.size, size, `stat() size of ${digest}`);
    assertEquals(blob.read, size, `bytes read back of ${digest}`);
  }
  for (const blob of report.blobs) {
    assertEquals(blob.sha256, blob.digest, "every blob read back hashes to its digest");
  }
}

Deno.test("pull() in Chromium stores the small image in IdbStore, verified, and finds it up to date", async () => {
  const { images } = await sharedRegistry();
  const small = images.small;
  const { report, host } = await pullInChromium({
    repository: small.repository,
    tag: small.tag,
    name: `pull-small-${Date.now()}`,
  });
  assertEquals(report.digest, small.manifestDigest);
  assert(report.downloaded, "the first pull downloads");
  assertEquals(report.again.downloaded, false, "the second pull finds everything in IndexedDB");
  assert(report.events > 0, "progress events reach the page");
  assertEquals(report.manifests, [{
    digest: small.manifestDigest,
    config: small.config.digest,
    layers: small.layers.map((l) => l.digest),
  }]);
  checkBlobs(report, [
    { digest: small.manifestDigest, size: small.manifestBytes.length },
    { digest: small.config.digest, size: small.config.size },
    ...small.layers,
  ]);
  assertEquals(report.blobs.length, 2 + small.layers.length, "manifest, config and layers, nothing else");
  assert(
    report.references.some((r) =>
      r.name === `${host}/${small.repository}:${small.tag}` && r.digest === small.manifestDigest
    ),
    `the tag reference is stored: ${JSON.stringify(report.references)}`,
  );
});

Deno.test("pull() in Chromium picks linux/arm64/v8 from the multi-platform index", async () => {
  const { images } = await sharedRegistry();
  const arm = images.multi.images["linux/arm64/v8"];
  const { report, host } = await pullInChromium({
    repository: images.multi.repository,
    tag: images.multi.tag,
    name: `pull-multi-${Date.now()}`,
    platform: "linux/arm64/v8",
  });
  assertEquals(report.digest, images.multi.manifestDigest);
  assertEquals(report.manifests.map((m) => m.digest), [arm.manifestDigest]);
  // One platform pulled: its manifest is stored and tagged; the index is kept too, for the name
  // NAME@<index digest> the pull prints (Docker's addDigestReference), but no other platform's blobs.
  checkBlobs(report, [
    { digest: images.multi.manifestDigest, size: images.multi.manifestBytes.length },
    { digest: arm.manifestDigest, size: arm.manifestBytes.length },
    { digest: arm.config.digest, size: arm.config.size },
    ...arm.layers,
  ]);
  assertEquals(report.blobs.length, 3 + arm.layers.length, "no blob of another platform");
  assert(
    report.references.some((r) =>
      r.name === `${host}/${images.multi.repository}:${images.multi.tag}` && r.digest === arm.manifestDigest
    ),
    `the tag points at the arm64 manifest: ${JSON.stringify(report.references)}`,
  );
});

Deno.test("pull() in Chromium stores the 64 MiB layer of the large image in 1 MiB chunks, verified", async () => {
  const { images } = await sharedRegistry();
  const large = images.large;
  const { report } = await pullInChromium({
    repository: large.repository,
    tag: large.tag,
    name: `pull-large-${Date.now()}`,
  });
  assertEquals(report.digest, large.manifestDigest);
  checkBlobs(report, [{ digest: large.config.digest, size: large.config.size }, ...large.layers]);
  const expected = report.blobs.reduce((n, b) => n + Math.ceil(b.size / (1 << 20)), 0);
  assertEquals(report.chunks, expected, "chunk values: one per started MiB of each blob");
  assert(report.chunks >= 64, `the 64 MiB layer is many values, not one: ${report.chunks}`);
  if (Deno.env.get("TUG_TIMINGS")) {
    console.log(`pull of ${large.reference} in Chromium: ${report.ms.toFixed(0)} ms`);
  }
});
