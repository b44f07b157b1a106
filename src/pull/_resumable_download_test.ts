import { assertEquals, assertRejects, assertStringIncludes } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { digestBytes } from "../digest/digest_bytes.ts";
import { wasmHasher } from "../digest/wasm_hasher.ts";
import { MemoryStore } from "../store/memory_store.ts";
import { type BlobSource, resumableDownload } from "./_resumable_download.ts";

const blob = new Uint8Array(100_000).map((_, i) => (i * 31) % 251);

/** A source that serves `bytes`, honouring `start`, and breaks each body after `cut` bytes for `breaks` times. */
function flakySource(bytes: Uint8Array, options: { cut: number; breaks: number; ignoreRange?: boolean }) {
  const starts: number[] = [];
  let broken = 0;
  const source: BlobSource = {
    getBlob(_digest, { start = 0 } = {}) {
      const from = options.ignoreRange ? 0 : start;
      starts.push(start);
      const rest = bytes.subarray(from);
      const breakThis = broken < options.breaks;
      if (breakThis) broken++;
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          // Erroring only after the chunk was read: an error drops what is still queued.
          if (sent) return breakThis ? c.error(new TypeError("connection reset")) : c.close();
          sent = true;
          c.enqueue(breakThis ? rest.slice(0, options.cut) : rest.slice());
        },
      });
      return Promise.resolve({ body, start: from, size: rest.length });
    },
  };
  return { source, starts };
}

async function run(
  source: BlobSource,
  digest: string,
  store = new MemoryStore(),
  options: { maxAttempts?: number } = {},
) {
  const events: string[] = [];
  const sleeps: number[] = [];
  await resumableDownload({
    source,
    store: store.blobs,
    descriptor: { mediaType: "application/octet-stream", digest, size: blob.length },
    signal: new AbortController().signal,
    emit: (status, current) => events.push(current === undefined ? status : `${status} ${current}`),
    emitRetry: (seconds) => events.push(`Retrying in ${seconds}`),
    hasher: wasmHasher,
    maxAttempts: options.maxAttempts ?? 5,
    // No real waiting: the countdown's one-second sleeps are recorded.
    sleep: (ms) => (sleeps.push(ms), Promise.resolve()),
    readTimeout: 0,
  });
  return { store, events, sleeps };
}

Deno.test("resumableDownload() resumes a broken body from the last byte received after Docker's 5 and 10 s countdowns", async () => {
  const digest = await digestBytes(blob);
  const { source, starts } = flakySource(blob, { cut: 30_000, breaks: 2 });
  const { store, events, sleeps } = await run(source, digest);
  assertEquals(starts, [0, 30_000, 60_000]);
  const retries = events.filter((e) => e.startsWith("Retrying"));
  assertEquals(retries, [5, 4, 3, 2, 1, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((n) => `Retrying in ${n}`));
  assertEquals(sleeps, Array(15).fill(1000));
  assertEquals(events.at(-1), "Download complete");
  assertEquals(new Uint8Array(await new Response(await store.blobs.get(digest)).arrayBuffer()), blob);
});

Deno.test("resumableDownload() sends no Downloading event at 0 B", async () => {
  const digest = await digestBytes(blob);
  const { events } = await run(flakySource(blob, { cut: 0, breaks: 0 }).source, digest);
  assertEquals(events[0], `Downloading ${blob.length}`);
  assertEquals(events.filter((e) => e === "Downloading 0"), []);
});

Deno.test("resumableDownload() starts again from zero when the registry ignores the range", async () => {
  const digest = await digestBytes(blob);
  const { source, starts } = flakySource(blob, { cut: 40_000, breaks: 1, ignoreRange: true });
  const { store } = await run(source, digest);
  // The resume asked from 40 000, got the whole blob: asked again from the start, into a fresh writer.
  assertEquals(starts, [0, 40_000, 0]);
  assertEquals((await store.blobs.stat(digest))?.size, blob.length);
});

Deno.test("resumableDownload() gives up after maxAttempts with an error naming the blob, and commits nothing unverified", async () => {
  const digest = await digestBytes(blob);
  const store = new MemoryStore();
  const err = await assertRejects(
    () => run(flakySource(blob, { cut: 10, breaks: 10 }).source, digest, store, { maxAttempts: 5 }),
    TugError,
  );
  assertEquals(err.code, "NETWORK");
  assertStringIncludes(err.message, `Cannot download blob ${digest}: `);
  assertStringIncludes(err.message, "gave up after 5 attempts");
  assertEquals(await store.blobs.stat(digest), undefined);
  const wrong = await assertRejects(
    () => run(flakySource(blob.map((b) => b ^ 1), { cut: 0, breaks: 0 }).source, digest, store),
    TugError,
  );
  assertEquals(wrong.code, "DIGEST_MISMATCH");
  assertEquals(await store.blobs.stat(digest), undefined);
});

Deno.test("resumableDownload() restarts a blob from zero once when a resumed download fails its digest check", async () => {
  const digest = await digestBytes(blob);
  // The first body breaks after 30 000 bytes; the resumed body serves wrong bytes after that point (a
  // registry whose blob changed under the same name); the restart from zero gets the right bytes.
  const bad = blob.slice();
  bad[50_000] ^= 1;
  const starts: number[] = [];
  const source: BlobSource = {
    getBlob(_digest, { start = 0 } = {}) {
      starts.push(start);
      const bytes = starts.length === 2 ? bad : blob;
      const cut = starts.length === 1;
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent) return cut ? c.error(new TypeError("connection reset")) : c.close();
          sent = true;
          c.enqueue(bytes.slice(start, cut ? 30_000 : undefined));
        },
      });
      return Promise.resolve({ body, start, size: blob.length - start });
    },
  };
  const { store, events } = await run(source, digest);
  assertEquals(starts, [0, 30_000, 0]);
  assertEquals(events.filter((e) => e === "Verifying Checksum").length, 2);
  assertEquals(new Uint8Array(await new Response(await store.blobs.get(digest)).arrayBuffer()), blob);
  // A second mismatch, now from zero, is final.
  const always = await assertRejects(
    () =>
      run(
        {
          getBlob: (_d, { start = 0 } = {}) =>
            Promise.resolve({
              body: ReadableStream.from([bad.slice(start)]),
              start,
              size: blob.length - start,
            }),
        },
        digest,
        new MemoryStore(),
      ),
    TugError,
  );
  assertEquals(always.code, "DIGEST_MISMATCH");
});
