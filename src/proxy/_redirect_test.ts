import { assert, assertEquals, assertThrows } from "../../test/_assert.ts";
import { MemoryStore } from "../store/memory_store.ts";
import type { BlobStore, Store } from "../store/types.ts";
import { blobRoute, type Defer } from "./_blobs.ts";
import type { Caller } from "./_caller.ts";
import { createContext } from "./_context.ts";
import { fakeContext, fakeImage, fakeUpstream } from "./_fake_upstream_test_util.ts";
import { REDIRECT_EXPIRES_IN } from "./_redirect.ts";
import { resolveTarget, type Target } from "./_target.ts";

const anonymous: Caller = { key: "anonymous" };
const user: Caller = { key: "user", credentials: { username: "user", password: "secret" } };
const request = (headers: Record<string, string> = {}, method = "GET") =>
  new Request("http://proxy.test/v2/acme/app/blobs/x", { method, headers });

function deferred(): { defer: Defer; settle: () => Promise<unknown> } {
  const work: Promise<unknown>[] = [];
  return { defer: (w) => void work.push(w), settle: () => Promise.allSettled(work) };
}

/** A MemoryStore whose blobs have URLs (as an object store's presigned ones); what url() was asked. */
function urlStore(url?: (digest: string, expiresIn: number) => Promise<string | undefined>) {
  const memory = new MemoryStore();
  const asked: Array<{ digest: string; expiresIn: number }> = [];
  const blobs: BlobStore = {
    stat: (d) => memory.blobs.stat(d),
    get: (d, r) => memory.blobs.get(d, r),
    writer: (e, o) => memory.blobs.writer(e, o),
    delete: (d) => memory.blobs.delete(d),
    list: () => memory.blobs.list(),
    url: (digest, { expiresIn }) => {
      asked.push({ digest, expiresIn });
      return url
        ? url(digest, expiresIn)
        : Promise.resolve(`https://bucket.test/${digest}?expires=${expiresIn}`);
    },
  };
  const store: Store = { blobs, references: memory.references, capabilities: memory.capabilities };
  return { store, asked };
}

async function filled(options: { private?: boolean } = {}) {
  const image = await fakeImage(20_000);
  const upstream = fakeUpstream({ "acme/app": image }, options.private ? { private: ["acme/app"] } : {});
  const { store, asked } = urlStore();
  const ctx = fakeContext(upstream, { store, redirect: true });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const caller = options.private ? user : anonymous;
  const { defer, settle } = deferred();
  // The first GET fills the cache from the upstream: no redirect while the blob is not committed.
  const first = await blobRoute(ctx, request(), target, caller, image.layerDigest, defer);
  assertEquals(first.status, 200);
  assertEquals(new Uint8Array(await first.arrayBuffer()), image.layer);
  await settle();
  assertEquals((await store.blobs.stat(image.layerDigest))?.size, image.layer.length);
  return { image, upstream, ctx, target, caller, asked, defer };
}

Deno.test("blobRoute() with redirect answers a cached blob GET with a 307 to the store's URL (20 minutes), moving no bytes", async () => {
  const { image, ctx, target, caller, asked, defer } = await filled();
  const blobBytes = ctx.metrics.clientBlobBytes;
  const answer = await blobRoute(ctx, request(), target, caller, image.layerDigest, defer);
  assertEquals(answer.status, 307);
  assertEquals(answer.headers.get("location"), `https://bucket.test/${image.layerDigest}?expires=1200`);
  assertEquals(answer.headers.get("docker-content-digest"), image.layerDigest);
  assertEquals(answer.headers.get("cache-control"), "no-store");
  assertEquals(answer.body, null);
  assertEquals(asked, [{ digest: image.layerDigest, expiresIn: REDIRECT_EXPIRES_IN }]);
  assertEquals(REDIRECT_EXPIRES_IN, 20 * 60);
  assertEquals(ctx.metrics.clientBlobBytes, blobBytes, "no blob byte went through the proxy");
  assertEquals(ctx.metrics.blobRedirects, 1);
  assert(ctx.metrics.render().includes("tug_proxy_blob_redirects_total 1"));
});

Deno.test("blobRoute() with redirect answers HEAD itself and redirects a Range GET (the store honours Range)", async () => {
  const { image, ctx, target, caller, asked, defer } = await filled();
  const head = await blobRoute(ctx, request({}, "HEAD"), target, caller, image.layerDigest, defer);
  assertEquals([head.status, head.headers.get("content-length")], [200, String(image.layer.length)]);
  assertEquals(head.headers.get("docker-content-digest"), image.layerDigest);
  assertEquals(asked, [], "a HEAD is no redirect");
  const ranged = await blobRoute(
    ctx,
    request({ range: "bytes=10-19" }),
    target,
    caller,
    image.layerDigest,
    defer,
  );
  assertEquals(ranged.status, 307);
  assertEquals(ranged.headers.get("location"), `https://bucket.test/${image.layerDigest}?expires=1200`);
});

Deno.test("blobRoute() with redirect checks access before redirecting: a caller the upstream refuses gets its 401, no Location", async () => {
  const { image, upstream, ctx, target, asked, defer } = await filled({ private: true });
  const before = upstream.requests.length;
  const answer = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
  assertEquals(answer.status, 401);
  assertEquals(answer.headers.get("location"), null);
  await answer.body?.cancel();
  assertEquals(asked, [], "no URL was made for a refused caller");
  assert(
    upstream.requests.slice(before).some((r) => r.startsWith("HEAD") && r.includes(image.layerDigest)),
    "the upstream was asked for the anonymous caller",
  );
});

Deno.test("blobRoute() with redirect serves a blob still filling from the fill, never a redirect", async () => {
  const image = await fakeImage(20_000);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const upstream = fakeUpstream({ "acme/app": image });
  const { store, asked } = urlStore();
  // The upstream's blob body waits at the gate: the fill stays running while the second client comes.
  const ctx = fakeContext(upstream, {
    store,
    redirect: true,
    fetch: async (r) => {
      const answer = await upstream.fetch(r);
      if (r.method !== "GET" || !r.url.includes("/blobs/") || answer.body === null) return answer;
      const reader = answer.body.getReader();
      let first = true;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (!first) await gate;
          first = false;
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
      });
      return new Response(body, { status: answer.status, headers: answer.headers });
    },
  });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const first = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
  const second = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
  assertEquals([first.status, second.status], [200, 200]);
  release();
  assertEquals(new Uint8Array(await second.arrayBuffer()), image.layer);
  assertEquals(new Uint8Array(await first.arrayBuffer()), image.layer);
  await settle();
  assertEquals(asked, []);
});

Deno.test("blobRoute() with redirect serves the bytes when the store has no URL for the blob (a memory front) or cannot make one", async () => {
  const image = await fakeImage(5000);
  const upstream = fakeUpstream({ "acme/app": image });
  for (const url of [() => Promise.resolve(undefined), () => Promise.reject(new Error("no signer"))]) {
    const { store, asked } = urlStore(url);
    const ctx = fakeContext(upstream, { store, redirect: true });
    const target = resolveTarget(ctx, "acme/app", null) as Target;
    const { defer, settle } = deferred();
    await (await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer)).arrayBuffer();
    await settle();
    const answer = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
    assertEquals(answer.status, 200);
    assertEquals(new Uint8Array(await answer.arrayBuffer()), image.layer);
    assertEquals(asked.length, 1);
    assertEquals(ctx.metrics.blobRedirects, 0);
  }
});

Deno.test("blobRoute() without redirect serves a cached blob's bytes even from a store with URLs", async () => {
  const image = await fakeImage(5000);
  const upstream = fakeUpstream({ "acme/app": image });
  const { store, asked } = urlStore();
  const ctx = fakeContext(upstream, { store });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  await (await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer)).arrayBuffer();
  await settle();
  const answer = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
  assertEquals(answer.status, 200);
  assertEquals(new Uint8Array(await answer.arrayBuffer()), image.layer);
  assertEquals(asked, []);
  assertEquals(ctx.metrics.clientBlobBytes, 2 * image.layer.length);
});

Deno.test("createProxy({ redirect }) refuses a store without URLs (an R2 binding, a folder, memory) and a bad expiry", () => {
  const base = { upstreams: { hub: "https://hub.test" } };
  assertThrows(
    () => createContext({ ...base, store: new MemoryStore(), redirect: true }),
    TypeError,
    "cannot make URLs",
  );
  const { store } = urlStore();
  for (const expiresIn of [0, -1, 1.5, 604_801]) {
    assertThrows(
      () => createContext({ ...base, store, redirect: { expiresIn } }),
      RangeError,
      "expiresIn",
    );
  }
  assertEquals(createContext({ ...base, store, redirect: { expiresIn: 60 } }).redirect, { expiresIn: 60 });
  assertEquals(createContext({ ...base, store, redirect: false }).redirect, undefined);
  // Through a size cap (lruStore) the store's URLs stay available.
  assertEquals(createContext({ ...base, store, redirect: true, cacheMaxBytes: 1 << 20 }).redirect, {
    expiresIn: REDIRECT_EXPIRES_IN,
  });
});

Deno.test("blobRoute() with redirect redirects a joiner whose fill committed while its access was checked", async () => {
  const image = await fakeImage(20_000);
  const upstream = fakeUpstream({ "acme/app": image });
  const { store, asked } = urlStore();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const fill: { done?: Promise<void> } = {};
  const ctx = fakeContext(upstream, {
    store,
    redirect: true,
    fetch: async (r) => {
      if (r.method === "HEAD" && r.url.includes("/blobs/")) {
        // The joiner's access check: the fill finishes (and commits) before the upstream answers it.
        release();
        await fill.done;
        return upstream.fetch(r);
      }
      const answer = await upstream.fetch(r);
      if (r.method !== "GET" || !r.url.includes("/blobs/") || answer.body === null) return answer;
      const reader = answer.body.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await gate;
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
      });
      return new Response(body, { status: answer.status, headers: answer.headers });
    },
  });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const { defer, settle } = deferred();
  const first = await blobRoute(ctx, request(), target, anonymous, image.layerDigest, defer);
  assertEquals(first.status, 200);
  fill.done = (await [...ctx.fills.values()][0]).done;
  // Another caller: its access is checked upstream (the starter's was confirmed by the fill's own GET).
  const second = await blobRoute(ctx, request(), target, user, image.layerDigest, defer);
  assertEquals(second.status, 307);
  assertEquals(second.headers.get("location"), `https://bucket.test/${image.layerDigest}?expires=1200`);
  assertEquals(new Uint8Array(await first.arrayBuffer()), image.layer);
  await settle();
  assertEquals(asked.length, 1);
});
