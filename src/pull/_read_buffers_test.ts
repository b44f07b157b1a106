import { assert, assertEquals } from "../../test/_assert.ts";
import { READ_BUFFER, readBuffers, readChunks } from "./_read_buffers.ts";

/** A byte stream that enqueues `chunks` one pull at a time. */
function byteStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]);
      else {
        controller.close();
        // A pending BYOB read resolves as done only once its request is answered (Streams spec).
        controller.byobRequest?.respond(0);
      }
    },
  });
}

Deno.test("readChunks() reads a byte stream into its READ_BUFFER-sized buffers, not the stream's own chunks", async () => {
  const chunks = Array.from({ length: 6 }, (_, i) => new Uint8Array(1000).fill(i + 1));
  const buffers = readBuffers(1 << 20);
  let total = 0;
  for await (const chunk of readChunks(byteStream(chunks), undefined, buffers)) {
    // Each chunk is a view of one of the two read buffers, with the bytes sent.
    assertEquals(chunk.buffer.byteLength, READ_BUFFER);
    assertEquals(chunk[0], total / 1000 + 1);
    total += chunk.byteLength;
  }
  assertEquals(total, 6000);
  // The spare buffer came in with the first chunk.
  assert(buffers.spare !== undefined);
});

Deno.test("readChunks() reads a plain stream's own chunks, and cancels the body when the signal aborts", async () => {
  const plain = ReadableStream.from([new Uint8Array([1, 2]), new Uint8Array([3])]);
  const got: number[] = [];
  for await (const chunk of readChunks(plain, undefined, readBuffers(10))) got.push(...chunk);
  assertEquals(got, [1, 2, 3]);
  let cancelled: unknown;
  const endless = new ReadableStream<Uint8Array>({
    pull: (c) => c.enqueue(new Uint8Array(8)),
    cancel: (reason) => {
      cancelled = reason;
    },
  });
  const controller = new AbortController();
  let reads = 0;
  for await (const _ of readChunks(endless, controller.signal)) {
    if (++reads === 3) controller.abort("stop");
    if (reads > 100) break;
  }
  assertEquals([reads <= 4, cancelled], [true, "stop"]);
});

Deno.test("readBuffers() sizes the first buffer to the blob, at most READ_BUFFER", () => {
  assertEquals(readBuffers(0).bytes.byteLength, 1);
  assertEquals(readBuffers(300).bytes.byteLength, 300);
  assertEquals(readBuffers(10 << 20).bytes.byteLength, READ_BUFFER);
});
