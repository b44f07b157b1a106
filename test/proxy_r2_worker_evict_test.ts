// The bundled worker (adapters/serve/build_workerd.ts) on workerd (Miniflare) over a persisted R2 bucket
// `BLOBS` capped by `BUCKET_MAX_BYTES`: the blobs it serves and fills are recorded in the bucket, and its
// `scheduled()` handler (a Cron Trigger on Cloudflare) runs one eviction pass of `ObjectLru`.
import { Miniflare } from "npm:miniflare@^4.20260730.0";
import { assert, assertEquals } from "./_assert.ts";
import { countRequests } from "./_proxy_helpers.ts";
import { sha256 } from "./_fleet.ts";
import { buildImage, type BuiltImage, pushImage, sharedRegistry } from "./harness/mod.ts";
import { buildWorker } from "../adapters/serve/build_workerd.ts";
import type { R2BucketBinding } from "../adapters/r2/r2_bucket.ts";

const ACCEPT =
  "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/** Miniflare's own types do not resolve under Deno: the worker's Fetcher as the structural type it is. */
interface WorkerFetcher {
  fetch(url: string, init?: RequestInit): Promise<Response>;
  scheduled(
    options?: { cron?: string; scheduledTime?: Date },
  ): Promise<{ outcome: string; noRetry: boolean }>;
}

function startWorker(script: string, persist: string, bindings: Record<string, string>): Miniflare {
  return new Miniflare({
    r2Persist: persist,
    modules: true,
    scriptPath: script,
    // Module names are relative to this folder (workerd refuses a path that climbs out of it).
    modulesRoot: script.slice(0, script.lastIndexOf("/")),
    compatibilityDate: "2025-01-01",
    compatibilityFlags: ["nodejs_compat"],
    r2Buckets: { BLOBS: "tug-evict" },
    bindings,
  });
}

/** An image of one layer of `bytes` random bytes (incompressible: the layer is about that size). */
async function randomImage(bytes: number): Promise<BuiltImage> {
  const data = new Uint8Array(bytes);
  for (let at = 0; at < data.length; at += 65536) crypto.getRandomValues(data.subarray(at, at + 65536));
  return await buildImage({
    format: "docker",
    layers: [{ gzipLevel: 1, entries: [{ path: "random.bin", content: data }] }],
  });
}

/** The manifest, config and layers an image's pull puts in the cache. */
function digestsOf(image: BuiltImage): string[] {
  return [image.manifestDigest, ...image.blobs.map((b) => b.digest)];
}

function bytesOf(image: BuiltImage): number {
  return image.manifestBytes.length + image.blobs.reduce((sum, b) => sum + b.size, 0);
}

function blobKey(digest: string): string {
  return `cache/blobs/${digest.replace(":", "/")}`;
}

/** Every key under `prefix` in the bucket. */
async function keysUnder(r2: R2BucketBinding, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const listed = await r2.list({ prefix, ...(cursor ? { cursor } : {}) });
    keys.push(...listed.objects.map((o) => o.key));
    if (!listed.truncated) return keys;
    cursor = listed.cursor;
  }
  throw new Error(`more than 100 pages under ${prefix}`);
}

/** Waits (bounded) until `check` holds: a fill commits, and its usage record is written, after the response. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** Pulls `repository:v1` through the worker (manifest by tag, then every blob) and checks the digests. */
async function pull(worker: WorkerFetcher, repository: string, image: BuiltImage): Promise<void> {
  const manifest = await worker.fetch(`http://mirror.test/v2/${repository}/manifests/v1`, {
    headers: { accept: ACCEPT },
  });
  assertEquals(manifest.status, 200, `${repository} manifest`);
  assertEquals(await sha256(new Uint8Array(await manifest.arrayBuffer())), image.manifestDigest);
  for (const blob of image.blobs) {
    const res = await worker.fetch(`http://mirror.test/v2/${repository}/blobs/${blob.digest}`);
    assertEquals(res.status, 200, `${repository} ${blob.digest}`);
    assertEquals(await sha256(new Uint8Array(await res.arrayBuffer())), blob.digest);
  }
}

Deno.test("the bundled worker with BLOBS and BUCKET_MAX_BYTES: scheduled() evicts the least recently used blobs from R2, keeps the recently used, writes the index; an evicted blob is fetched again", async () => {
  const { registry } = await sharedRegistry();
  const run = `evict/${Date.now()}`;
  const images: Record<string, BuiltImage> = {};
  for (const name of ["x", "y", "z"]) {
    // Past the worker's in-memory front (blobs up to 1 MiB): the layers live in the bucket only.
    images[name] = await randomImage(1536 << 10);
    await pushImage(registry, `${run}-${name}`, images[name], "v1");
  }
  const { x, y, z } = images;
  // Room for two of the three images, not three: one pass must evict y's layer (y's manifest and config
  // alone are far less than half of y).
  const cap = bytesOf(x) + bytesOf(z) + Math.floor(bytesOf(y) / 2);
  const tmp = await Deno.makeTempDir({ prefix: "tug-r2-evict-" });
  try {
    const script = `${tmp}/worker.js`;
    await buildWorker(script);
    const mf = startWorker(script, `${tmp}/r2`, {
      UPSTREAMS: JSON.stringify({ local: registry.url }),
      DEFAULT_UPSTREAM: "local",
      R2_PREFIX: "cache",
      BUCKET_MAX_BYTES: String(cap),
      // Every blob here was used seconds ago: without this, the default grace (10 minutes) keeps them all.
      BUCKET_EVICT_GRACE: "0",
    });
    try {
      const worker = await mf.getWorker() as unknown as WorkerFetcher;
      const r2 = await mf.getR2Bucket("BLOBS") as unknown as R2BucketBinding;
      const committed = async (image: BuiltImage) => {
        for (const digest of digestsOf(image)) {
          await until(`${digest} is in the bucket`, async () => await r2.head(blobKey(digest)) !== null);
        }
      };
      // x, then y, then z, each committed before the next starts: their uses are in that order.
      for (const name of ["x", "y", "z"]) {
        await pull(worker, `${run}-${name}`, images[name]);
        await committed(images[name]);
        // Each fill released its download lease within the request's waitUntil (a release cut off there
        // would leave the lease, and the refill of an evicted blob would wait for it to lapse).
        await until(
          "the fills' leases are released",
          async () => (await keysUnder(r2, "cache/leases/")).length === 0,
        );
      }
      // The isolate that filled them wrote what it added (a cron may run in another isolate).
      await until("a usage record is written", async () => (await keysUnder(r2, "cache/usage/")).length > 0);
      // x again: now the most recently used; y the least.
      await pull(worker, `${run}-x`, x);

      const result = await worker.scheduled({ cron: "*/10 * * * *" });
      assertEquals(result.outcome, "ok");

      const blobs = new Set(await keysUnder(r2, "cache/blobs/"));
      assert(!blobs.has(blobKey(y.layers[0].digest)), "y's layer, the least recently used, is evicted");
      for (const digest of [...digestsOf(x), ...digestsOf(z)]) {
        assert(blobs.has(blobKey(digest)), `${digest} (x or z, used more recently) is kept`);
      }
      let total = 0;
      for (const key of blobs) total += (await r2.head(key))!.size;
      assert(total <= cap, `the bucket holds ${total} bytes, at most the cap ${cap}`);
      const index = await r2.get("cache/index.json");
      assert(index !== null, "the pass wrote cache/index.json");
      const text = await new Response(index.body).text();
      for (const digest of [...digestsOf(x), ...digestsOf(z)]) assert(text.includes(digest), digest);
      assert(!text.includes(y.layers[0].digest), "the evicted layer is not in the index");

      // y again: its evicted layer is a miss, fetched from the upstream once more and cached again.
      const mark = (await registry.accessLog()).length;
      await pull(worker, `${run}-y`, y);
      const log = (await registry.accessLog()).slice(mark);
      assertEquals(countRequests(log, "GET", `/blobs/${y.layers[0].digest}`), 1, "fetched again");
      await until(
        "y's layer is cached again",
        async () => await r2.head(blobKey(y.layers[0].digest)) !== null,
      );
    } finally {
      await mf.dispose();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the bundled worker with BLOBS but no BUCKET_MAX_BYTES: scheduled() succeeds and deletes or writes nothing", async () => {
  const { registry } = await sharedRegistry();
  const repository = `evict/${Date.now()}-uncapped`;
  const image = await randomImage(32 << 10);
  await pushImage(registry, repository, image, "v1");
  const tmp = await Deno.makeTempDir({ prefix: "tug-r2-evict-" });
  try {
    const script = `${tmp}/worker.js`;
    await buildWorker(script);
    const mf = startWorker(script, `${tmp}/r2`, {
      UPSTREAMS: JSON.stringify({ local: registry.url }),
      DEFAULT_UPSTREAM: "local",
      R2_PREFIX: "cache",
    });
    try {
      const worker = await mf.getWorker() as unknown as WorkerFetcher;
      const r2 = await mf.getR2Bucket("BLOBS") as unknown as R2BucketBinding;
      await pull(worker, repository, image);
      for (const digest of digestsOf(image)) {
        await until(`${digest} is in the bucket`, async () => await r2.head(blobKey(digest)) !== null);
      }
      const before = (await keysUnder(r2, "cache/blobs/")).sort();
      for (let i = 0; i < 2; i++) assertEquals((await worker.scheduled({ cron: "0 * * * *" })).outcome, "ok");
      assertEquals((await keysUnder(r2, "cache/blobs/")).sort(), before, "nothing evicted");
      assertEquals(await r2.head("cache/index.json"), null, "no index written");
      assertEquals(await keysUnder(r2, "cache/usage/"), [], "no usage records written");
      // The worker still serves.
      await pull(worker, repository, image);
    } finally {
      await mf.dispose();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the bundled worker with BUCKET_MAX_BYTES: an isolate that filled blobs writes them to the bucket, so a scheduled() pass in another isolate evicts the oldest of them", async () => {
  const { registry } = await sharedRegistry();
  const run = `evict/${Date.now()}-two`;
  const images: Record<string, BuiltImage> = {};
  for (const name of ["x", "y", "z"]) {
    images[name] = await randomImage(1536 << 10);
    await pushImage(registry, `${run}-${name}`, images[name], "v1");
  }
  const { x, y, z } = images;
  // Room for y and z, not x too.
  const cap = bytesOf(y) + bytesOf(z) + Math.floor(bytesOf(x) / 2);
  const tmp = await Deno.makeTempDir({ prefix: "tug-r2-evict-" });
  try {
    const script = `${tmp}/worker.js`;
    await buildWorker(script);
    const bindings = {
      UPSTREAMS: JSON.stringify({ local: registry.url }),
      DEFAULT_UPSTREAM: "local",
      R2_PREFIX: "cache",
      BUCKET_MAX_BYTES: String(cap),
      BUCKET_EVICT_GRACE: "0",
    };
    // Two isolates over one bucket: one serves the pulls, the other gets the Cron Trigger's event.
    const mf = new Miniflare({
      r2Persist: `${tmp}/r2`,
      workers: ["mirror", "cron"].map((name) => ({
        name,
        modules: true,
        scriptPath: script,
        modulesRoot: tmp,
        compatibilityDate: "2025-01-01",
        compatibilityFlags: ["nodejs_compat"],
        r2Buckets: { BLOBS: "tug-evict" },
        bindings,
      })),
    });
    try {
      const mirror = await mf.getWorker("mirror") as unknown as WorkerFetcher;
      const cron = await mf.getWorker("cron") as unknown as WorkerFetcher;
      const r2 = await mf.getR2Bucket("BLOBS", "mirror") as unknown as R2BucketBinding;
      for (const name of ["x", "y", "z"]) {
        await pull(mirror, `${run}-${name}`, images[name]);
        for (const digest of digestsOf(images[name])) {
          await until(`${digest} is in the bucket`, async () => await r2.head(blobKey(digest)) !== null);
        }
      }
      // Every blob the mirror filled is in its usage records (written after each fill's work, in waitUntil).
      const recorded = async () => {
        let text = "";
        for (const key of await keysUnder(r2, "cache/usage/")) {
          const object = await r2.get(key);
          if (object !== null) text += await new Response(object.body).text();
        }
        return text;
      };
      for (const digest of [...digestsOf(x), ...digestsOf(y), ...digestsOf(z)]) {
        await until(`${digest} is in a usage record`, async () => (await recorded()).includes(`"${digest}"`));
      }

      assertEquals((await cron.scheduled({ cron: "*/10 * * * *" })).outcome, "ok");

      const blobs = new Set(await keysUnder(r2, "cache/blobs/"));
      assert(!blobs.has(blobKey(x.layers[0].digest)), "x's layer, filled first, is evicted");
      for (const digest of [...digestsOf(y), ...digestsOf(z)]) {
        assert(blobs.has(blobKey(digest)), `${digest} (y or z, filled later) is kept`);
      }
      const index = await r2.get("cache/index.json");
      assert(index !== null, "the pass in the other isolate wrote cache/index.json");
      const text = await new Response(index.body).text();
      for (const digest of [...digestsOf(y), ...digestsOf(z)]) assert(text.includes(digest), digest);
    } finally {
      await mf.dispose();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
