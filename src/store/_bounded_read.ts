// This module is browser compatible.
/**
 * Bounded reads of the small objects a store keeps in a bucket (reference records, the eviction index,
 * usage records, leases). Whoever can write to the bucket, or answer for it, chooses their size: each
 * is read with a cap, never whole (docs/security.md, rule 8). Private to src/store.
 *
 * @module
 */

import { TugError } from "../errors.ts";

/**
 * The bytes of `stream`, or a `STORE_CORRUPT` error naming `what` as soon as more than `limit` bytes
 * arrived (the rest is not read: the stream is cancelled).
 */
export async function readBounded(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  what: string,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.length;
      if (length > limit) {
        throw new TugError("STORE_CORRUPT", `${what} is larger than ${limit} bytes: not read`, {
          detail: { limit },
        });
      }
      chunks.push(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
