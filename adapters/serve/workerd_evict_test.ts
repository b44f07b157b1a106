// The worker's bucket cap (`BUCKET_MAX_BYTES`, `BUCKET_EVICT_GRACE`): bindings it cannot use are refused
// naming themselves, an isolate writes its usage record at most once a minute for what it serves, and
// `scheduled()` without a cap does nothing and says so once. The pass itself runs on workerd over R2 in
// test/proxy_r2_worker_evict_test.ts.
import { assert, assertEquals, assertThrows } from "../../test/_assert.ts";
import { bucketCapFromEnv, BucketEviction, FLUSH_INTERVAL_MS } from "./_workerd_evict.ts";
import { createWorker, proxyFromEnv } from "./workerd.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";
import type { ObjectBucket } from "../../src/store/object_store.ts";
import type { R2BucketBinding } from "../r2/r2_bucket.ts";

const UPSTREAMS = '{"hub":"https://registry.example"}';
// No request reaches the binding in these tests: the store is only built.
const BLOBS = {} as unknown as R2BucketBinding;

Deno.test("bucketCapFromEnv() BUCKET_MAX_BYTES takes bytes or a size such as 50GB; BUCKET_EVICT_GRACE whole seconds (default 600)", () => {
  assertEquals(bucketCapFromEnv({}), undefined);
  assertEquals(bucketCapFromEnv({ BLOBS, BUCKET_MAX_BYTES: "" }), undefined);
  assertEquals(bucketCapFromEnv({ BLOBS, BUCKET_MAX_BYTES: "1048576" }), {
    maxBytes: 1 << 20,
    graceMs: 600_000,
  });
  assertEquals(bucketCapFromEnv({ BLOBS, BUCKET_MAX_BYTES: "50GB" })?.maxBytes, 50 * 1024 ** 3);
  assertEquals(bucketCapFromEnv({ BLOBS, BUCKET_MAX_BYTES: "1.5TiB" })?.maxBytes, 1.5 * 1024 ** 4);
  assertEquals(bucketCapFromEnv({ BLOBS, BUCKET_MAX_BYTES: "0", BUCKET_EVICT_GRACE: "0" }), {
    maxBytes: 0,
    graceMs: 0,
  });
  assertEquals(
    bucketCapFromEnv({ BLOBS, BUCKET_MAX_BYTES: "1GB", BUCKET_EVICT_GRACE: "120" })?.graceMs,
    120_000,
  );
});

Deno.test("proxyFromEnv() BUCKET_MAX_BYTES that is not a size is refused naming BUCKET_MAX_BYTES and its form", () => {
  for (const value of ["lots", "-1", "50 GB GB", "1e9"]) {
    assertThrows(
      () => proxyFromEnv({ UPSTREAMS, BLOBS, BUCKET_MAX_BYTES: value }),
      TypeError,
      "BUCKET_MAX_BYTES must be bytes or a size such as 50GB",
    );
  }
});

Deno.test("proxyFromEnv() BUCKET_MAX_BYTES without an R2 binding BLOBS is refused naming BLOBS (not silently ignored)", () => {
  assertThrows(
    () => proxyFromEnv({ UPSTREAMS, BUCKET_MAX_BYTES: "10GB" }),
    TypeError,
    "BUCKET_MAX_BYTES caps the R2 bucket bound as BLOBS, and the worker has no BLOBS binding",
  );
});

Deno.test("proxyFromEnv() BUCKET_MAX_BYTES with a deployer's own store is refused: the cap is of the BLOBS cache", () => {
  assertThrows(
    () => proxyFromEnv({ UPSTREAMS, BLOBS, BUCKET_MAX_BYTES: "10GB" }, { store: () => new MemoryStore() }),
    TypeError,
    "this worker's entry passes its own store",
  );
});

Deno.test("proxyFromEnv() BUCKET_EVICT_GRACE that is not whole seconds, or without BUCKET_MAX_BYTES, is refused naming it", () => {
  for (const value of ["10m", "soon", "-1", "1.5"]) {
    assertThrows(
      () => proxyFromEnv({ UPSTREAMS, BLOBS, BUCKET_MAX_BYTES: "10GB", BUCKET_EVICT_GRACE: value }),
      TypeError,
      "BUCKET_EVICT_GRACE must be whole seconds",
    );
  }
  assertThrows(
    () => proxyFromEnv({ UPSTREAMS, BLOBS, BUCKET_EVICT_GRACE: "60" }),
    TypeError,
    "BUCKET_EVICT_GRACE applies only with BUCKET_MAX_BYTES",
  );
  proxyFromEnv({ UPSTREAMS, BLOBS, BUCKET_MAX_BYTES: "10GB", BUCKET_EVICT_GRACE: "60" });
});

/** A bucket that records what is written to it (and holds nothing). */
function recordingBucket(): ObjectBucket & { puts: string[] } {
  const puts: string[] = [];
  return {
    puts,
    head: () => Promise.resolve(undefined),
    get: () => Promise.resolve(undefined),
    put: (key) => Promise.resolve(puts.push(key) > 0),
    delete: () => Promise.resolve(),
    list: async function* () {},
    createMultipartUpload: () => Promise.reject(new Error("not used")),
  };
}

Deno.test("BucketEviction writes an isolate's usage record after a response at most once a minute, and after every fill's work", async () => {
  const clock = { now: 1_000_000 };
  const bucket = recordingBucket();
  const silent = { log: () => {}, error: () => {} };
  const eviction = new BucketEviction(bucket, { maxBytes: 1 << 30, graceMs: 0 }, {
    prefix: "cache",
    now: () => clock.now,
    log: silent,
  });
  const store = eviction.wrap(new MemoryStore());
  const bytes = new TextEncoder().encode("blob");
  const digest = "sha256:" +
    Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
      (b) => b.toString(16).padStart(2, "0"),
    )
      .join("");
  const deferred: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (p: Promise<unknown>) => void deferred.push(p),
    passThroughOnException() {},
    props: {},
  };
  const settle = async () => {
    await Promise.all(deferred.splice(0));
  };
  const usage = () => bucket.puts.filter((k) => k.startsWith("cache/usage/")).length;

  // A fill: the work the proxy defers through the request's context commits the blob; a record follows.
  const request = eviction.context(ctx);
  request.waitUntil((async () => {
    const writer = await store.blobs.writer({ digest, size: bytes.length });
    await writer.write(bytes);
    await writer.commit();
  })());
  await settle();
  assertEquals(usage(), 1, "the new blob is written for the next pass, in whatever isolate it runs");

  // Blobs served: one record, then none for the rest of the minute, then one.
  const serve = async () => {
    await (await store.blobs.get(digest)).cancel();
    eviction.afterRequest(ctx);
    await settle();
  };
  await serve();
  assertEquals(usage(), 1, "within a minute of the last record");
  clock.now += FLUSH_INTERVAL_MS / 2;
  await serve();
  assertEquals(usage(), 1);
  clock.now += FLUSH_INTERVAL_MS / 2;
  await serve();
  assertEquals(usage(), 2, "a minute after the last record");
  // Nothing served since: nothing written.
  clock.now += 2 * FLUSH_INTERVAL_MS;
  eviction.afterRequest(ctx);
  await settle();
  assertEquals(usage(), 2);
});

Deno.test("createWorker().scheduled() without BUCKET_MAX_BYTES does nothing and says so once per isolate", async () => {
  const said: unknown[][] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void said.push(args);
  try {
    const worker = createWorker({ store: () => new MemoryStore() });
    const deferred: Promise<unknown>[] = [];
    const ctx = {
      waitUntil: (p: Promise<unknown>) => void deferred.push(p),
      passThroughOnException() {},
      props: {},
    };
    for (let i = 0; i < 3; i++) {
      await worker.scheduled({ cron: "*/10 * * * *", scheduledTime: Date.now() }, { UPSTREAMS }, ctx);
    }
    await Promise.all(deferred);
    assertEquals(said.length, 1);
    assert(String(said[0][0]).includes("nothing to evict (BUCKET_MAX_BYTES is not set"), String(said[0][0]));
  } finally {
    console.log = log;
  }
});
