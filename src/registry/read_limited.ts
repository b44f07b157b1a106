// This module is browser compatible.
/**
 * Reads a response body into memory up to a cap, for the small bodies that may be buffered (manifests,
 * error bodies, token answers). Never used for blobs.
 *
 * @module
 */
import { concatBytes } from "../streams/bytes.ts";

/** What {@linkcode readLimited} read. */
export interface LimitedRead {
  /** The bytes read: all of the body, or the first `max` bytes when it was longer. */
  bytes: Uint8Array;
  /** Whether the body was longer than `max` (the rest was cancelled, not read). */
  truncated: boolean;
}

/** Reads at most `max` bytes of `body`, cancelling the stream as soon as it goes past the cap. */
export async function readLimited(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<LimitedRead> {
  if (body === null) return { bytes: new Uint8Array(0), truncated: false };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      if (length + value.byteLength > max) {
        chunks.push(value.subarray(0, max - length));
        length = max;
        await reader.cancel().catch(() => {});
        return { bytes: concatBytes(chunks, length), truncated: true };
      }
      chunks.push(value);
      length += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  return { bytes: concatBytes(chunks, length), truncated: false };
}

/** Discards a body that will not be read, so the connection can be reused. */
export function discard(response: Response): void {
  response.body?.cancel().catch(() => {});
}
