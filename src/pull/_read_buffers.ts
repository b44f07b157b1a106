// This module is browser compatible.
/**
 * Buffer reuse for blob downloads: a body is read with a BYOB reader into two buffers in turn, so a
 * download allocates nothing per chunk. Private to src/pull/.
 *
 * @module
 */

/**
 * Size of each buffer a download reads its body into. Deno's fetch fills at most ~496 KiB per BYOB read
 * (measured), so a larger buffer would only cost memory.
 */
export const READ_BUFFER: number = 512 << 10;

/** The buffer the next read goes into, and the one the caller may still be writing. */
export interface ReadBuffers {
  bytes: Uint8Array;
  spare?: Uint8Array;
}

/**
 * Reads `stream` chunk by chunk. When `signal` aborts, the read in progress ends at once: the body is
 * cancelled here rather than trusting the fetch to do it, because the signal a fetch sees follows ours
 * through `new Request(…)` copies, and runtimes drop that link once the copies are garbage collected
 * (a 64 MiB download went on to the end after Ctrl-C).
 *
 * With `buffer`, a byte stream (fetch bodies in Deno and browsers) is read with a BYOB reader into two
 * buffers in turn: each chunk yielded is a view of one of them, valid until the loop asks for the chunk
 * after next. So the caller may write a chunk while the next one is read and hashed, as long as it awaits
 * that write before it writes the next (writers copy what they keep once a write settles).
 * Measured on a 683 MB, 5-layer pull from a local registry: fetch's own chunks average 59 KiB, one fresh
 * allocation each, and the garbage lifts the process's peak RSS by 60–90 MB; the BYOB reads average
 * 150–450 KiB into memory that is never freed, at a flat RSS and ~1.5× the read throughput. Other streams
 * (and runtimes without BYOB on fetch) use the default reader.
 */
export async function* readChunks(
  stream: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
  buffer?: ReadBuffers,
): AsyncGenerator<Uint8Array> {
  let byob: ReadableStreamBYOBReader | undefined;
  if (buffer) {
    try {
      byob = stream.getReader({ mode: "byob" });
    } catch {
      // Not a byte stream: read its own chunks.
    }
  }
  const reader = byob ?? stream.getReader();
  const onAbort = () => void reader.cancel(signal!.reason).catch(() => {});
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (byob && buffer) {
      while (true) {
        // A read that failed or was cancelled keeps the buffer it was given: start a new one.
        if (buffer.bytes.buffer.byteLength === 0) buffer.bytes = new Uint8Array(READ_BUFFER);
        const bytes = buffer.bytes;
        const { done, value } = await byob.read(
          new Uint8Array(bytes.buffer as ArrayBuffer, 0, bytes.buffer.byteLength),
        );
        // A read transfers the buffer: keep the one it came back in for the next read.
        if (value) buffer.bytes = new Uint8Array(value.buffer);
        if (done) return;
        if (value.byteLength > 0) {
          // The next read goes into the other buffer: this one's bytes may still be on their way to disk.
          [buffer.bytes, buffer.spare] = [buffer.spare ?? new Uint8Array(bytes.byteLength), buffer.bytes];
          yield value;
        }
      }
    }
    const plain = reader as ReadableStreamDefaultReader<Uint8Array>;
    while (true) {
      const { done, value } = await plain.read();
      if (done) return;
      yield value;
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
    // Cancel a body we stop reading early so the connection is released.
    stream.cancel().catch(() => {});
  }
}

/** The buffers for a download of `size` bytes: one read buffer, no larger than the blob (the spare comes with the first chunk). */
export function readBuffers(size: number): ReadBuffers {
  return { bytes: new Uint8Array(Math.min(READ_BUFFER, Math.max(size, 1))) };
}
