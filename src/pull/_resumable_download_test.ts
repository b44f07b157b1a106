import { assertEquals, assertRejects } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { digestBytes } from "../digest/digest_bytes.ts";
import { wasmHasher } from "../digest/wasm_hasher.ts";
import { MemoryStore } from "../store/memory_store.ts";
import type { LayerStatus } from "./events.ts";
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

async function run(source: BlobSource, digest: string, store = new MemoryStore()) {
  const events: LayerStatus[] = [];
  await resumableDownload({
    source,
    store: store.blobs,
    descriptor: { mediaType: "application/octet-stream", digest, size: blob.length },
    signal: new AbortController().signal,
    emit: (status) => events.push(status),
    hasher: wasmHasher,
    maxResumes: 3,
    readTimeout: 0,
  });
  return { store, events };
}

Deno.test("resumableDownload() resumes a broken body from the last byte received and commits it verified", async () => {
  const digest = await digestBytes(blob);
  const { source, starts } = flakySource(blob, { cut: 30_000, breaks: 2 });
  const { store, events } = await run(source, digest);
  assertEquals(starts, [0, 30_000, 60_000]);
  assertEquals(events.filter((e) => e === "Retrying").length, 2);
  assertEquals(events.at(-1), "Download complete");
  assertEquals(new Uint8Array(await new Response(await store.blobs.get(digest)).arrayBuffer()), blob);
});

Deno.test("resumableDownload() starts again from zero when the registry ignores the range", async () => {
  const digest = await digestBytes(blob);
  const { source, starts } = flakySource(blob, { cut: 40_000, breaks: 1, ignoreRange: true });
  const { store } = await run(source, digest);
  // The resume asked from 40 000, got the whole blob: asked again from the start, into a fresh writer.
  assertEquals(starts, [0, 40_000, 0]);
  assertEquals((await store.blobs.stat(digest))?.size, blob.length);
});

Deno.test("resumableDownload() gives up after maxResumes broken bodies, and commits nothing unverified", async () => {
  const digest = await digestBytes(blob);
  const store = new MemoryStore();
  const err = await assertRejects(
    () => run(flakySource(blob, { cut: 10, breaks: 10 }).source, digest, store),
    TugError,
  );
  assertEquals(err.code, "NETWORK");
  assertEquals(await store.blobs.stat(digest), undefined);
  const wrong = await assertRejects(
    () => run(flakySource(blob.map((b) => b ^ 1), { cut: 0, breaks: 0 }).source, digest, store),
    TugError,
  );
  assertEquals(wrong.code, "DIGEST_MISMATCH");
  assertEquals(await store.blobs.stat(digest), undefined);
});
