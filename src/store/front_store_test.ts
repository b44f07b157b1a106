import { runStoreContract } from "../../test/store_contract.ts";
import { assertEquals } from "../../test/_assert.ts";
import { frontedStore } from "./front_store.ts";
import { MemoryStore } from "./memory_store.ts";
import { blob, put } from "./_contract_blobs.ts";

runStoreContract(
  "frontedStore over a MemoryStore",
  () =>
    Promise.resolve({
      store: frontedStore(new MemoryStore(), { maxBytes: 4 << 20 }),
      cleanup: () => Promise.resolve(),
    }),
);

Deno.test("frontedStore serves a small blob from its front once read, and a large one from the back", async () => {
  const back = new MemoryStore();
  const small = await blob(1000, 1);
  const large = await blob(3000, 2);
  await put(back, small.data, small.digest);
  await put(back, large.data, large.digest);
  const store = frontedStore(back, { maxBytes: 1 << 20, maxBlobBytes: 2000 });
  assertEquals(await new Response(await store.blobs.get(small.digest)).bytes(), small.data);
  // Gone from the back: the front still has the small blob, not the large one.
  await back.blobs.delete(small.digest);
  await back.blobs.delete(large.digest);
  assertEquals(
    await new Response(await store.blobs.get(small.digest, { start: 10, end: 20 })).bytes(),
    small.data.subarray(10, 20),
  );
  assertEquals(await store.blobs.stat(large.digest), undefined);
});

Deno.test("frontedStore blobs.url() is the back store's URL, except for a blob the front holds (served from memory)", async () => {
  const back = new MemoryStore();
  const small = await blob(1000, 1);
  const large = await blob(3000, 2);
  await put(back, small.data, small.digest);
  await put(back, large.data, large.digest);
  const asked: string[] = [];
  const withUrls = {
    ...back,
    blobs: {
      stat: (d: string) => back.blobs.stat(d),
      get: (d: string, r?: { start: number; end?: number }) => back.blobs.get(d, r),
      writer: (e: { digest: string; size: number }) => back.blobs.writer(e),
      delete: (d: string) => back.blobs.delete(d),
      list: () => back.blobs.list(),
      url: (digest: string) => {
        asked.push(digest);
        return Promise.resolve(`https://bucket.test/${digest}`);
      },
    },
  };
  const store = frontedStore(withUrls, { maxBytes: 1 << 20, maxBlobBytes: 2000 });
  // Read once: the small blob is in the front from now on.
  await new Response(await store.blobs.get(small.digest)).bytes();
  assertEquals(await store.blobs.url?.(small.digest, { expiresIn: 60 }), undefined);
  assertEquals(
    await store.blobs.url?.(large.digest, { expiresIn: 60 }),
    `https://bucket.test/${large.digest}`,
  );
  assertEquals(asked, [large.digest]);
  assertEquals(frontedStore(back).blobs.url, undefined, "no URLs when the back store has none");
});
