// The real bundled worker (adapters/serve/build_workerd.ts) as three workers, each its own isolate, in
// Miniflare (workerd), bound to one R2 bucket `BLOBS`: the isolates share one download per blob through
// the bucket's lease, and the cache outlives workerd (a restart over the same persisted R2 folder).
import { Miniflare } from "npm:miniflare@^4.20260730.0";
import { assert, assertEquals } from "./_assert.ts";
import { countRequests } from "./_proxy_helpers.ts";
import { coldBlob, metricValue, sha256 } from "./_fleet.ts";
import { buildWorker } from "../adapters/serve/build_workerd.ts";
import type { R2BucketBinding } from "../adapters/r2/r2_bucket.ts";

const NAMES = ["a", "b", "c"];

/** Three isolates of the bundled worker over one persisted R2 bucket; disposing it stops workerd. */
function startFleet(script: string, persist: string, upstream: string): Miniflare {
  return new Miniflare({
    r2Persist: persist,
    workers: NAMES.map((name) => ({
      name,
      modules: true,
      scriptPath: script,
      // Module names are relative to this folder (workerd refuses a path that climbs out of it).
      modulesRoot: script.slice(0, script.lastIndexOf("/")),
      compatibilityDate: "2025-01-01",
      compatibilityFlags: ["nodejs_compat"],
      // One bucket for all: the same bucket name behind each worker's `BLOBS` binding.
      r2Buckets: { BLOBS: "tug-fleet" },
      bindings: {
        UPSTREAMS: JSON.stringify({ local: upstream }),
        DEFAULT_UPSTREAM: "local",
        R2_PREFIX: "cache",
      },
    })),
  });
}

async function get(mf: Miniflare, worker: string, path: string): Promise<Response> {
  // Miniflare's own types do not resolve under Deno: the Fetcher as the structural type it is.
  const fetcher = await mf.getWorker(worker) as unknown as { fetch(url: string): Promise<Response> };
  return await fetcher.fetch(`http://mirror.test${path}`);
}

Deno.test("the bundled worker as 3 isolates over one R2 bucket: 8 clients on a cold blob cause one upstream GET; after a restart over the persisted bucket, none", async () => {
  await using blob = await coldBlob(2 << 20, 2 << 20);
  const tmp = await Deno.makeTempDir({ prefix: "tug-workerd-fleet-" });
  try {
    const script = `${tmp}/worker.js`;
    await buildWorker(script);
    const persist = `${tmp}/r2`;
    let mf = startFleet(script, persist, blob.upstream.url);
    try {
      const before = await blob.registry.accessLog();
      const digests = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
        const res = await get(mf, NAMES[i % 3], blob.path);
        assertEquals(res.status, 200, `client ${i}`);
        return await sha256(new Uint8Array(await res.arrayBuffer()));
      }));
      for (const digest of digests) assertEquals(digest, blob.digest);
      const log = (await blob.registry.accessLog()).slice(before.length);
      assertEquals(countRequests(log, "GET", `/blobs/${blob.digest}`), 1, "one upstream GET for 3 isolates");
      // Each isolate that did not download the blob asked the upstream once whether this caller may read it.
      assertEquals(countRequests(log, "HEAD", `/blobs/${blob.digest}`), 2);
      let waits = 0;
      for (const name of NAMES) {
        const text = await (await get(mf, name, "/metrics")).text();
        waits += metricValue(text, "tug_proxy_lease_waits_total");
      }
      console.log(
        `[workerd fleet] 8 clients over 3 isolates: 1 GET, ${
          countRequests(log, "HEAD", `/blobs/${blob.digest}`)
        } HEAD(s) upstream, ${waits} lease wait(s)`,
      );
      // The commit lands just after the last byte went out: wait for it (bounded) before stopping workerd.
      const r2 = await mf.getR2Bucket("BLOBS", "a") as unknown as R2BucketBinding;
      const key = `cache/blobs/sha256/${blob.digest.slice(7)}`;
      let head = await r2.head(key);
      for (let i = 0; i < 200 && head === null; i++) {
        await new Promise((r) => setTimeout(r, 25));
        head = await r2.head(key);
      }
      assert(head !== null, "committed to R2");
    } finally {
      await mf.dispose();
    }

    // workerd restarted: new isolates, empty memory, the same R2 folder.
    mf = startFleet(script, persist, blob.upstream.url);
    try {
      const mark = await blob.registry.accessLog();
      for (const name of NAMES) {
        const res = await get(mf, name, blob.path);
        assertEquals(res.status, 200);
        assertEquals(await sha256(new Uint8Array(await res.arrayBuffer())), blob.digest);
      }
      const log = (await blob.registry.accessLog()).slice(mark.length);
      assertEquals(countRequests(log, "GET", `/blobs/${blob.digest}`), 0, "served from the persisted bucket");
      // Each new isolate still asks the upstream whether its caller may read the blob (issue H's rule).
      assertEquals(countRequests(log, "HEAD", `/blobs/${blob.digest}`), 3);
    } finally {
      await mf.dispose();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
