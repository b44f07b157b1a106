import { assert, assertEquals, assertThrows } from "../../test/_assert.ts";
import { runStoreContract } from "../../test/store_contract.ts";
import { MemoryStore } from "./memory_store.ts";

runStoreContract(
  "MemoryStore",
  () => Promise.resolve({ store: new MemoryStore(), cleanup: () => Promise.resolve() }),
);

const encoder = new TextEncoder();

async function sha256(data: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function put(store: MemoryStore, text: string): Promise<string> {
  const data = encoder.encode(text);
  const digest = await sha256(data);
  const writer = await store.blobs.writer({ digest, size: data.length });
  await writer.write(data);
  await writer.commit();
  return digest;
}

Deno.test("MemoryStore() with maxBytes drops the least recently used blobs", async () => {
  const store = new MemoryStore({ maxBytes: 25 });
  const a = await put(store, "a".repeat(10));
  const b = await put(store, "b".repeat(10));
  await store.blobs.stat(a); // a is now more recently used than b
  const c = await put(store, "c".repeat(10));
  assertEquals(store.bytes, 20);
  assertEquals(await store.blobs.stat(b), undefined);
  assert(await store.blobs.stat(a));
  assert(await store.blobs.stat(c));
});

Deno.test("MemoryStore() with maxBytes keeps the blob just committed and blobs a reference points at", async () => {
  const store = new MemoryStore({ maxBytes: 15 });
  const manifest = await put(store, "m".repeat(10));
  await store.references.set("example.com/x:1", {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: manifest,
    size: 10,
  });
  const big = await put(store, "x".repeat(40));
  assert(await store.blobs.stat(manifest), "the referenced manifest stays");
  assert(await store.blobs.stat(big), "the blob just committed stays, even over the cap");
  assertEquals(store.bytes, 50);
  const next = await put(store, "y".repeat(5));
  assertEquals(await store.blobs.stat(big), undefined, "the oversized blob goes at the next commit");
  assert(await store.blobs.stat(next));
  assertEquals(store.bytes, 15);
});

Deno.test("MemoryStore() refuses a negative maxBytes", () => {
  assertThrows(() => new MemoryStore({ maxBytes: -1 }), RangeError);
});

Deno.test("MemoryStore.blobs.get() yields blocks of at most 1 MiB however the blob was written", async () => {
  const store = new MemoryStore();
  const data = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => i % 251);
  const digest = await sha256(data);
  const writer = await store.blobs.writer({ digest, size: data.length });
  for (let at = 0; at < data.length; at += 1000) await writer.write(data.subarray(at, at + 1000));
  await writer.commit();
  const sizes: number[] = [];
  for await (const chunk of await store.blobs.get(digest)) sizes.push(chunk.length);
  assertEquals(sizes, [1048576, 1048576, 1048576, 5]);
});
