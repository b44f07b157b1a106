// This module is browser compatible.
/**
 * Joining chunks into one buffer, and reading a whole (bounded) stream: the two loops every reader of
 * small bodies needs, written once.
 *
 * @module
 */

/**
 * Joins `chunks` into one buffer of `length` bytes (their total when omitted). A single chunk of the
 * right length is returned as it is, without a copy.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./bytes.ts";
 * const joined = concatBytes([new Uint8Array([1, 2]), new Uint8Array([3])]);
 * if (joined.length !== 3 || joined[2] !== 3) throw new Error("not joined");
 * ```
 */
export function concatBytes(chunks: readonly Uint8Array[], length?: number): Uint8Array {
  const total = length ?? chunks.reduce((n, chunk) => n + chunk.byteLength, 0);
  if (chunks.length === 1 && chunks[0].byteLength === total) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/**
 * Reads `stream` to its end into one buffer. Only for streams whose size the caller has bounded
 * already (a block read back from a store, a test's blob); bodies from the network go through
 * `readLimited` (src/registry/read_limited.ts) instead. Empty chunks are skipped, so a stream of
 * N bytes takes at most N reads that keep anything.
 *
 * @example
 * ```ts
 * import { readAllBytes } from "./bytes.ts";
 * const bytes = await readAllBytes(new Blob(["abc"]).stream());
 * if (new TextDecoder().decode(bytes) !== "abc") throw new Error("not read");
 * ```
 */
export async function readAllBytes(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.byteLength > 0) chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return concatBytes(chunks);
}
