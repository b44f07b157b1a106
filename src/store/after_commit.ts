// This module is browser compatible.
/**
 * A store wrapper's writer: `inner` with `then` run after each successful commit (a size cap noting the new
 * blob), and the optional read-back capability passed through only when `inner` has it. Used by the
 * proxy's `lruStore()` and by `ObjectLru.wrap()`.
 *
 * @module
 */

import type { BlobWriter } from "./types.ts";

/**
 * `inner`, running `then` once its commit resolved.
 *
 * @example
 * ```ts
 * import { afterCommit } from "./after_commit.ts";
 * import { MemoryStore } from "./memory_store.ts";
 *
 * const bytes = new TextEncoder().encode("hi");
 * const digest = "sha256:8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4";
 * const added: string[] = [];
 * const inner = await new MemoryStore().blobs.writer({ digest, size: bytes.length });
 * const writer = afterCommit(inner, () => void added.push(digest));
 * await writer.write(bytes);
 * await writer.commit();
 * console.assert(added.length === 1);
 * ```
 */
export function afterCommit(inner: BlobWriter, then: () => void | Promise<void>): BlobWriter {
  const writer: BlobWriter = {
    offset: inner.offset,
    readPartial: () => inner.readPartial(),
    write: (chunk) => inner.write(chunk),
    commit: async () => {
      await inner.commit();
      await then();
    },
    abort: (options) => inner.abort(options),
  };
  if (inner.readWritten === undefined) return writer;
  return Object.defineProperties(writer, {
    readable: { get: () => inner.readable, enumerable: true },
    readWritten: {
      value: (start: number, end: number) => inner.readWritten!(start, end),
      enumerable: true,
    },
  });
}
