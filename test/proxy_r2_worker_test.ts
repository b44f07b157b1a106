// The workerd entry over an R2 binding (`BLOBS`): the cache is the bucket (Miniflare's R2, workerd's own
// implementation), shared by every isolate; memory holds only a small front.
import { Miniflare } from "npm:miniflare@^4.20260730.0";
import { assert, assertEquals } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { countRequests } from "./_proxy_helpers.ts";
import { proxyFromEnv } from "../adapters/serve/workerd.ts";
import type { R2BucketBinding } from "../adapters/r2/r2_bucket.ts";

async function sha256(data: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("proxyFromEnv with an R2 binding BLOBS caches blobs in the bucket; another isolate serves them with no upstream GET", async () => {
  const { registry, images } = await sharedRegistry();
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response('') } }",
    r2Buckets: ["BLOBS"],
  });
  try {
    const BLOBS = await mf.getR2Bucket("BLOBS") as unknown as R2BucketBinding;
    const env = {
      UPSTREAMS: JSON.stringify({ local: registry.url }),
      DEFAULT_UPSTREAM: "local",
      BLOBS,
      R2_PREFIX: "mirror",
    };
    const { repository, tag } = images.small;
    const blobs = [images.small.config.digest, ...images.small.layers.map((l) => l.digest)];
    const pull = async (app: ReturnType<typeof proxyFromEnv>) => {
      const manifest = await app.fetch(
        new Request(`http://worker.test/v2/${repository}/manifests/${tag}`, {
          headers: {
            accept:
              "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
          },
        }),
      );
      assertEquals(manifest.status, 200);
      await manifest.body?.cancel();
      for (const digest of blobs) {
        const res = await app.fetch(new Request(`http://worker.test/v2/${repository}/blobs/${digest}`));
        assertEquals(res.status, 200, digest);
        assertEquals(await sha256(await res.bytes()), digest);
      }
    };

    const before = await registry.accessLog();
    await pull(proxyFromEnv(env));
    const filled = (await registry.accessLog()).slice(before.length);
    for (const digest of blobs) assertEquals(countRequests(filled, "GET", `/blobs/${digest}`), 1, digest);
    // Committed (after the digest check) into the bucket, under the prefix. A fill commits just after its
    // last byte was sent: wait for it, bounded.
    for (const digest of blobs) {
      const key = `mirror/blobs/${digest.replace(":", "/")}`;
      let head = await BLOBS.head(key);
      for (let i = 0; i < 100 && head === null; i++) {
        await new Promise((r) => setTimeout(r, 20));
        head = await BLOBS.head(key);
      }
      assert(head !== null, `${key} is in the bucket`);
    }

    // A fresh isolate (its own memory front) over the same bucket.
    const mark = await registry.accessLog();
    await pull(proxyFromEnv(env));
    const log = (await registry.accessLog()).slice(mark.length);
    assertEquals(log.filter((e) => e.method === "GET" && e.path.includes("/blobs/")), []);
  } finally {
    await mf.dispose();
  }
});
