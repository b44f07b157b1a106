// The S3 store against a bucket that stops answering: a front server forwards to a real s3rver and, where a
// test says so, holds a request without answering, or answers and then sends nothing more. Without a time
// limit each of these held its caller forever (and a fill whose part upload hung held every client of it).
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { S3RVER_CREDENTIALS, startS3rver } from "./harness/s3rver.ts";
import { startFront } from "./_s3_front.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { startProxy } from "./_proxy_helpers.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";
import { nodeBodyFetch } from "../adapters/s3/node_body_fetch.ts";
import { s3Store } from "../adapters/s3/s3_store.ts";

/** A promise held until `release()`: a front's held requests end with the test (the server can then stop). */
function holder(): { hold: () => Promise<Response>; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  return { hold: () => released.then(() => new Response("late", { status: 503 })), release };
}

const fast = { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 };

for (const [label, fetchFn] of [["fetch", undefined], ["nodeBodyFetch", nodeBodyFetch()]] as const) {
  Deno.test(`S3Bucket (${label}): an attempt that gets no answer within the time limit is sent again; lasting silence fails naming the limit`, async () => {
    await using s3 = await startS3rver();
    await using front = startFront(s3.endpoint);
    const held = holder();
    try {
      const bucket = new S3Bucket({
        bucket: s3.bucket,
        endpoint: front.endpoint,
        credentials: S3RVER_CREDENTIALS,
        timeout: 300,
        retry: fast,
        ...(fetchFn ? { fetch: fetchFn } : {}),
      });
      const bytes = new Uint8Array(64 << 10).fill(7);
      // The first PUT is held (a byte body: nodeBodyFetch's own path), the second reaches s3rver.
      let puts = 0;
      front.hook = (request) => request.method === "PUT" && ++puts === 1 ? held.hold() : undefined;
      assert(await bucket.put("k", bytes));
      assertEquals(puts, 2);
      assertEquals(await bucket.head("k"), { size: bytes.length });

      // Every attempt held: the error names the limit and the attempts.
      front.hook = (request) => request.method === "HEAD" ? held.hold() : undefined;
      const err = await assertRejects(() => bucket.head("k"));
      assertEquals((err as { code?: string }).code, "STORE_IO");
      assertStringIncludes((err as Error).message, "no answer within 300 ms");
      assertStringIncludes((err as Error).message, "after 2 attempts");
    } finally {
      held.release();
    }
  });
}

Deno.test("S3Bucket.get(): a body the bucket stops sending fails with TIMEOUT instead of waiting forever", async () => {
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  const held = holder();
  try {
    const bucket = new S3Bucket({
      bucket: s3.bucket,
      endpoint: front.endpoint,
      credentials: S3RVER_CREDENTIALS,
      timeout: 300,
      retry: fast,
    });
    assert(await bucket.put("k", new Uint8Array(1 << 20).fill(1)));
    // The answer's headers and 1 KiB come, then nothing (the connection stays open).
    front.after = (request) => {
      if (request.method !== "GET") return undefined;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new Uint8Array(1024));
        },
        pull: () => held.hold().then(() => {}),
      });
      return new Response(body, { headers: { "content-length": String(1 << 20) } });
    };
    const stream = await bucket.get("k");
    assert(stream !== undefined);
    const err = await assertRejects(() => new Response(stream).arrayBuffer());
    assertEquals((err as { code?: string }).code, "TIMEOUT");
    assertStringIncludes((err as Error).message, "300 ms");
  } finally {
    held.release();
  }
});

Deno.test("createProxy() over s3Store: a bucket that stops answering part uploads does not stop the download; the blob is not cached", async () => {
  const { registry, images } = await sharedRegistry();
  const layer = images.large.layers[0];
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  const held = holder();
  try {
    const store = s3Store({
      bucket: s3.bucket,
      endpoint: front.endpoint,
      credentials: S3RVER_CREDENTIALS,
      prefix: "p",
      // Small parts: an attempt's limit grows with its body (1 ms per 128 bytes), so a part of 256 KiB
      // times out after 300 + 2048 ms.
      partSize: 256 << 10,
      timeout: 300,
      retry: fast,
    });
    assert(layer.size > 2 * (256 << 10), `the large layer spans several parts (${layer.size} bytes)`);
    // Every part upload is held: the bucket takes the upload's start, then never answers again.
    front.hook = (request, url) =>
      request.method === "PUT" && url.searchParams.has("partNumber") ? held.hold() : undefined;
    await using proxy = await startProxy({ upstreams: { up: registry.url }, store });
    const response = await fetch(`${proxy.url}/v2/${images.large.repository}/blobs/${layer.digest}`);
    assertEquals(response.status, 200);
    const got = new Uint8Array(await response.arrayBuffer());
    assertEquals(got.length, layer.size);
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", got));
    assertEquals("sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join(""), layer.digest);
    front.hook = () => undefined;
    assertEquals(await store.blobs.stat(layer.digest), undefined);
  } finally {
    held.release();
  }
});

Deno.test("S3Bucket.list(): a listing page the bucket stops sending fails with TIMEOUT", async () => {
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  const held = holder();
  try {
    const bucket = new S3Bucket({
      bucket: s3.bucket,
      endpoint: front.endpoint,
      credentials: S3RVER_CREDENTIALS,
      timeout: 300,
      retry: fast,
    });
    assert(await bucket.put("a/k", new Uint8Array(10)));
    // The page's headers and its first bytes come, then nothing.
    front.after = (request, url) => {
      if (request.method !== "GET" || !url.searchParams.has("list-type")) return undefined;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode(`<?xml version="1.0"?><ListBucketResult>`));
        },
        pull: () => held.hold().then(() => {}),
      });
      return new Response(body, { headers: { "content-type": "application/xml" } });
    };
    const err = await assertRejects(async () => {
      for await (const _ of bucket.list("a/")) { /* the first page never ends */ }
    });
    assertEquals((err as { code?: string }).code, "TIMEOUT");
  } finally {
    held.release();
  }
});
