import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { createContext } from "./_context.ts";
import { MemoryStore } from "../store/memory_store.ts";
import { digestBytes } from "../digest/digest_bytes.ts";

Deno.test("createContext() refuses options that cannot work, naming them", () => {
  const store = new MemoryStore();
  assertThrows(() => createContext({ store, upstreams: {} }), TypeError, "at least one upstream");
  assertThrows(
    () => createContext({ store, upstreams: { hub: "https://hub.test" }, defaultUpstream: "other" }),
    TypeError,
    '"other" is not one of the configured upstreams',
  );
  for (const readTimeout of [-1, Number.NaN, Infinity]) {
    assertThrows(
      () => createContext({ store, upstreams: { hub: "https://hub.test" }, readTimeout }),
      TypeError,
      "readTimeout",
    );
  }
  assertThrows(
    () => createContext({ store, upstreams: { hub: "https://hub.test" }, publicUrl: "https://x.test/path" }),
    TypeError,
    "must be an origin",
  );
});

Deno.test("createContext() picks Docker Hub as the default upstream when configured, else the first", () => {
  const store = new MemoryStore();
  const hub = createContext({
    store,
    upstreams: { a: "https://a.test", "docker.io": "https://registry-1.docker.io" },
  });
  assertEquals(hub.defaultUpstream.name, "docker.io");
  const first = createContext({ store, upstreams: { a: "https://a.test", b: "https://b.test" } });
  assertEquals(first.defaultUpstream.name, "a");
  assertEquals([first.tagTtl, first.readTimeout, first.userAgent], [60_000, 30_000, "tug-proxy"]);
  assertEquals(first.byAlias.get("a.test")?.name, "a");
});

Deno.test("createContext() counts every upstream request and caps the store with cacheMaxBytes", async () => {
  let calls = 0;
  const ctx = createContext({
    store: new MemoryStore(),
    upstreams: { a: "https://a.test" },
    fetch: () => (calls++, Promise.resolve(new Response("{}"))),
    cacheMaxBytes: 10,
  });
  await (await ctx.defaultUpstream.fetch(new Request("https://a.test/v2/"))).body?.cancel();
  assertEquals([calls, ctx.metrics.upstreamRequests], [1, 1]);
  const put = async (text: string) => {
    const bytes = new TextEncoder().encode(text);
    const digest = await digestBytes(bytes, "sha256");
    const writer = await ctx.store.blobs.writer({ digest, size: bytes.length });
    await writer.write(bytes);
    await writer.commit();
    return digest;
  };
  const first = await put("8 bytes!");
  const second = await put("8 bytes?");
  assertEquals(await ctx.store.blobs.stat(first), undefined, "evicted past cacheMaxBytes");
  assertEquals((await ctx.store.blobs.stat(second))?.size, 8);
});
