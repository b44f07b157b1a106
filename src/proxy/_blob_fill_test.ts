import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { BlobFill } from "./_blob_fill.ts";
import { MemoryStore } from "../store/memory_store.ts";
import { digestBytes } from "../digest/digest_bytes.ts";

/** A body the test feeds chunk by chunk. */
function feed() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  return { body, push: (b: Uint8Array) => controller.enqueue(b), end: () => controller.close() };
}

const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);

Deno.test("BlobFill streams to late and early subscribers, holds the last chunk until verified, then commits", async () => {
  const store = new MemoryStore();
  const digest = await digestBytes(bytes);
  const source = feed();
  const fill = BlobFill.start({ digest, size: bytes.length, body: source.body, blobs: store.blobs });
  const early = fill.subscribe().getReader();
  source.push(bytes.subarray(0, 400));
  source.push(bytes.subarray(400, 700));
  // The first chunk is released once the second arrived; the second is held back.
  assertEquals((await early.read()).value, bytes.subarray(0, 400));
  const late = new Response(fill.subscribe(100, 800)).arrayBuffer();
  source.push(bytes.subarray(700));
  source.end();
  await fill.done;
  assert(fill.cached);
  const rest: Uint8Array[] = [];
  for (let i = 0; i < 10; i++) {
    const { done, value } = await early.read();
    if (done) break;
    rest.push(value);
  }
  assertEquals(
    new Uint8Array(await new Blob(rest as Uint8Array<ArrayBuffer>[]).arrayBuffer()),
    bytes.subarray(400),
  );
  assertEquals(new Uint8Array(await late), bytes.subarray(100, 800));
  assertEquals((await store.blobs.stat(digest))?.size, bytes.length);
});

Deno.test("BlobFill keeps filling when a subscriber cancels", async () => {
  const store = new MemoryStore();
  const digest = await digestBytes(bytes);
  const source = feed();
  const fill = BlobFill.start({ digest, size: bytes.length, body: source.body, blobs: store.blobs });
  const gone = fill.subscribe().getReader();
  const stays = new Response(fill.subscribe()).arrayBuffer();
  source.push(bytes.subarray(0, 500));
  source.push(bytes.subarray(500, 600));
  await gone.read();
  await gone.cancel();
  source.push(bytes.subarray(600));
  source.end();
  await fill.done;
  assertEquals(new Uint8Array(await stays), bytes);
  assert(await store.blobs.stat(digest));
});

Deno.test("BlobFill errors every subscriber and commits nothing on a digest mismatch", async () => {
  const store = new MemoryStore();
  const digest = await digestBytes(bytes);
  const wrong = bytes.slice();
  wrong[999] ^= 1;
  const source = feed();
  const fill = BlobFill.start({ digest, size: bytes.length, body: source.body, blobs: store.blobs });
  const a = new Response(fill.subscribe()).arrayBuffer();
  const b = new Response(fill.subscribe(0, 1000)).arrayBuffer();
  source.push(wrong.subarray(0, 500));
  source.push(wrong.subarray(500));
  source.end();
  await assertRejects(() => fill.done, undefined, { code: "DIGEST_MISMATCH" });
  await assertRejects(() => a);
  await assertRejects(() => b);
  assertEquals(await store.blobs.stat(digest), undefined);
});
