import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { BlobFill } from "./_blob_fill.ts";
import { MemoryStore } from "../store/memory_store.ts";
import { digestBytes } from "../digest/digest_bytes.ts";
import { TugError } from "../errors.ts";

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

/** A blob of `n` deterministic bytes. */
function blobBytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * seed + (i >> 8)) & 255);
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("BlobFill keeps only its window in memory; a late subscriber reads the older bytes back from the store", async () => {
  const store = new MemoryStore();
  const data = blobBytes(100_000, 7);
  const digest = await digestBytes(data);
  const source = feed();
  const fill = BlobFill.start({
    digest,
    size: data.length,
    body: source.body,
    blobs: store.blobs,
    window: 4096,
  });
  for (let at = 0; at < 90_000; at += 1000) source.push(data.subarray(at, at + 1000));
  // Bounded: wait (≤ 2 s) until the fill read what was pushed.
  for (let i = 0; i < 200 && fill.received < 90_000; i++) await new Promise((r) => setTimeout(r, 10));
  assertEquals(fill.received, 90_000);
  assert(fill.kept <= 4096 + 1000, `kept ${fill.kept} bytes`);
  const late = readAll(fill.subscribe());
  const ranged = readAll(fill.subscribe(12_345, 88_000));
  for (let at = 90_000; at < data.length; at += 1000) source.push(data.subarray(at, at + 1000));
  source.end();
  await fill.done;
  assertEquals(await late, data);
  assertEquals(await ranged, data.subarray(12_345, 88_000));
  assert(fill.cached);
});

Deno.test("BlobFill does not hold the upstream back for a slow subscriber, which still gets every byte", async () => {
  const store = new MemoryStore();
  const data = blobBytes(64_000, 13);
  const digest = await digestBytes(data);
  const source = feed();
  const fill = BlobFill.start({
    digest,
    size: data.length,
    body: source.body,
    blobs: store.blobs,
    window: 2048,
  });
  const slow = fill.subscribe().getReader();
  const fast = readAll(fill.subscribe());
  source.push(data.subarray(0, 1000));
  source.push(data.subarray(1000, 2000));
  const first = await slow.read();
  assertEquals(first.value, data.subarray(0, 1000));
  for (let at = 2000; at < data.length; at += 1000) source.push(data.subarray(at, at + 1000));
  source.end();
  // The whole blob arrives and is committed while the slow subscriber has read one chunk.
  await fill.done;
  assertEquals(await fast, data);
  assert(fill.kept <= 2048 + 1000, `kept ${fill.kept} bytes`);
  const rest: Uint8Array[] = [first.value!];
  for (let i = 0; i < 1000; i++) {
    const { done, value } = await slow.read();
    if (done) break;
    rest.push(value);
  }
  assertEquals(new Uint8Array(await new Blob(rest as Uint8Array<ArrayBuffer>[]).arrayBuffer()), data);
});

Deno.test("BlobFill keeps only its window when the store cannot read a write back; a late subscriber reads the committed blob", async () => {
  const inner = new MemoryStore();
  // The same store without the optional capability.
  const blobs = {
    ...inner.blobs,
    stat: (d: string) => inner.blobs.stat(d),
    get: (d: string, r?: { start: number; end?: number }) => inner.blobs.get(d, r),
    delete: (d: string) => inner.blobs.delete(d),
    list: () => inner.blobs.list(),
    writer: async (e: { digest: string; size: number }) => {
      const w = await inner.blobs.writer(e);
      return {
        offset: w.offset,
        readPartial: () => w.readPartial(),
        write: (c: Uint8Array) => w.write(c),
        commit: () => w.commit(),
        abort: (o?: { keepPartial?: boolean }) => w.abort(o),
      };
    },
  };
  const data = blobBytes(20_000, 3);
  const digest = await digestBytes(data);
  const source = feed();
  const fill = BlobFill.start({ digest, size: data.length, body: source.body, blobs, window: 1024 });
  for (let at = 0; at < data.length; at += 1000) source.push(data.subarray(at, at + 1000));
  for (let i = 0; i < 200 && fill.received < data.length; i++) await new Promise((r) => setTimeout(r, 10));
  assert(fill.kept <= 1024 + 1000, `kept ${fill.kept} bytes`);
  // Behind the window: not servable before the commit (the proxy forwards such a Range upstream).
  assertEquals(fill.canServe(0), false);
  assertEquals(fill.canServe(data.length - 500), true);
  const late = readAll(fill.subscribe());
  const ranged = readAll(fill.subscribe(1234, 5678));
  source.end();
  await fill.done;
  assertEquals(await late, data);
  assertEquals(await ranged, data.subarray(1234, 5678));
});

Deno.test("BlobFill does not read back a write when told the store cannot (readBack: false), and fails subscribers behind the window when the commit fails", async () => {
  const inner = new MemoryStore();
  const data = blobBytes(20_000, 5);
  const digest = await digestBytes(data);
  let readBacks = 0;
  const blobs = {
    ...inner.blobs,
    stat: (d: string) => inner.blobs.stat(d),
    get: (d: string, r?: { start: number; end?: number }) => inner.blobs.get(d, r),
    delete: (d: string) => inner.blobs.delete(d),
    list: () => inner.blobs.list(),
    writer: async (e: { digest: string; size: number }) => {
      const w = await inner.blobs.writer(e);
      return {
        offset: w.offset,
        readPartial: () => w.readPartial(),
        write: (c: Uint8Array) => w.write(c),
        commit: () => Promise.reject(new Error("the object store refused the upload")),
        abort: (o?: { keepPartial?: boolean }) => w.abort(o),
        get readable() {
          return w.readable;
        },
        readWritten: (start: number, end: number) => {
          readBacks++;
          return w.readWritten!(start, end);
        },
      };
    },
  };
  const source = feed();
  const fill = BlobFill.start({
    digest,
    size: data.length,
    body: source.body,
    blobs,
    window: 1024,
    readBack: false,
  });
  for (let at = 0; at < data.length; at += 1000) source.push(data.subarray(at, at + 1000));
  for (let i = 0; i < 200 && fill.received < data.length; i++) await new Promise((r) => setTimeout(r, 10));
  assert(fill.kept <= 1024 + 1000, `kept ${fill.kept} bytes`);
  const late = readAll(fill.subscribe());
  const tail = readAll(fill.subscribe(data.length - 500));
  source.end();
  await fill.done;
  assertEquals(fill.cached, false);
  await assertRejects(() => late, TugError, "the store did not commit it");
  assertEquals(await tail, data.subarray(data.length - 500));
  assertEquals(readBacks, 0);
});

Deno.test("BlobFill errors a subscriber reading back from the store on a digest mismatch", async () => {
  const store = new MemoryStore();
  const data = blobBytes(50_000, 5);
  const digest = await digestBytes(data);
  const wrong = data.slice();
  wrong[49_999] ^= 1;
  const source = feed();
  const fill = BlobFill.start({
    digest,
    size: data.length,
    body: source.body,
    blobs: store.blobs,
    window: 1024,
  });
  const slow = fill.subscribe().getReader();
  for (let at = 0; at < 30_000; at += 1000) source.push(wrong.subarray(at, at + 1000));
  assertEquals((await slow.read()).value?.byteLength, 1000);
  for (let at = 30_000; at < data.length; at += 1000) source.push(wrong.subarray(at, at + 1000));
  source.end();
  await assertRejects(() => fill.done, undefined, { code: "DIGEST_MISMATCH" });
  let got = 1000;
  await assertRejects(async () => {
    for (let i = 0; i < 1000; i++) {
      const { done, value } = await slow.read();
      if (done) break;
      got += value.byteLength;
    }
  });
  assert(got < data.length, `the slow subscriber got ${got} bytes`);
  assertEquals(await store.blobs.stat(digest), undefined);
});

Deno.test("BlobFill fails with TIMEOUT when the upstream body sends nothing for readTimeout", async () => {
  const store = new MemoryStore();
  const digest = await digestBytes(bytes);
  let cancelled: unknown;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start: (c) => void (controller = c),
    cancel: (reason) => void (cancelled = reason),
  });
  const fill = BlobFill.start({ digest, size: bytes.length, body, blobs: store.blobs, readTimeout: 50 });
  const reading = new Response(fill.subscribe()).arrayBuffer();
  controller.enqueue(bytes.subarray(0, 100));
  const started = Date.now();
  await assertRejects(() => fill.done, Error, "sent nothing for 50 ms");
  assert(Date.now() - started < 2_000);
  await assertRejects(() => reading, Error);
  assert(cancelled !== undefined, "the upstream body was not cancelled");
  assertEquals(fill.running, false);
  assertEquals(await store.blobs.stat(digest), undefined);
});

Deno.test("BlobFill.elsewhere() gives its subscribers nothing until the other process committed the blob, then the committed bytes", async () => {
  const store = new MemoryStore();
  const digest = await digestBytes(bytes);
  let commit!: () => void;
  const committed = new Promise<void>((resolve) => commit = resolve);
  const fill = BlobFill.elsewhere({ digest, size: bytes.length, blobs: store.blobs, committed });
  assert(fill.elsewhere && fill.running && !fill.cached);
  assert(fill.canServe(0), "a subscriber from byte 0 waits for the commit instead of going upstream");
  let first: Uint8Array | undefined;
  const reader = fill.subscribe(100, 900).getReader();
  const reading = reader.read().then((r) => first = r.value);
  // The other process writes and commits; only then is this fill told.
  const writer = await store.blobs.writer({ digest, size: bytes.length });
  await writer.write(bytes);
  await writer.commit();
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(first, undefined, "no byte before the commit was reported");
  commit();
  await fill.done;
  assert(fill.cached && !fill.running);
  await reading;
  const rest: Uint8Array[] = [first!];
  for (let i = 0; i < 1000; i++) {
    const { done, value } = await reader.read();
    if (done) break;
    rest.push(value);
  }
  assertEquals(
    new Uint8Array(await new Blob(rest as Uint8Array<ArrayBuffer>[]).arrayBuffer()),
    bytes.subarray(100, 900),
  );
});

Deno.test("BlobFill.elsewhere() fails its subscribers when the other process's download fails", async () => {
  const store = new MemoryStore();
  const digest = await digestBytes(bytes);
  const committed = Promise.reject(new TugError("STORE_IO", "the holder's download failed"));
  const fill = BlobFill.elsewhere({ digest, size: bytes.length, blobs: store.blobs, committed });
  const body = new Response(fill.subscribe()).arrayBuffer();
  await assertRejects(() => body, TugError, { includes: "the holder's download failed" });
  await assertRejects(() => fill.done, TugError);
  assert(!fill.cached);
});
