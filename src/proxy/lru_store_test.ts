import { assert, assertEquals } from "../../test/_assert.ts";
import { lruStore } from "./lru_store.ts";
import { MemoryStore } from "../store/memory_store.ts";
import { digestBytes } from "../digest/digest_bytes.ts";

async function put(store: ReturnType<typeof lruStore>, text: string): Promise<string> {
  const bytes = new TextEncoder().encode(text);
  const digest = await digestBytes(bytes);
  const writer = await store.blobs.writer({ digest, size: bytes.length });
  await writer.write(bytes);
  await writer.commit();
  return digest;
}

Deno.test("lruStore() evicts the least recently used blobs past maxBytes, never the one just committed", async () => {
  const inner = new MemoryStore();
  const store = lruStore(inner, { maxBytes: 25 });
  const a = await put(store, "aaaaaaaaaa");
  const b = await put(store, "bbbbbbbbbb");
  await store.blobs.get(a).then((s) => s.cancel());
  const c = await put(store, "cccccccccc");
  // a was used after b: b goes.
  assert(await inner.blobs.stat(a));
  assertEquals(await inner.blobs.stat(b), undefined);
  assert(await inner.blobs.stat(c));
  const big = await put(store, "x".repeat(40));
  assert(await inner.blobs.stat(big));
  assertEquals(await inner.blobs.stat(a), undefined);
  assertEquals(await inner.blobs.stat(c), undefined);
});

Deno.test("lruStore() and MemoryStore({ maxBytes }) drop the same blobs for the same uses", async () => {
  const inner = new MemoryStore();
  const wrapped = lruStore(inner, { maxBytes: 35 });
  const capped = new MemoryStore({ maxBytes: 35 });
  const texts = [
    "a".repeat(10),
    "b".repeat(10),
    "c".repeat(10),
    "d".repeat(12),
    "e".repeat(3),
    "f".repeat(20),
  ];
  const digests: string[] = [];
  for (const [i, text] of texts.entries()) {
    digests.push(await put(wrapped, text));
    await put(capped, text);
    // Use an older blob between commits, through get() and stat(), so the order differs from commit order.
    const older = digests[Math.floor(i / 2)];
    if (i % 2 === 0) {
      await (await wrapped.blobs.get(older)).cancel();
      await (await capped.blobs.get(older)).cancel();
    } else {
      await wrapped.blobs.stat(older);
      await capped.blobs.stat(older);
    }
  }
  const kept = async (store: { blobs: { stat(d: string): Promise<unknown> } }) => {
    const out: string[] = [];
    for (const [i, digest] of digests.entries()) if (await store.blobs.stat(digest)) out.push(texts[i][0]);
    return out;
  };
  const survivors = await kept(inner);
  assertEquals(await kept(capped), survivors);
  assert(survivors.length >= 2 && survivors.length < texts.length, `kept ${survivors.join()}`);
  assert(survivors.includes("f"), "the blob just committed stays");
  assertEquals(capped.bytes, survivors.reduce((n, s) => n + texts.find((t) => t[0] === s)!.length, 0));
});

Deno.test("lruStore() passes the store's blob URLs on (a use of the blob), and has none when the store has none", async () => {
  const inner = new MemoryStore();
  const asked: Array<[string, number]> = [];
  const withUrls = {
    ...inner,
    blobs: {
      stat: (d: string) => inner.blobs.stat(d),
      get: (d: string, r?: { start: number; end?: number }) => inner.blobs.get(d, r),
      writer: (e: { digest: string; size: number }) => inner.blobs.writer(e),
      delete: (d: string) => inner.blobs.delete(d),
      list: () => inner.blobs.list(),
      url: (digest: string, options: { expiresIn: number }) => {
        asked.push([digest, options.expiresIn]);
        return Promise.resolve(`https://bucket.test/${digest}`);
      },
    },
  };
  const store = lruStore(withUrls, { maxBytes: 25 });
  const a = await put(store, "aaaaaaaaaa");
  const b = await put(store, "bbbbbbbbbb");
  // a is used (through its URL) after b: b is the one evicted.
  assertEquals(await store.blobs.url?.(a, { expiresIn: 60 }), `https://bucket.test/${a}`);
  assertEquals(asked, [[a, 60]]);
  await put(store, "cccccccccc");
  assert(await inner.blobs.stat(a));
  assertEquals(await inner.blobs.stat(b), undefined);
  assertEquals(lruStore(new MemoryStore(), { maxBytes: 25 }).blobs.url, undefined);
});
