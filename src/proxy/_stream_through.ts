// This module is browser compatible.
/**
 * Blobs larger than the proxy may hold (`ProxyOptions.streamThroughAbove`: the workerd worker without an
 * R2 binding, whose cache is the isolate's own memory): each client's GET streams an upstream GET of its
 * own straight through, verified in flight, neither stored nor shared. A shared download would have to keep
 * the bytes its slowest client has not read (the whole blob, in a memory store), or wake one request's
 * reads from another's, which workerd forbids ("Cannot perform I/O on behalf of a different request").
 * Private to the proxy.
 *
 * @module
 */

import { DigestVerifier } from "../digest/digest_verifier.ts";
import type { HasherFactory } from "../digest/hasher.ts";
import { TugError } from "../errors.ts";

/**
 * The routing decision: whether a blob of `size` bytes (the upstream's Content-Length) is streamed to each
 * client from a GET of its own instead of one shared, cached download. `limit` undefined: never.
 */
export function streamsThrough(limit: number | undefined, size: number): boolean {
  return limit !== undefined && size > limit;
}

/**
 * The outcome of a shared download that found its blob over the limit once the upstream answered: its
 * clients each stream the blob themselves. The request that started the download takes the upstream body
 * it opened (`take()`, once; on workerd only that request may read it); the others GET their own.
 */
export class StreamedThrough extends Error {
  /** The blob's size, as the upstream announced it. */
  readonly size: number;
  #body: ReadableStream<Uint8Array> | undefined;

  constructor(digest: string, size: number, limit: number, body: ReadableStream<Uint8Array>) {
    super(
      `Blob ${digest} has ${size} bytes, more than the ${limit} the proxy shares and keeps: each client ` +
        `streams it from an upstream GET of its own`,
    );
    this.name = "StreamedThrough";
    this.size = size;
    this.#body = body;
  }

  /** The upstream body of the download, for the request that opened it; undefined after the first call. */
  take(): ReadableStream<Uint8Array> | undefined {
    const body = this.#body;
    this.#body = undefined;
    return body;
  }

  /** Closes the upstream body unless it was taken (a download nobody will read). */
  discard(): void {
    this.take()?.cancel().catch(() => {});
  }
}

/** Bytes a stream-through reads from upstream at a time, where the body is a byte stream (a fetch body). */
export const STREAM_CHUNK: number = 128 * 1024;

/** Options for {@linkcode verifiedStream}. */
export interface VerifiedStreamOptions {
  /** The blob's digest. */
  digest: string;
  /** The blob's size, as the upstream announced it (checked: more or fewer bytes fail the stream). */
  size: number;
  /** The first byte the stream gives (default 0). */
  start?: number;
  /** The byte after the last the stream gives (default `size`). */
  end?: number;
  /** The hasher (default: the portable one). */
  hasher?: HasherFactory;
  /**
   * Milliseconds a read of the upstream may wait before the stream fails with `TIMEOUT` (0: none). Only
   * the wait for the upstream counts: a client that reads slowly never trips it.
   */
  readTimeout: number;
  /** Called with the length of every chunk read from upstream. */
  onBytes?: (n: number) => void;
}

/** A reader of whole chunks, whatever the body's own chunk size. */
interface ChunkReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
}

/**
 * Reads `body` in chunks of {@linkcode STREAM_CHUNK} bytes (fewer only at its end) where it is a byte
 * stream, else in its own chunks. Measured on workerd (a 250 MB blob, 8 clients at once): its fetch
 * bodies come in a few KiB at a time and every chunk that passes through JavaScript streams costs far
 * more than its bytes, so one client took 11 s in the body's own chunks and 1.4 s in 256 KiB ones. Larger
 * chunks cost memory instead: each is a fresh buffer (the client's response may still hold the last one),
 * left to the garbage collector, which frees them only every few tens of MiB (8 clients: isolate buffers
 * 66 MiB at 256 KiB, 29 MiB at 128 KiB).
 */
function chunkReader(body: ReadableStream<Uint8Array>): ChunkReader {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    return body.getReader();
  }
  // `min` (Streams spec, ReadableStreamBYOBReaderReadOptions): the read resolves once the view is full or
  // the stream ended. Not in every lib's types yet.
  const read = byob.read.bind(byob) as (
    view: Uint8Array<ArrayBuffer>,
    options: { min: number },
  ) => Promise<ReadableStreamReadResult<Uint8Array>>;
  return {
    async read() {
      const { done, value } = await read(new Uint8Array(STREAM_CHUNK), { min: STREAM_CHUNK });
      if (value !== undefined && value.byteLength > 0) return { done: false, value };
      return done ? { done: true, value: undefined } : { done: false, value: new Uint8Array(0) };
    },
    cancel: (reason) => byob.cancel(reason),
  };
}

/** A read of `reader` that fails with `TIMEOUT` (and cancels it) after `ms` milliseconds without an answer. */
async function readWithin(
  reader: ChunkReader,
  ms: number,
  what: () => string,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (ms === 0) return await reader.read();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TugError("TIMEOUT", `${what()}: the upstream sent nothing for ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([reader.read(), idle]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The bytes `[start, end)` of the whole upstream blob `body`, read only as the consumer reads (nothing is
 * buffered beyond one chunk held back), every byte of the blob hashed. The last piece is held back until
 * the whole blob was read and verified, so a blob that fails its size or digest check makes the stream
 * error and never end as complete: the client sees an aborted response, never wrong bytes as a whole blob.
 * Cancelling it cancels the upstream body.
 */
export function verifiedStream(
  body: ReadableStream<Uint8Array>,
  options: VerifiedStreamOptions,
): ReadableStream<Uint8Array> {
  const start = options.start ?? 0;
  const end = options.end ?? options.size;
  const reader = chunkReader(body);
  const verifier = DigestVerifier.create(
    { digest: options.digest, size: options.size },
    options.hasher ? { hasher: options.hasher } : {},
  );
  // A verifier that could not be made fails the first read.
  verifier.catch(() => {});
  let read = 0;
  let held: Uint8Array | undefined;
  const what = () => `Cannot stream blob ${options.digest} (at byte ${read} of ${options.size})`;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const check = await verifier;
        // Bounded: each round consumes an upstream chunk or ends (the verifier refuses more than `size`).
        for (;;) {
          const { done, value } = await readWithin(reader, options.readTimeout, what);
          if (done) {
            check.verify();
            if (held !== undefined) controller.enqueue(held);
            held = undefined;
            controller.close();
            return;
          }
          if (value.byteLength === 0) continue;
          check.update(value);
          options.onBytes?.(value.byteLength);
          const from = read;
          read += value.byteLength;
          const a = Math.max(start, from);
          const b = Math.min(end, read);
          if (a >= b) continue;
          const out = held;
          held = a === from && b === read ? value : value.subarray(a - from, b - from);
          if (out !== undefined) {
            controller.enqueue(out);
            return;
          }
        }
      } catch (err) {
        held = undefined;
        reader.cancel(err).catch(() => {});
        controller.error(err);
      }
    },
    cancel(reason) {
      held = undefined;
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
