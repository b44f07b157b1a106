import { assert, assertEquals } from "../../test/_assert.ts";
import { BlobFill, FILL_WINDOW } from "./_blob_fill.ts";
import { blobRoute, type Defer, fillKey, RANGE_FROM_FILL } from "./_blobs.ts";
import type { Caller } from "./_caller.ts";
import { fakeContext, fakeImage, fakeUpstream } from "./_fake_upstream_test_util.ts";
import { resolveTarget, type Target } from "./_target.ts";
import { vanishingStore } from "./_vanishing_store_test_util.ts";
import { MemoryStore } from "../store/memory_store.ts";
import type { BlobLeases, BlobWriter, Store } from "../store/types.ts";
import type { FetchLike } from "../registry/types.ts";

const anonymous: Caller = { key: "anonymous" };
const request = (headers: Record<string, string> = {}, method = "GET") =>
  new Request("http://proxy.test/v2/acme/app/blobs/x", { method, headers });

/** A Defer that keeps the deferred work, to await it at the end of a test. */
function deferred(): { defer: Defer; settle: () => Promise<unknown> } {
  const work: Promise<unknown>[] = [];
  return { defer: (w) => void work.push(w), settle: () => Promise.allSettled(work) };
}

Deno.test("blobRoute() downloads a cold blob once for concurrent clients, then serves it from the store", async () => {
  const image = await fakeImage(200_000);
  const upstream = fakeUpstream({ "acme/app": image });
  const ctx = fakeContext(upstream);
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const answers = await Promise.all(
    Array.from({ length: 4 }, () => blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer)),
  );
  for (const answer of answers) {
    assertEquals(answer.status, 200);
    assertEquals(new Uint8Array(await answer.arrayBuffer()), image.layer);
  }
  await settle();
  const gets = () => upstream.requests.filter((r) => r.startsWith("GET") && r.includes("/blobs/")).length;
  assertEquals(gets(), 1);
  assertEquals((await ctx.store.blobs.stat(image.layerDigest))?.size, image.layer.length);
  const ranged = await blobRoute(
    ctx,
    request({ range: "bytes=10-19" }),
    target,
    anonymous,
    image.layerDigest,
    defer,
  );
  assertEquals([ranged.status, ranged.headers.get("content-range")], [
    206,
    `bytes 10-19/${image.layer.length}`,
  ]);
  assertEquals(new Uint8Array(await ranged.arrayBuffer()), image.layer.slice(10, 20));
  assertEquals(gets(), 1, "a cached blob is served from the store");
});

Deno.test("blobRoute() forwards a Range far into an uncached blob and relays exactly its 206", async () => {
  const image = await fakeImage(RANGE_FROM_FILL + 1000, 3);
  const upstream = fakeUpstream({ "acme/app": image });
  const ctx = fakeContext(upstream);
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const start = RANGE_FROM_FILL + 10;
  const answer = await blobRoute(
    ctx,
    request({ range: `bytes=${start}-${start + 9}` }),
    target,
    anonymous,
    image.layerDigest,
    defer,
  );
  assertEquals(answer.status, 206);
  assertEquals(answer.headers.get("content-range"), `bytes ${start}-${start + 9}/${image.layer.length}`);
  assertEquals(new Uint8Array(await answer.arrayBuffer()), image.layer.slice(start, start + 10));
  await settle();
  // The range went upstream as a range; the whole blob was filled alongside.
  assertEquals(upstream.requests.filter((r) => r.includes("/blobs/")).length, 2);
  assertEquals((await ctx.store.blobs.stat(image.layerDigest))?.size, image.layer.length);
});

Deno.test("blobRoute() answers a HEAD on a miss from the upstream's HEAD and 416 past a cached blob's end", async () => {
  const image = await fakeImage(5000);
  const upstream = fakeUpstream({ "acme/app": image });
  const ctx = fakeContext(upstream);
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const head = await blobRoute(ctx, request({}, "HEAD"), target, anonymous, image.layerDigest, defer);
  assertEquals([head.status, head.headers.get("content-length")], [200, "5000"]);
  assertEquals(await ctx.store.blobs.stat(image.layerDigest), undefined, "a HEAD fills nothing");
  await (await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer)).arrayBuffer();
  await settle();
  const past = await blobRoute(
    ctx,
    request({ range: "bytes=6000-" }),
    target,
    anonymous,
    image.layerDigest,
    defer,
  );
  assertEquals([past.status, past.headers.get("content-range")], [416, "bytes */5000"]);
  await past.body?.cancel();
  const missing = await blobRoute(ctx, request(), target, anonymous, image.manifestDigest, defer);
  assertEquals(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("blobRoute() answers a cached blob deleted between stat() and get() from one new fill of the upstream", async () => {
  const image = await fakeImage(200_000);
  const upstream = fakeUpstream({ "acme/app": image });
  const store = vanishingStore(new MemoryStore());
  const ctx = fakeContext(upstream, { store });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const gets = () => upstream.requests.filter((r) => r.startsWith("GET") && r.includes("/blobs/")).length;
  await (await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer)).arrayBuffer();
  await settle();
  assertEquals(gets(), 1);

  // Evicted by someone else right after this replica's stat() found it: a miss, not an error.
  store.vanish.add(image.layerDigest);
  const whole = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
  assertEquals(whole.status, 200);
  assertEquals(new Uint8Array(await whole.arrayBuffer()), image.layer);
  await settle();
  assertEquals(gets(), 2, "one new upstream GET");
  assertEquals((await ctx.store.blobs.stat(image.layerDigest))?.size, image.layer.length, "cached again");

  // The same for a range.
  store.vanish.add(image.layerDigest);
  const ranged = await blobRoute(
    ctx,
    request({ range: "bytes=10-19" }),
    target,
    anonymous,
    image.layerDigest,
    defer,
  );
  assertEquals([ranged.status, ranged.headers.get("content-range")], [
    206,
    `bytes 10-19/${image.layer.length}`,
  ]);
  assertEquals(new Uint8Array(await ranged.arrayBuffer()), image.layer.slice(10, 20));
  await settle();
  assertEquals(gets(), 3);
  assertEquals([ctx.metrics.cacheHits.blob, ctx.metrics.cacheMisses.blob], [0, 3], "misses, not hits");
});

Deno.test("blobRoute() checks the caller's access before it falls back from a vanished cached blob to the upstream", async () => {
  const image = await fakeImage(5000);
  const upstream = fakeUpstream({ "acme/app": image }, { private: ["acme/app"] });
  const store = vanishingStore(new MemoryStore());
  const ctx = fakeContext(upstream, { store });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const user: Caller = { key: "user", credentials: { username: "user", password: "secret" } };
  await (await blobRoute(ctx, request(), target, user, image.layerDigest, defer)).arrayBuffer();
  await settle();
  const blobGets = () => upstream.requests.filter((r) => r.startsWith("GET") && r.includes("/blobs/")).length;
  const before = blobGets();
  store.vanish.add(image.layerDigest);
  const denied = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
  assertEquals(denied.status, 401);
  await denied.body?.cancel();
  assertEquals(blobGets(), before, "no fill for a caller the upstream refused");
});

Deno.test("blobRoute() starts one new fill when the blob of a fill that just finished was evicted before it was read", async () => {
  const image = await fakeImage(50_000);
  const upstream = fakeUpstream({ "acme/app": image });
  const ctx = fakeContext(upstream);
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  // A fill that has committed but whose entry is still in the table (its cleanup runs a moment later)…
  const finished = BlobFill.start({
    digest: image.layerDigest,
    size: image.layer.length,
    body: new Blob([image.layer as Uint8Array<ArrayBuffer>]).stream(),
    blobs: ctx.store.blobs,
  });
  await finished.done;
  assertEquals([finished.running, finished.cached], [false, true]);
  ctx.fills.set(fillKey(target, image.layerDigest), Promise.resolve(finished));
  // …and its blob evicted by another replica before this request reads it.
  assert(await ctx.store.blobs.delete(image.layerDigest));
  const answer = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
  assertEquals(answer.status, 200);
  assertEquals(new Uint8Array(await answer.arrayBuffer()), image.layer);
  await settle();
  const gets = upstream.requests.filter((r) => r.startsWith("GET") && r.includes("/blobs/")).length;
  assertEquals(gets, 1, "one new upstream GET");
  assertEquals((await ctx.store.blobs.stat(image.layerDigest))?.size, image.layer.length, "cached again");
});

/** A MemoryStore as an object store (no read-back while writing, declared so), its blob reads counted. */
function objectStore() {
  const inner = new MemoryStore();
  const counts = { gets: 0 };
  const store: Store = {
    references: inner.references,
    capabilities: { resume: false, readWhileWriting: false },
    blobs: {
      stat: (d) => inner.blobs.stat(d),
      get: (d, r) => {
        counts.gets++;
        return inner.blobs.get(d, r);
      },
      delete: (d) => inner.blobs.delete(d),
      list: () => inner.blobs.list(),
      writer: async (expected) => {
        const w = await inner.blobs.writer(expected);
        const writer: BlobWriter = {
          offset: 0,
          readPartial: () => w.readPartial(),
          write: (c) => w.write(c),
          commit: () => w.commit(),
          abort: () => w.abort(),
        };
        return writer;
      },
    },
  };
  return { store, counts };
}

/** `fetch` with every blob body cut in chunks of 64 KiB made only when read (a socket's backpressure). */
function chunkedBlobs(fetch: FetchLike): FetchLike {
  return async (request) => {
    const response = await fetch(request);
    if (request.method !== "GET" || !request.url.includes("/blobs/") || response.body === null) {
      return response;
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        if (at >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(at, at + 65_536));
        at += 65_536;
      },
    }, { highWaterMark: 0 });
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

Deno.test("blobRoute() over a store that cannot read back sends a client that joins after the fill's window left byte 0 to the upstream, verified, instead of the committed blob", async () => {
  const image = await fakeImage(3 * FILL_WINDOW, 5);
  const upstream = fakeUpstream({ "acme/app": image });
  const { store, counts } = objectStore();
  const ctx = fakeContext(upstream, { store, fetch: chunkedBlobs(upstream.fetch) });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const gets = () => upstream.requests.filter((r) => r.startsWith("GET") && r.includes("/blobs/")).length;

  const first = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
  assertEquals(first.status, 200);
  const reader = first.body!.getReader();
  const parts: Uint8Array[] = [];
  let read = 0;
  // Bounded: 64 KiB chunks of a 12 MiB blob.
  for (let i = 0; i < 1000 && read < FILL_WINDOW + (1 << 20); i++) {
    const { done, value } = await reader.read();
    assert(!done);
    parts.push(value.slice());
    read += value.byteLength;
  }
  const fill = await ctx.fills.get(fillKey(target, image.layerDigest))!;
  assert(fill.running && !fill.canServe(0), "the fill's window left byte 0");

  const late = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
  assertEquals(late.status, 200);
  assertEquals(late.headers.get("content-length"), String(image.layer.length));
  assertEquals(new Uint8Array(await late.arrayBuffer()), image.layer);
  assertEquals(gets(), 2, "the late client got the blob from the upstream");
  assert(fill.running, "while the first client's fill still runs");

  for (let i = 0; i < 1000; i++) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  assertEquals(new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer()), image.layer);
  await settle();
  assertEquals(counts.gets, 0, "nothing was read back from the store");
  assertEquals((await store.blobs.stat(image.layerDigest))?.size, image.layer.length);
});

Deno.test("blobRoute() with ProxyOptions.fillWindow keeps at most that window (plus the chunk in hand) of a download in memory", async () => {
  const image = await fakeImage(3 << 20, 7);
  const upstream = fakeUpstream({ "acme/app": image });
  const window = 256 << 10;
  const ctx = fakeContext(upstream, { fetch: chunkedBlobs(upstream.fetch), fillWindow: window });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const answer = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
  assertEquals(answer.status, 200);
  assertEquals(new Uint8Array(await answer.arrayBuffer()), image.layer);
  await settle();
  const peak = ctx.metrics.fillHeldPeak;
  // The default window (4 MiB) would hold the whole 3 MiB blob; chunks are 64 KiB.
  assert(peak > 0 && peak <= window + 65_536, `the fill held ${peak} bytes at once`);
  assertEquals((await ctx.store.blobs.stat(image.layerDigest))?.size, image.layer.length);
});

Deno.test("createProxy() refuses a fillWindow that is not a positive whole number of bytes", () => {
  const upstream = fakeUpstream({});
  for (const fillWindow of [0, -1, 1.5, Number.NaN]) {
    let message = "";
    try {
      fakeContext(upstream, { fillWindow });
    } catch (err) {
      message = err instanceof TypeError ? err.message : String(err);
    }
    assertEquals(message, `fillWindow must be a positive whole number of bytes, got ${fillWindow}`);
  }
});

Deno.test("blobRoute() over a store with leases defers the lease's release with the fill: on workerd the work ends with waitUntil's promises", async () => {
  const image = await fakeImage(50_000);
  const upstream = fakeUpstream({ "acme/app": image });
  const store = new MemoryStore();
  const events: string[] = [];
  const leases: BlobLeases = {
    claim: () =>
      Promise.resolve({
        kind: "lease",
        takeover: false,
        lease: {
          holder: "me",
          describe: () => Promise.resolve(),
          // A bucket round trip (R2 GET and DELETE): longer than a microtask.
          release: async () => {
            await new Promise((r) => setTimeout(r, 5));
            events.push("released");
          },
        },
      }),
    wait: () => Promise.reject(new Error("not waited on")),
  };
  const ctx = fakeContext(upstream, { store: Object.assign(store, { leases }) });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const answer = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
  assertEquals(new Uint8Array(await answer.arrayBuffer()), image.layer);
  // What the runtime waits for (waitUntil) includes the release: workerd ends the request's work after it.
  await settle();
  assertEquals(events, ["released"]);
});

Deno.test("blobRoute() does not join a fill that already failed (its entry not yet dropped): it starts a new one", async () => {
  const image = await fakeImage(50_000, 9);
  const upstream = fakeUpstream({ "acme/app": image });
  const ctx = fakeContext(upstream);
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  // A fill whose upstream body broke, still in the table (its cleanup waits for the store's abort).
  const failed = BlobFill.start({
    digest: image.layerDigest,
    size: image.layer.length,
    body: new ReadableStream({ start: (c) => c.error(new Error("the upstream went away")) }),
    blobs: ctx.store.blobs,
  });
  await failed.done.catch(() => {});
  assertEquals(failed.running, false);
  ctx.fills.set(fillKey(target, image.layerDigest), Promise.resolve(failed));
  const answer = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
  assertEquals(answer.status, 200);
  assertEquals(new Uint8Array(await answer.arrayBuffer()), image.layer);
  await settle();
  assertEquals(upstream.requests.filter((r) => r.startsWith("GET") && r.includes("/blobs/")).length, 1);
});

Deno.test("blobRoute() joins a fill whose blob is verified and still being committed: it waits for the commit, no second download", async () => {
  const image = await fakeImage(3 * FILL_WINDOW, 11);
  const upstream = fakeUpstream({ "acme/app": image });
  const { store } = objectStore();
  // The commit (an object store's last part and CompleteMultipartUpload) takes a while: held until opened.
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  const writer = store.blobs.writer;
  store.blobs.writer = async (expected) => {
    const w = await writer(expected);
    return { ...w, offset: 0, commit: async () => (await gate, await w.commit()) };
  };
  const ctx = fakeContext(upstream, { store });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const gets = () => upstream.requests.filter((r) => r.startsWith("GET") && r.includes("/blobs/")).length;

  const first = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
  assertEquals(new Uint8Array(await first.arrayBuffer()), image.layer);
  const fill = await ctx.fills.get(fillKey(target, image.layerDigest))!;
  assertEquals([fill.running, fill.cached], [false, false], "verified, the commit under way");

  // Its headers come at once (the size is known); its bytes once the commit is done.
  const answer = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
  assertEquals(answer.status, 200);
  open();
  assertEquals(new Uint8Array(await answer.arrayBuffer()), image.layer);
  await settle();
  assertEquals(gets(), 1, "one upstream GET: the late client was served by the fill it joined");
  assertEquals((await store.blobs.stat(image.layerDigest))?.size, image.layer.length);
});
