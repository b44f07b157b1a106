import { assert, assertEquals } from "../../test/_assert.ts";
import type { Caller } from "./_caller.ts";
import { fakeContext, fakeImage, fakeUpstream } from "./_fake_upstream_test_util.ts";
import { acceptable, acceptList, manifestRoute, mediaTypeOf } from "./_manifests.ts";
import { resolveTarget, type Target } from "./_target.ts";
import type { FetchLike } from "../registry/types.ts";
import { MemoryStore } from "../store/memory_store.ts";
import { vanishingStore } from "./_vanishing_store_test_util.ts";
import { TugError } from "../errors.ts";
import type { Descriptor } from "../manifest/types.ts";

const anonymous: Caller = { key: "anonymous" };
const get = (method = "GET") => new Request("http://proxy.test/v2/acme/app/manifests/x", { method });

Deno.test("manifestRoute() fetches a tag, verifies and stores it, then answers it from the cache within tagTtl", async () => {
  const image = await fakeImage();
  const upstream = fakeUpstream({ "acme/app": image });
  let clock = 1_000_000;
  const ctx = fakeContext(upstream, { now: () => clock, tagTtl: 60 });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const first = await manifestRoute(ctx, get(), target, anonymous, "latest");
  assertEquals(first.status, 200);
  assertEquals(new Uint8Array(await first.arrayBuffer()), image.manifest);
  assertEquals(first.headers.get("docker-content-digest"), image.manifestDigest);
  assertEquals((await ctx.store.references.get("hub.test/acme/app:latest"))?.digest, image.manifestDigest);
  const asked = upstream.requests.length;
  clock += 30_000;
  const second = await manifestRoute(ctx, get(), target, anonymous, "latest");
  assertEquals(new Uint8Array(await second.arrayBuffer()), image.manifest);
  assertEquals(upstream.requests.length, asked, "no upstream request within tagTtl");
  assertEquals([ctx.metrics.cacheMisses.manifest, ctx.metrics.cacheHits.manifest], [1, 1]);
});

Deno.test("manifestRoute() serves a cached tag stale with a Warning while the upstream is down", async () => {
  const image = await fakeImage();
  const upstream = fakeUpstream({ "acme/app": image });
  let down = false;
  let clock = 1_000_000;
  const fetch: FetchLike = (request) =>
    down ? Promise.reject(new TypeError("connection refused")) : upstream.fetch(request);
  const ctx = fakeContext({ ...upstream, fetch }, { now: () => clock, tagTtl: 60 });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  await (await manifestRoute(ctx, get(), target, anonymous, "latest")).body?.cancel();
  down = true;
  clock += 120_000;
  const stale = await manifestRoute(ctx, get("HEAD"), target, anonymous, "latest");
  assertEquals(stale.status, 200);
  assertEquals(stale.headers.get("warning"), '110 tug "Response is Stale"');
  assertEquals(ctx.metrics.staleServed, 1);
});

Deno.test("manifestRoute() answers 502 MANIFEST_UNVERIFIED and stores nothing when the manifest hashes to another digest", async () => {
  const image = await fakeImage();
  const other = await fakeImage(10, 1);
  const upstream = fakeUpstream({ "acme/app": image });
  const fetch: FetchLike = async (request) => {
    const answer = await upstream.fetch(request);
    const headers = new Headers(answer.headers);
    headers.set("docker-content-digest", other.manifestDigest);
    return new Response(answer.body, { status: answer.status, headers });
  };
  const ctx = fakeContext({ ...upstream, fetch });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  const byDigest = await manifestRoute(ctx, get(), target, anonymous, other.manifestDigest);
  assertEquals(byDigest.status, 404); // the fake upstream has no such manifest
  await byDigest.body?.cancel();
  const lying = await manifestRoute(ctx, get(), target, anonymous, "latest");
  assertEquals(lying.status, 502);
  assertEquals((await lying.json()).errors[0].code, "MANIFEST_UNVERIFIED");
  assertEquals(await ctx.store.references.get("hub.test/acme/app:latest"), undefined);
});

Deno.test("manifestRoute() refuses invalid references before any upstream request", async () => {
  const upstream = fakeUpstream({});
  const ctx = fakeContext(upstream);
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  for (
    const [reference, code] of [[".x", "TAG_INVALID"], ["sha256:abc", "DIGEST_INVALID"], [
      "md5:x",
      "DIGEST_INVALID",
    ]]
  ) {
    const res = await manifestRoute(ctx, get(), target, anonymous, reference);
    assertEquals([res.status, (await res.json()).errors[0].code], [400, code], reference);
  }
  assertEquals(upstream.requests, []);
});

Deno.test("acceptList(), acceptable() and mediaTypeOf() read Accept headers and manifest JSON", () => {
  assertEquals(acceptList("application/a; q=0.5, application/b"), ["application/a", "application/b"]);
  assert(acceptList(null).length > 1);
  assert(acceptable(null, "application/x"));
  assert(acceptable("*/*", "application/x"));
  assert(!acceptable("application/a", "application/x"));
  assertEquals(mediaTypeOf(new TextEncoder().encode('{"mediaType":"m"}')), "m");
  assertEquals(
    mediaTypeOf(new TextEncoder().encode('{"schemaVersion":1}')),
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
  );
  assertEquals(mediaTypeOf(new TextEncoder().encode("not json")), undefined);
});

Deno.test("manifestRoute() answers a cached manifest deleted between stat() and get() from the upstream, verified", async () => {
  const image = await fakeImage();
  const upstream = fakeUpstream({ "acme/app": image });
  const store = vanishingStore(new MemoryStore());
  let clock = 1_000_000;
  const ctx = fakeContext(upstream, { store, now: () => clock, tagTtl: 60 });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  await (await manifestRoute(ctx, get(), target, anonymous, "latest")).arrayBuffer();
  const manifestGets = () =>
    upstream.requests.filter((r) => r.startsWith("GET") && r.includes("/manifests/")).length;
  assertEquals(manifestGets(), 1);
  for (const reference of [image.manifestDigest, "latest"]) {
    store.vanish.add(image.manifestDigest);
    clock += 1;
    const answer = await manifestRoute(ctx, get(), target, anonymous, reference);
    assertEquals(answer.status, 200, reference);
    assertEquals(new Uint8Array(await answer.arrayBuffer()), image.manifest, reference);
    assertEquals(answer.headers.get("docker-content-digest"), image.manifestDigest);
    assertEquals(
      (await ctx.store.blobs.stat(image.manifestDigest))?.size,
      image.manifest.length,
      "cached again",
    );
  }
  assertEquals(manifestGets(), 3, "one upstream GET for each vanished manifest");
  assertEquals(
    [ctx.metrics.cacheHits.manifest, ctx.metrics.cacheMisses.manifest],
    [0, 3],
    "misses, not hits",
  );
});

Deno.test("manifestRoute() answers from the upstream when the cached tag reference reads back damaged (a write to it half done)", async () => {
  const image = await fakeImage();
  const upstream = fakeUpstream({ "acme/app": image });
  const inner = new MemoryStore();
  let damaged = false;
  // An object store whose overwrite of the reference is not atomic (s3rver) can be read half written.
  const store = {
    blobs: inner.blobs,
    references: {
      get: (name: string) =>
        damaged
          ? Promise.reject(
            new TugError("STORE_CORRUPT", `Reference object ${name} is not a tug reference record`),
          )
          : inner.references.get(name),
      set: (name: string, descriptor: Descriptor) => inner.references.set(name, descriptor),
      delete: (name: string) => inner.references.delete(name),
      list: () => inner.references.list(),
    },
  };
  let clock = 1_000_000;
  const ctx = fakeContext(upstream, { store, now: () => clock, tagTtl: 60 });
  const target = resolveTarget(ctx, "acme/app", null) as Target;
  await (await manifestRoute(ctx, get(), target, anonymous, "latest")).arrayBuffer();
  damaged = true;
  clock += 1;
  const answer = await manifestRoute(ctx, get(), target, anonymous, "latest");
  assertEquals(answer.status, 200);
  assertEquals(new Uint8Array(await answer.arrayBuffer()), image.manifest);
  assertEquals(answer.headers.get("docker-content-digest"), image.manifestDigest);
});
