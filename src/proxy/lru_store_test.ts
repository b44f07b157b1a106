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
