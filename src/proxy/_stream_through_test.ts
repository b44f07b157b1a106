import { assert, assertEquals, assertThrows } from "../../test/_assert.ts";
import type { BlobLeases } from "../store/types.ts";
import { blobRoute, type Defer } from "./_blobs.ts";
import type { Caller } from "./_caller.ts";
import { fakeContext, fakeImage, fakeUpstream } from "./_fake_upstream_test_util.ts";
import { STREAM_CHUNK, streamsThrough, verifiedStream } from "./_stream_through.ts";
import { resolveTarget, type Target } from "./_target.ts";
import { MemoryStore } from "../store/memory_store.ts";
import { digestBytes } from "../digest/digest_bytes.ts";

const anonymous: Caller = { key: "anonymous" };
const request = (headers: Record<string, string> = {}, method = "GET") =>
  new Request("http://proxy.test/v2/acme/app/blobs/x", { method, headers });

function deferred(): { defer: Defer; settle: () => Promise<unknown> } {
  const work: Promise<unknown>[] = [];
  return { defer: (w) => void work.push(w), settle: () => Promise.allSettled(work) };
}

/** A stream of `bytes` in chunks of `chunk` bytes. */
function chunked(bytes: Uint8Array, chunk: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

/** Reads `stream` to its end or its error: the bytes received, and the error if any. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<{ bytes: Uint8Array; error?: unknown }> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
  } catch (error) {
    return { bytes: concat(parts), error };
  }
  return { bytes: concat(parts) };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const gets = (requests: string[], digest: string) =>
  requests.filter((r) => r.startsWith("GET") && r.includes(`/blobs/${digest}`)).length;

Deno.test("streamsThrough() routes only a blob larger than the limit around the shared download", () => {
  assertEquals(streamsThrough(undefined, 1e12), false);
  assertEquals(streamsThrough(1000, 999), false);
  assertEquals(streamsThrough(1000, 1000), false);
  assertEquals(streamsThrough(1000, 1001), true);
  assertEquals(streamsThrough(0, 0), false);
  assertEquals(streamsThrough(0, 1), true);
});

Deno.test("verifiedStream() gives a whole blob or any range of it, verified", async () => {
  const bytes = crypto.getRandomValues(new Uint8Array(10_000));
  const digest = await digestBytes(bytes, "sha256");
  const whole = await drain(
    verifiedStream(chunked(bytes, 777), { digest, size: bytes.length, readTimeout: 0 }),
  );
  assertEquals(whole.error, undefined);
  assertEquals(whole.bytes, bytes);
  for (const [start, end] of [[0, 1], [776, 778], [5000, 10_000], [9999, 10_000], [1554, 2331]]) {
    const part = await drain(
      verifiedStream(chunked(bytes, 777), { digest, size: bytes.length, start, end, readTimeout: 0 }),
    );
    assertEquals(part.error, undefined, `${start}-${end}`);
    assertEquals(part.bytes, bytes.slice(start, end), `${start}-${end}`);
  }
});

Deno.test("verifiedStream() errors on a wrong byte, a short or a long body, and never gives all the bytes", async () => {
  const bytes = crypto.getRandomValues(new Uint8Array(10_000));
  const digest = await digestBytes(bytes, "sha256");
  const wrong = bytes.slice();
  wrong[9990] ^= 0xff;
  const cases: Array<[string, Uint8Array, string]> = [
    ["a flipped byte", wrong, "DIGEST_MISMATCH"],
    ["a short body", bytes.slice(0, 9000), "SIZE_MISMATCH"],
    ["a long body", concat([bytes, new Uint8Array(5)]), "SIZE_MISMATCH"],
  ];
  for (const [what, body, code] of cases) {
    for (const [start, end] of [[0, 10_000], [0, 100], [9000, 10_000]]) {
      const got = await drain(
        verifiedStream(chunked(body, 1000), { digest, size: bytes.length, start, end, readTimeout: 0 }),
      );
      assertEquals((got.error as { code?: string } | undefined)?.code, code, `${what} ${start}-${end}`);
      assert(got.bytes.length < end - start, `${what} ${start}-${end}: ${got.bytes.length} bytes given`);
    }
  }
});

Deno.test("verifiedStream() reads the upstream only as its reader reads, and cancels it when cancelled", async () => {
  const bytes = new Uint8Array(100_000).map((_, i) => (i * 31) & 0xff);
  const digest = await digestBytes(bytes, "sha256");
  let pulled = 0;
  let cancelled = false;
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(bytes.slice(at, at + 1000));
      at += 1000;
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  const reader = verifiedStream(body, { digest, size: bytes.length, readTimeout: 0 }).getReader();
  assertEquals((await reader.read()).value, bytes.slice(0, 1000));
  // One chunk held back, one handed out: the upstream was asked for two, not the blob.
  assertEquals(pulled, 2);
  await reader.cancel();
  assert(cancelled);
});

Deno.test("verifiedStream() reads a byte stream (a fetch body) in whole chunks of STREAM_CHUNK, whatever it sends", async () => {
  const bytes = new Uint8Array(3 * STREAM_CHUNK + 5).map((_, i) => (i * 13) & 0xff);
  const digest = await digestBytes(bytes, "sha256");
  let at = 0;
  // A byte stream that gives 4 KiB at a time, as workerd's fetch bodies do.
  const body = new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (at >= bytes.length) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const n = Math.min(4096, bytes.length - at);
      controller.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
  const reader = verifiedStream(body, { digest, size: bytes.length, readTimeout: 0 }).getReader();
  const sizes: number[] = [];
  const parts: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    sizes.push(value.byteLength);
    parts.push(value);
  }
  assertEquals(sizes, [STREAM_CHUNK, STREAM_CHUNK, STREAM_CHUNK, 5]);
  assertEquals(concat(parts), bytes);
});

Deno.test("verifiedStream() fails with TIMEOUT when the upstream sends nothing for readTimeout, and cancels it", async () => {
  const bytes = new Uint8Array(1000);
  const digest = await digestBytes(bytes, "sha256");
  let cancelled: unknown;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.slice(0, 10));
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  const got = await drain(verifiedStream(body, { digest, size: bytes.length, readTimeout: 20 }));
  assertEquals((got.error as { code?: string }).code, "TIMEOUT");
  assertEquals(got.bytes.length, 0);
  assertEquals((cancelled as { code?: string }).code, "TIMEOUT");
});

Deno.test("blobRoute() with streamThroughAbove: a blob over it is GET upstream per client, verified, and never stored", async () => {
  const big = await fakeImage(300_000, 3);
  const upstream = fakeUpstream({ "acme/app": big });
  const store = new MemoryStore();
  const ctx = fakeContext(upstream, { store, streamThroughAbove: 100_000 });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const answers = await Promise.all(
    Array.from({ length: 4 }, () => blobRoute(ctx, request(), target, anonymous, big.layerDigest, defer)),
  );
  for (const answer of answers) {
    assertEquals(answer.status, 200);
    assertEquals(answer.headers.get("content-length"), String(big.layer.length));
    assertEquals(new Uint8Array(await answer.arrayBuffer()), big.layer);
  }
  await settle();
  assertEquals(gets(upstream.requests, big.layerDigest), 4, "one upstream GET per client");
  assertEquals(await store.blobs.stat(big.layerDigest), undefined, "not stored");
  assertEquals(store.bytes, 0);
  // Warm: still not kept, so the next client streams its own GET too; a range from byte 0 as well.
  const ranged = await blobRoute(
    ctx,
    request({ range: "bytes=10-1009" }),
    target,
    anonymous,
    big.layerDigest,
    defer,
  );
  assertEquals(ranged.status, 206);
  assertEquals(ranged.headers.get("content-range"), `bytes 10-1009/${big.layer.length}`);
  assertEquals(new Uint8Array(await ranged.arrayBuffer()), big.layer.slice(10, 1010));
  const head = await blobRoute(ctx, request({}, "HEAD"), target, anonymous, big.layerDigest, defer);
  assertEquals([head.status, head.headers.get("content-length")], [200, String(big.layer.length)]);
  await settle();
  assertEquals(gets(upstream.requests, big.layerDigest), 5);
  assertEquals(store.bytes, 0);
});

Deno.test("blobRoute() with streamThroughAbove: a blob at or under it is still downloaded once and cached", async () => {
  const small = await fakeImage(100_000, 4);
  const upstream = fakeUpstream({ "acme/app": small });
  const store = new MemoryStore();
  const ctx = fakeContext(upstream, { store, streamThroughAbove: 100_000 });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const answers = await Promise.all(
    Array.from({ length: 4 }, () => blobRoute(ctx, request(), target, anonymous, small.layerDigest, defer)),
  );
  for (const answer of answers) assertEquals(new Uint8Array(await answer.arrayBuffer()), small.layer);
  await settle();
  assertEquals(gets(upstream.requests, small.layerDigest), 1);
  assertEquals((await store.blobs.stat(small.layerDigest))?.size, small.layer.length);
});

Deno.test("blobRoute() with streamThroughAbove: a Range far into a blob over it is forwarded, and no whole-blob GET fills the cache", async () => {
  const big = await fakeImage(5 << 20, 6);
  const upstream = fakeUpstream({ "acme/app": big });
  const store = new MemoryStore();
  const ctx = fakeContext(upstream, { store, streamThroughAbove: 1 << 20 });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const start = (4 << 20) + 7;
  const answer = await blobRoute(
    ctx,
    request({ range: `bytes=${start}-` }),
    target,
    anonymous,
    big.layerDigest,
    defer,
  );
  assertEquals(answer.status, 206);
  assertEquals(new Uint8Array(await answer.arrayBuffer()), big.layer.slice(start));
  await settle();
  assertEquals(upstream.requests.filter((r) => r.includes(`/blobs/${big.layerDigest}`)).length, 1);
  assertEquals(store.bytes, 0);
});

Deno.test("blobRoute() with streamThroughAbove: clients that joined a download of a blob over it are answered by the upstream with their own credentials", async () => {
  const big = await fakeImage(300_000, 7);
  let seen!: () => void;
  const gotGet = new Promise<void>((resolve) => seen = resolve);
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const upstream = fakeUpstream({ "acme/app": big }, { private: ["acme/app"] });
  const ctx = fakeContext(upstream, {
    streamThroughAbove: 100_000,
    // The first whole-blob GET waits until the other clients joined its download.
    fetch: async (req) => {
      if (req.method === "GET" && req.url.includes("/blobs/") && !req.headers.has("range")) {
        seen();
        await released;
      }
      return await upstream.fetch(req);
    },
  });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const user: Caller = { key: "user", credentials: { username: "user", password: "secret" } };
  const first = blobRoute(ctx, request(), target, user, big.layerDigest, defer);
  await gotGet;
  const joined = [
    blobRoute(ctx, request({}, "HEAD"), target, anonymous, big.layerDigest, defer),
    blobRoute(ctx, request(), target, anonymous, big.layerDigest, defer),
    blobRoute(ctx, request({ range: "bytes=5-9" }), target, anonymous, big.layerDigest, defer),
  ];
  release();
  const answer = await first;
  assertEquals(new Uint8Array(await answer.arrayBuffer()), big.layer);
  for (const denied of await Promise.all(joined)) {
    assertEquals(denied.status, 401);
    await denied.body?.cancel();
  }
  await settle();
});

Deno.test("blobRoute() with streamThroughAbove: a wrong byte from upstream fails the client's body, never complete", async () => {
  const big = await fakeImage(300_000, 5);
  const upstream = fakeUpstream({ "acme/app": big });
  const bad = big.layer.slice();
  bad[299_999] ^= 0xff;
  const ctx = fakeContext(
    upstream,
    {
      streamThroughAbove: 100_000,
      fetch: (req) =>
        req.method === "GET" && req.url.includes(`/blobs/${big.layerDigest}`)
          ? Promise.resolve(
            new Response(chunked(bad, 64 * 1024), { headers: { "content-length": "300000" } }),
          )
          : upstream.fetch(req),
    },
  );
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const answers = await Promise.all(
    Array.from({ length: 3 }, () => blobRoute(ctx, request(), target, anonymous, big.layerDigest, defer)),
  );
  for (const answer of answers) {
    assertEquals(answer.status, 200);
    const got = await drain(answer.body!);
    assertEquals((got.error as { code?: string } | undefined)?.code, "DIGEST_MISMATCH");
    assert(got.bytes.length < big.layer.length, `${got.bytes.length} bytes given`);
  }
  await settle();
  assertEquals(await ctx.store.blobs.stat(big.layerDigest), undefined);
});

Deno.test("createProxy() refuses a streamThroughAbove that is not a byte count, or over a store shared by processes", async () => {
  const upstream = fakeUpstream({ "acme/app": await fakeImage(10) });
  for (const bad of [-1, 1.5, NaN]) {
    assertThrows(() => fakeContext(upstream, { streamThroughAbove: bad }), TypeError, "streamThroughAbove");
  }
  const shared = Object.assign(new MemoryStore(), { leases: {} as BlobLeases });
  assertThrows(
    () => fakeContext(upstream, { store: shared, streamThroughAbove: 1 }),
    TypeError,
    "store of one process",
  );
  assertEquals(fakeContext(upstream, { streamThroughAbove: 0 }).streamThroughAbove, 0);
});
