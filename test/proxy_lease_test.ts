// Many replicas, one download: proxies over one R2 bucket (Miniflare's R2, workerd's own implementation)
// share a download lease per blob (`store.leases`), so a cold blob is fetched from the upstream once for
// the whole fleet, and a replica that dies mid-download is taken over once its lease lapsed.
import { Miniflare } from "npm:miniflare@^4.20260730.0";
import { assert, assertEquals } from "./_assert.ts";
import { countRequests } from "./_proxy_helpers.ts";
import { coldBlob, metricValue, sha256 } from "./_fleet.ts";
import { proxyFromEnv } from "../adapters/serve/workerd.ts";
import { createProxy } from "../src/proxy/create_proxy.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";
import { S3RVER_CREDENTIALS, startS3rver } from "./harness/s3rver.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";
import { s3Store } from "../adapters/s3/s3_store.ts";
import type { R2BucketBinding } from "../adapters/r2/r2_bucket.ts";

/** Miniflare with one R2 bucket `BLOBS`; disposing it stops workerd. */
async function startR2(): Promise<{ BLOBS: R2BucketBinding } & AsyncDisposable> {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response('') } }",
    r2Buckets: ["BLOBS"],
  });
  const BLOBS = await mf.getR2Bucket("BLOBS") as unknown as R2BucketBinding;
  return { BLOBS, [Symbol.asyncDispose]: () => mf.dispose() };
}

/**
 * Waits (bounded: 5 s) until `done()` holds: a fill commits just after its clients got their last byte, and
 * releases its lease after that; the test must not stop the bucket under those requests.
 */
async function eventually(done: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (await done()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

async function metric(app: ReturnType<typeof proxyFromEnv>, name: string): Promise<number> {
  return metricValue(await (await app.fetch(new Request("http://replica.test/metrics"))).text(), name);
}

Deno.test("createProxy() replicas over one R2 bucket: 8 clients spread across 3 replicas on a cold blob cause one upstream GET", async () => {
  // 2 MiB sent in about a second: every client asks while the one download runs.
  await using blob = await coldBlob(2 << 20, 2 << 20);
  await using r2 = await startR2();
  const env = {
    UPSTREAMS: JSON.stringify({ local: blob.upstream.url }),
    DEFAULT_UPSTREAM: "local",
    BLOBS: r2.BLOBS,
    R2_PREFIX: "fleet",
  };
  const replicas = [proxyFromEnv(env), proxyFromEnv(env), proxyFromEnv(env)];
  const before = await blob.registry.accessLog();
  const bodies = await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const res = await replicas[i % 3].fetch(new Request(`http://replica.test${blob.path}`));
      assertEquals(res.status, 200, `client ${i}`);
      assertEquals(res.headers.get("content-length"), String(blob.size), `client ${i}`);
      return await sha256(new Uint8Array(await res.arrayBuffer()));
    }),
  );
  for (const digest of bodies) assertEquals(digest, blob.digest);
  const log = (await blob.registry.accessLog()).slice(before.length);
  assertEquals(countRequests(log, "GET", `/blobs/${blob.digest}`), 1, "one upstream GET for the fleet");
  // The per-replica access rule: each replica that did not download the blob asks the upstream (a HEAD with
  // the caller's credentials) before it serves it, once for its concurrent clients of that caller.
  const heads = countRequests(log, "HEAD", `/blobs/${blob.digest}`);
  assertEquals(heads, 2, "one HEAD per replica that did not download the blob");
  console.log(`[lease] 8 clients over 3 replicas: 1 GET and ${heads} HEAD(s) upstream`);
  let waits = 0;
  for (const app of replicas) waits += await metric(app, "tug_proxy_lease_waits_total");
  let takeovers = 0;
  for (const app of replicas) takeovers += await metric(app, "tug_proxy_lease_takeovers_total");
  assertEquals(takeovers, 0);
  // Committed, then the lease released.
  assert(
    await eventually(async () =>
      await r2.BLOBS.head(`fleet/blobs/sha256/${blob.digest.slice(7)}`) !== null &&
      (await r2.BLOBS.list({ prefix: "fleet/leases/" })).objects.length === 0
    ),
    "the blob is committed and its lease released",
  );
  assert(waits <= 2, `lease waits ${waits}`);
});

Deno.test("createProxy() over R2: a replica that died mid-download (its lease left behind) is taken over once the lease lapsed", async () => {
  await using blob = await coldBlob(256 << 10, 4 << 20);
  await using r2 = await startR2();
  const env = {
    UPSTREAMS: JSON.stringify({ local: blob.upstream.url }),
    DEFAULT_UPSTREAM: "local",
    BLOBS: r2.BLOBS,
    R2_PREFIX: "fleet",
  };
  // The lease a dead replica left: it recorded the size and stopped renewing; it lapses in 400 ms.
  const key = `fleet/leases/sha256/${blob.digest.slice("sha256:".length)}`;
  const expires = Date.now() + 400;
  await r2.BLOBS.put(
    key,
    new TextEncoder().encode(JSON.stringify({ holder: "dead", size: blob.size, expires })),
  );
  const replica = proxyFromEnv(env);
  const before = await blob.registry.accessLog();
  const bodies = await Promise.allSettled(
    Array.from({ length: 4 }, async () => {
      const res = await replica.fetch(new Request(`http://replica.test${blob.path}`));
      return `${res.status} ${await sha256(new Uint8Array(await res.arrayBuffer()))}`;
    }),
  );
  const served = Date.now();
  // When the lease had lapsed before the replica first looked, it took it at once and its clients streamed
  // the download itself: the commit and the release come just after their last byte.
  const settled = await eventually(async () =>
    await r2.BLOBS.head(`fleet/blobs/sha256/${blob.digest.slice(7)}`) !== null &&
    (await r2.BLOBS.list({ prefix: "fleet/leases/" })).objects.length === 0
  );
  const log = (await blob.registry.accessLog()).slice(before.length);
  // Everything observed in one comparison, so that a failure shows all of it.
  assertEquals({
    bodies: bodies.map((b) => b.status === "fulfilled" ? b.value : String(b.reason)),
    afterLapse: served >= expires,
    upstreamGets: countRequests(log, "GET", `/blobs/${blob.digest}`),
    takeovers: await metric(replica, "tug_proxy_lease_takeovers_total"),
    // It waited for the lease to lapse, unless it had already lapsed when it asked (a loaded machine).
    waitedAtMostOnce: await metric(replica, "tug_proxy_lease_waits_total") <= 1,
    committedAndReleased: settled,
  }, {
    bodies: Array(4).fill(`200 ${blob.digest}`),
    afterLapse: true,
    upstreamGets: 1,
    takeovers: 1,
    waitedAtMostOnce: true,
    committedAndReleased: true,
  });
});

Deno.test("createProxy() over R2: a lease that lapsed before the replica asked is taken over at once, and its clients stream the download", async () => {
  await using blob = await coldBlob(256 << 10, 4 << 20);
  await using r2 = await startR2();
  const env = {
    UPSTREAMS: JSON.stringify({ local: blob.upstream.url }),
    DEFAULT_UPSTREAM: "local",
    BLOBS: r2.BLOBS,
    R2_PREFIX: "fleet",
  };
  const key = `fleet/leases/sha256/${blob.digest.slice("sha256:".length)}`;
  const record = { holder: "dead", size: blob.size, expires: Date.now() - 1 };
  await r2.BLOBS.put(key, new TextEncoder().encode(JSON.stringify(record)));
  const replica = proxyFromEnv(env);
  const before = await blob.registry.accessLog();
  const bodies = await Promise.allSettled(
    Array.from({ length: 3 }, async () => {
      const res = await replica.fetch(new Request(`http://replica.test${blob.path}`));
      return `${res.status} ${await sha256(new Uint8Array(await res.arrayBuffer()))}`;
    }),
  );
  const settled = await eventually(async () =>
    await r2.BLOBS.head(`fleet/blobs/sha256/${blob.digest.slice(7)}`) !== null &&
    (await r2.BLOBS.list({ prefix: "fleet/leases/" })).objects.length === 0
  );
  const log = (await blob.registry.accessLog()).slice(before.length);
  assertEquals({
    bodies: bodies.map((b) => b.status === "fulfilled" ? b.value : String(b.reason)),
    upstreamGets: countRequests(log, "GET", `/blobs/${blob.digest}`),
    takeovers: await metric(replica, "tug_proxy_lease_takeovers_total"),
    waits: await metric(replica, "tug_proxy_lease_waits_total"),
    committedAndReleased: settled,
  }, {
    bodies: Array(3).fill(`200 ${blob.digest}`),
    upstreamGets: 1,
    takeovers: 1,
    waits: 0,
    committedAndReleased: true,
  });
});

Deno.test("createProxy() replicas over s3rver, which ignores If-None-Match: every replica may download, every client gets the right bytes", async () => {
  await using blob = await coldBlob(1 << 20, 1 << 20);
  await using s3 = await startS3rver();
  const options = {
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    credentials: S3RVER_CREDENTIALS,
    prefix: "fleet",
  };
  // s3rver "creates" an object that exists: the conditional write cannot pick one holder.
  const bucket = new S3Bucket(options);
  assert(await bucket.put("probe", new Uint8Array(1), { ifNoneMatch: true }));
  assert(await bucket.put("probe", new Uint8Array(1), { ifNoneMatch: true }), "s3rver ignores If-None-Match");
  const replicas = [0, 1].map(() =>
    createProxy({ store: s3Store(options), upstreams: { local: blob.upstream.url }, hasher: nodeHasher })
  );
  const before = await blob.registry.accessLog();
  const digests = await Promise.all(Array.from({ length: 4 }, async (_, i) => {
    const res = await replicas[i % 2].fetch(new Request(`http://replica.test${blob.path}`));
    assertEquals(res.status, 200);
    return await sha256(new Uint8Array(await res.arrayBuffer()));
  }));
  for (const digest of digests) assertEquals(digest, blob.digest);
  // Each replica's commit and release come just after its clients' last byte: wait before stopping s3rver.
  const blobKey = `fleet/blobs/sha256/${blob.digest.slice(7)}`;
  assert(
    await eventually(async () => {
      if (await bucket.head(blobKey) === undefined) return false;
      for await (const _ of bucket.list("fleet/leases/")) return false;
      return true;
    }),
    "committed, every lease released",
  );
  const gets = countRequests(
    (await blob.registry.accessLog()).slice(before.length),
    "GET",
    `/blobs/${blob.digest}`,
  );
  assert(gets >= 1 && gets <= 2, `at most one download per replica: ${gets}`);
  console.log(`[lease] s3rver (no conditional writes), 4 clients over 2 replicas: ${gets} upstream GET(s)`);
});
