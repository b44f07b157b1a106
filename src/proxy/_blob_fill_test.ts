import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { BlobFill } from "./_blob_fill.ts";
import { MemoryStore } from "../store/memory_store.ts";
import { digestBytes } from "../digest/digest_bytes.ts";
import { TugError } from "../errors.ts";
import type { BlobStore, BlobWriter } from "../store/types.ts";
import { readAllBytes } from "../streams/bytes.ts";

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

/** `count` chunks of `size` bytes, each its own ArrayBuffer (as a fetch body yields them), and the blob. */
function ownChunks(count: number, size: number): { chunks: Uint8Array[]; blob: Uint8Array } {
  const blob = Uint8Array.from({ length: count * size }, (_, i) => (i * 7 + (i >> 11)) % 253);
  return { chunks: Array.from({ length: count }, (_, i) => blob.slice(i * size, (i + 1) * size)), blob };
}

/** Counts the chunks a fill took in (`onHeld` runs after each one is stored and the window trimmed). */
function heldSignal() {
  let seen = 0;
  let waiting: { n: number; resolve: () => void } | undefined;
  return {
    onHeld: () => {
      seen++;
      if (waiting && seen >= waiting.n) waiting.resolve();
    },
    /** Resolves once the fill took in `n` chunks. */
    taken: (n: number) =>
      seen >= n ? Promise.resolve() : new Promise<void>((resolve) => (waiting = { n, resolve })),
  };
}

/** Bytes of `chunks` (those pushed so far) whose memory is still there (not detached). */
const attached = (chunks: Uint8Array[]) => chunks.reduce((n, c) => n + c.buffer.byteLength, 0);

/**
 * Reads `reader` to the end, copying each chunk when it reads it (as Deno.serve's response pump takes its
 * own reference), and calls `after` after every read.
 */
async function drainCopying(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  limit: number,
  after: () => void = () => {},
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < limit; i++) {
    const { done, value } = await reader.read();
    if (done) return new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer());
    parts.push(value.slice());
    after();
  }
  throw new Error(`no end after ${limit} reads`);
}

Deno.test("BlobFill with release: 8 subscribers reading in turn keep at most window + one chunk each in memory, whatever the blob size", async () => {
  const chunk = 64 * 1024;
  const window = 256 * 1024;
  const { chunks, blob } = ownChunks(64, chunk); // 4 MiB, 16 × the window
  const digest = await digestBytes(blob);
  const source = feed();
  const held = heldSignal();
  const fill = BlobFill.start({
    digest,
    size: blob.length,
    body: source.body,
    blobs: new MemoryStore().blobs,
    window,
    release: true,
    onHeld: held.onHeld,
  });
  const readers = Array.from({ length: 8 }, () => fill.subscribe().getReader());
  const parts: Uint8Array[][] = readers.map(() => []);
  let peak = 0;
  for (const [i, c] of chunks.entries()) {
    source.push(c);
    await held.taken(i + 1);
    // Every subscriber reads what the fill released so far (the newest chunk is held back until verified),
    // copying it as it reads, one after the other: each keeps the chunk it read last.
    for (let r = 0; r < readers.length; r++) {
      while (parts[r].reduce((n, p) => n + p.length, 0) < fill.received - chunk) {
        const { value } = await readers[r].read();
        parts[r].push(value!.slice());
      }
    }
    peak = Math.max(peak, attached(chunks.slice(0, i + 1)));
  }
  source.end();
  await fill.done;
  for (let r = 0; r < readers.length; r++) {
    const rest = await drainCopying(readers[r], 100);
    assertEquals(
      await digestBytes(
        new Uint8Array(await new Blob([...parts[r], rest] as Uint8Array<ArrayBuffer>[]).arrayBuffer()),
      ),
      digest,
    );
  }
  // The window, the chunk held back until verified, and no more: the subscribers all read past the rest.
  assert(peak <= window + 2 * chunk, `${peak} bytes of upstream chunks in memory at the peak`);
  assert(fill.freed >= blob.length - window - 2 * chunk, `freed ${fill.freed}`);
});

Deno.test("BlobFill with release: a slow subscriber holds only the chunk it read last; it reads the rest back from the store", async () => {
  const chunk = 64 * 1024;
  const window = 128 * 1024;
  const { chunks, blob } = ownChunks(48, chunk);
  const digest = await digestBytes(blob);
  const source = feed();
  const held = heldSignal();
  const fill = BlobFill.start({
    digest,
    size: blob.length,
    body: source.body,
    blobs: new MemoryStore().blobs,
    window,
    release: true,
    onHeld: held.onHeld,
  });
  const slow = fill.subscribe().getReader();
  const fast = fill.subscribe().getReader();
  source.push(chunks[0]);
  source.push(chunks[1]);
  const first = (await slow.read()).value!;
  let fastRead = 0;
  let peak = 0;
  for (let i = 2; i < chunks.length; i++) {
    source.push(chunks[i]);
    await held.taken(i + 1);
    while (fastRead < fill.received - chunk) fastRead += (await fast.read()).value!.slice().length;
    peak = Math.max(peak, attached(chunks.slice(0, i + 1)));
  }
  // The slow subscriber's chunk stayed intact while it held it, far behind the window.
  assertEquals(first, blob.subarray(0, chunk));
  assert(peak <= window + 3 * chunk, `${peak} bytes of upstream chunks in memory at the peak`);
  source.end();
  await fill.done;
  const rest = await drainCopying(slow, 1000);
  // Once it read on, its old chunk was freed; the rest came from the store.
  assertEquals(chunks[0].buffer.byteLength, 0);
  assertEquals(rest, blob.subarray(chunk));
  await drainCopying(fast, 1000);
});

Deno.test("BlobFill with release never frees a chunk that shares its buffer, and without release frees nothing", async () => {
  const { blob } = ownChunks(16, 64 * 1024);
  const digest = await digestBytes(blob);
  for (const release of [true, false]) {
    const source = feed();
    const fill = BlobFill.start({
      digest,
      size: blob.length,
      body: source.body,
      blobs: new MemoryStore().blobs,
      window: 64 * 1024,
      release,
    });
    const reader = fill.subscribe().getReader();
    const shared = blob.slice(); // one buffer under every chunk
    const own = ownChunks(16, 64 * 1024).chunks;
    for (let i = 0; i < 16; i++) source.push(release ? shared.subarray(i * 65536, (i + 1) * 65536) : own[i]);
    source.end();
    assertEquals(await drainCopying(reader, 100), blob);
    await fill.done;
    assertEquals(fill.freed, 0);
    assertEquals(release ? shared.buffer.byteLength : attached(own), blob.length);
  }
});

/**
 * A MemoryStore whose writers read back as byte streams (like the disk store's), so the fill reads its
 * read-back blocks with a BYOB reader.
 */
function byteReadBackStore(): BlobStore {
  const inner = new MemoryStore().blobs;
  return {
    stat: (digest) => inner.stat(digest),
    get: (digest, range) => inner.get(digest, range),
    delete: (digest) => inner.delete(digest),
    async writer(expected, options) {
      const writer = await inner.writer(expected, options);
      return {
        offset: writer.offset,
        readPartial: () => writer.readPartial(),
        write: (chunk) => writer.write(chunk),
        commit: () => writer.commit(),
        abort: (o) => writer.abort(o),
        get readable() {
          return writer.readable;
        },
        readWritten(start: number, end: number) {
          const bytes = readAllBytes(writer.readWritten!(start, end));
          let pos = 0;
          return new ReadableStream({
            type: "bytes",
            async pull(controller) {
              const all = await bytes;
              const view = controller.byobRequest!.view!;
              const n = Math.min(view.byteLength, all.length - pos);
              new Uint8Array(view.buffer, view.byteOffset, n).set(all.subarray(pos, pos + n));
              pos += n;
              controller.byobRequest!.respond(n);
              if (pos === all.length) controller.close();
            },
          });
        },
      };
    },
  } as BlobStore;
}

Deno.test("BlobFill with release frees the read-back blocks a slow subscriber has read past, and keeps at most 1 MiB of them", async () => {
  const MiB = 1 << 20;
  const { chunks, blob } = ownChunks(16 * 16, 64 * 1024); // 16 MiB
  const digest = await digestBytes(blob);
  const source = feed();
  const fill = BlobFill.start({
    digest,
    size: blob.length,
    body: source.body,
    blobs: byteReadBackStore(),
    window: MiB,
    release: true,
  });
  const slow = fill.subscribe().getReader();
  const upstream = new Set<ArrayBufferLike>(chunks.map((c) => c.buffer));
  for (const c of chunks) source.push(c);
  source.end();
  await fill.done;
  // Everything but the last MiB is behind the window: read back in blocks of the fill's own.
  const seen = new Set<ArrayBufferLike>();
  const parts: Uint8Array[] = [];
  for (let i = 0; i < 1000; i++) {
    const { done, value } = await slow.read();
    if (done) break;
    seen.add(value.buffer);
    parts.push(value.slice());
  }
  assertEquals(new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer()), blob);
  const blocks = [...seen].filter((b) => !upstream.has(b));
  const kept = blocks.filter((b) => b.byteLength > 0);
  // 15 MiB read back; all but the last few blocks (shared by the subscribers behind the window) are freed,
  // and those few hold at most 1 MiB (each one a fill keeps in memory while it reads the store back).
  assert(blocks.length >= 15, `${blocks.length} read-back blocks`);
  assert(kept.length <= 4, `${kept.length} of ${blocks.length} read-back blocks kept`);
  const keptBytes = kept.reduce((n, b) => n + b.byteLength, 0);
  assert(keptBytes <= MiB, `the read-back blocks kept hold ${keptBytes} bytes`);
});

/**
 * `inner`'s blobs as an object store's: no read-back of a write (none offered), `get()` calls counted, and
 * `refuse`: no writer at all (a store that cannot take the blob).
 */
function objectBlobs(inner: MemoryStore, options: { refuse?: boolean } = {}) {
  const counts = { gets: 0 };
  const blobs: BlobStore = {
    stat: (d) => inner.blobs.stat(d),
    get: (d, r) => {
      counts.gets++;
      return inner.blobs.get(d, r);
    },
    delete: (d) => inner.blobs.delete(d),
    list: () => inner.blobs.list(),
    writer: async (e) => {
      if (options.refuse) throw new TugError("STORE_IO", "the test's store takes no blob");
      const w = await inner.blobs.writer(e);
      return {
        offset: 0,
        readPartial: () => w.readPartial(),
        write: (c: Uint8Array) => w.write(c),
        commit: () => w.commit(),
        abort: () => w.abort(),
      };
    },
  };
  return { blobs, counts };
}

/**
 * An upstream body of `data` in chunks of `chunk` bytes, produced only when read (a socket's backpressure),
 * that records the most bytes it was ever asked for beyond what `behind()` says the slowest client has.
 */
function pulledBody(data: Uint8Array, chunk: number, behind: () => number) {
  const stats = { pulls: 0, sent: 0, maxAhead: 0 };
  const body = new ReadableStream<Uint8Array>({
    pull: (controller) => {
      if (stats.sent >= data.length) return controller.close();
      stats.maxAhead = Math.max(stats.maxAhead, stats.sent - behind());
      const next = data.slice(stats.sent, stats.sent + chunk);
      stats.pulls++;
      stats.sent += next.byteLength;
      controller.enqueue(next);
    },
  }, { highWaterMark: 0 });
  return { body, stats };
}

Deno.test("BlobFill over a store that cannot read back paces the upstream to the slowest of 8 subscribers: each streams every byte from the fill, the store is never read, memory stays window + chunks", async () => {
  const data = blobBytes(200_000, 11);
  const digest = await digestBytes(data);
  const { blobs, counts } = objectBlobs(new MemoryStore());
  const got = Array.from({ length: 8 }, () => 0);
  const upstream = pulledBody(data, 1000, () => Math.min(...got));
  let held = 0;
  const fill = BlobFill.start({
    digest,
    size: data.length,
    body: upstream.body,
    blobs,
    readBack: false,
    window: 4096,
    onHeld: (n) => held = Math.max(held, n),
  });
  const clients = got.map(async (_, i) => {
    const parts: Uint8Array[] = [];
    // Bounded: 1000 reads of a blob of 200 chunks.
    for await (const value of fill.subscribe()) {
      parts.push(value.slice());
      got[i] += value.byteLength;
      // Different speeds: some wait a macrotask per chunk, the others a few microtasks.
      if (i % 2 === 1) await new Promise((r) => setTimeout(r, 0));
      else for (let y = 0; y < i; y++) await Promise.resolve();
      assert(parts.length < 1000);
    }
    return new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer());
  });
  for (const bytes of await Promise.all(clients)) assertEquals(bytes, data);
  await fill.done;
  assert(fill.cached);
  assertEquals(counts.gets, 0, "no subscriber read the committed blob back");
  assertEquals([upstream.stats.pulls, upstream.stats.sent], [200, data.length]);
  // Window + the chunk held back until verified + the chunk the slowest client is in + one in flight.
  assert(upstream.stats.maxAhead <= 4096 + 3000, `the upstream ran ${upstream.stats.maxAhead} bytes ahead`);
  assert(held <= 4096 + 2000, `the fill held ${held} bytes`);
});

/** A clock whose time only the test moves; `wait()` (counted) lets a macrotask pass. */
function testClock() {
  const clock = {
    time: 0,
    waits: 0,
    now: () => clock.time,
    wait: () => {
      clock.waits++;
      return new Promise<void>((resolve) => setTimeout(resolve, 0));
    },
  };
  return clock;
}

/** Waits (bounded: 2 s of macrotasks) until `ready()`. */
async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !ready(); i++) await new Promise((r) => setTimeout(r, 10));
  assert(ready(), `timed out waiting until ${what}`);
}

Deno.test("BlobFill paced by a stalled subscriber drops it after stallTimeout of the injected clock; the others go on, and it reads the rest from the committed blob", async () => {
  const data = blobBytes(20_000, 17);
  const digest = await digestBytes(data);
  const { blobs, counts } = objectBlobs(new MemoryStore());
  const upstream = pulledBody(data, 1000, () => 0);
  const clock = testClock();
  const fill = BlobFill.start({
    digest,
    size: data.length,
    body: upstream.body,
    blobs,
    readBack: false,
    window: 2048,
    stallTimeout: 5000,
    clock,
  });
  const stalled = fill.subscribe().getReader();
  assertEquals((await stalled.read()).value, data.subarray(0, 1000));
  const fast = readAll(fill.subscribe());
  await until(() => clock.waits > 10, "the fill waits for the stalled subscriber");
  // The fill does not run ahead of the stalled subscriber's window.
  assert(fill.received <= 1000 + 2048 + 2000, `received ${fill.received}`);
  clock.time = 4999;
  const waits = clock.waits;
  await until(() => clock.waits > waits + 10, "the fill looked again");
  assert(fill.received <= 1000 + 2048 + 2000, `received ${fill.received} before the stall timeout`);
  clock.time = 5000;
  assertEquals(await fast, data);
  await fill.done;
  assertEquals(counts.gets, 0);
  const rest = await readAll(
    new ReadableStream({
      pull: async (c) => {
        const { done, value } = await stalled.read();
        if (done) c.close();
        else c.enqueue(value);
      },
    }),
  );
  assertEquals(rest, data.subarray(1000));
  assertEquals(counts.gets, 1, "the dropped subscriber read the committed blob");
});

Deno.test("BlobFill whose store refuses the blob streams it through paced: memory stays window + chunks, and an offset the window left cannot be served", async () => {
  const data = blobBytes(100_000, 19);
  const digest = await digestBytes(data);
  const { blobs } = objectBlobs(new MemoryStore(), { refuse: true });
  const got = [0, 0, 0];
  const upstream = pulledBody(data, 1000, () => Math.min(...got));
  let held = 0;
  const fill = BlobFill.start({
    digest,
    size: data.length,
    body: upstream.body,
    blobs,
    window: 4096,
    onHeld: (n) => held = Math.max(held, n),
  });
  const clients = got.map(async (_, i) => {
    const parts: Uint8Array[] = [];
    for await (const value of fill.subscribe()) {
      parts.push(value.slice());
      got[i] += value.byteLength;
      if (i === 2) await new Promise((r) => setTimeout(r, 0));
    }
    return new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer());
  });
  await until(() => fill.received > 50_000, "the fill is half way");
  assertEquals(fill.canServe(0), false, "byte 0 left the window: the proxy sends such a client upstream");
  await assertRejects(() => readAll(fill.subscribe(0)), TugError, "no longer kept");
  for (const bytes of await Promise.all(clients)) assertEquals(bytes, data);
  await fill.done;
  assertEquals(fill.cached, false);
  assert(upstream.stats.maxAhead <= 4096 + 3000, `the upstream ran ${upstream.stats.maxAhead} bytes ahead`);
  assert(held <= 4096 + 2000, `the fill held ${held} bytes`);
});

Deno.test("BlobFill with pace: false reads the upstream at its own speed; with a store that refuses the blob it keeps every chunk, so any offset can be served", async () => {
  const data = blobBytes(50_000, 23);
  const digest = await digestBytes(data);
  const { blobs } = objectBlobs(new MemoryStore(), { refuse: true });
  const upstream = pulledBody(data, 1000, () => 0);
  const fill = BlobFill.start({
    digest,
    size: data.length,
    body: upstream.body,
    blobs,
    window: 4096,
    pace: false,
  });
  const idle = fill.subscribe().getReader();
  await until(() => fill.received === data.length, "the fill read the whole blob without its subscriber");
  assertEquals(fill.canServe(0), true);
  assertEquals(fill.kept, data.length);
  assertEquals(await readAll(fill.subscribe(0)), data);
  await fill.done;
  await idle.cancel();
});

/** `memory`'s blobs, with each writer's methods replaced by those `change` gives (the rest delegate). */
function withWriters(
  memory: MemoryStore,
  change: (writer: BlobWriter) => Partial<Pick<BlobWriter, "write" | "commit" | "abort">>,
): BlobStore {
  return {
    stat: (d) => memory.blobs.stat(d),
    get: (d, range) => memory.blobs.get(d, range),
    writer: async (expected, options) => {
      const writer = await memory.blobs.writer(expected, options);
      return {
        offset: writer.offset,
        readPartial: () => writer.readPartial(),
        write: (chunk) => writer.write(chunk),
        commit: () => writer.commit(),
        abort: (o) => writer.abort(o),
        ...change(writer),
      };
    },
    delete: (d) => memory.blobs.delete(d),
    list: () => memory.blobs.list(),
  };
}

Deno.test("BlobFill errors its subscribers on a digest mismatch before the store's abort settles", async () => {
  const digest = await digestBytes(bytes);
  const wrong = bytes.slice();
  wrong[10] ^= 1;
  const memory = new MemoryStore();
  let aborting = false;
  // A store whose abort hangs (a bucket that stopped answering): cleaning up must not hold the clients.
  const blobs = withWriters(memory, () => ({
    abort: () => {
      aborting = true;
      return new Promise<void>(() => {});
    },
  }));
  const source = feed();
  const fill = BlobFill.start({ digest, size: bytes.length, body: source.body, blobs });
  const client = new Response(fill.subscribe()).arrayBuffer();
  source.push(wrong);
  source.end();
  const error = await client.then(() => undefined, (err) => err);
  assert(error !== undefined, "the client's body ended as complete");
  assert(aborting, "the store's writer was not aborted");
});

Deno.test("BlobFill: a store write slower than the read timeout is not taken for an idle upstream", async () => {
  const digest = await digestBytes(bytes);
  const memory = new MemoryStore();
  let slow = 0;
  // Each write takes 3 read timeouts (a part upload on a slow link); the upstream has every byte ready.
  const blobs = withWriters(memory, (writer) => ({
    write: async (chunk) => {
      slow++;
      await new Promise((resolve) => setTimeout(resolve, 150));
      await writer.write(chunk);
    },
  }));
  const source = feed();
  const fill = BlobFill.start({ digest, size: bytes.length, body: source.body, blobs, readTimeout: 50 });
  const client = new Response(fill.subscribe()).arrayBuffer();
  source.push(bytes.subarray(0, 500));
  source.push(bytes.subarray(500));
  source.end();
  assertEquals(new Uint8Array(await client), bytes);
  await fill.done;
  assertEquals(slow, 2);
  assertEquals(await memory.blobs.stat(digest), { digest, size: bytes.length });
});
