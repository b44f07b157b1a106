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
  // The per-replica access rule: a replica that did not download the blob asks the upstream (a HEAD with
  // the caller's credentials) before it serves it; concurrent first requests each ask.
  const heads = countRequests(log, "HEAD", `/blobs/${blob.digest}`);
  assert(heads >= 1 && heads <= 7, `HEADs upstream: ${heads}`);
  console.log(`[lease] 8 clients over 3 replicas: 1 GET and ${heads} HEAD(s) upstream`);
  let waits = 0;
  for (const app of replicas) waits += await metric(app, "tug_proxy_lease_waits_total");
  let takeovers = 0;
  for (const app of replicas) takeovers += await metric(app, "tug_proxy_lease_takeovers_total");
  assertEquals(takeovers, 0);
  // The lease is gone once the blob is committed (released just after the commit: bounded wait).
  let leases = (await r2.BLOBS.list({ prefix: "fleet/leases/" })).objects.length;
  for (let i = 0; i < 100 && leases > 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    leases = (await r2.BLOBS.list({ prefix: "fleet/leases/" })).objects.length;
  }
  assertEquals(leases, 0);
  assert(await r2.BLOBS.head(`fleet/blobs/sha256/${blob.digest.slice(7)}`) !== null, "committed");
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
  const bodies = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const res = await replica.fetch(new Request(`http://replica.test${blob.path}`));
      assertEquals(res.status, 200);
      return await sha256(new Uint8Array(await res.arrayBuffer()));
    }),
  );
  for (const digest of bodies) assertEquals(digest, blob.digest);
  assert(Date.now() >= expires, "served only after the dead replica's lease lapsed");
  const log = (await blob.registry.accessLog()).slice(before.length);
  assertEquals(countRequests(log, "GET", `/blobs/${blob.digest}`), 1);
  assertEquals(await metric(replica, "tug_proxy_lease_takeovers_total"), 1);
  // It waited for the lease to lapse, unless it had already lapsed when it asked (a loaded machine).
  assert(await metric(replica, "tug_proxy_lease_waits_total") <= 1);
  assert(await r2.BLOBS.head(`fleet/blobs/sha256/${blob.digest.slice(7)}`) !== null, "committed");
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
  const gets = countRequests(
    (await blob.registry.accessLog()).slice(before.length),
    "GET",
    `/blobs/${blob.digest}`,
  );
  assert(gets >= 1 && gets <= 2, `at most one download per replica: ${gets}`);
  console.log(`[lease] s3rver (no conditional writes), 4 clients over 2 replicas: ${gets} upstream GET(s)`);
});
