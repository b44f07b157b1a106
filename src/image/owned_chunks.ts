// This module is browser compatible.
/**
 * Decoded chunks whose memory can be handed back as soon as their reader is done with them.
 *
 * A decoder's output buffers are garbage the collector reaches late: V8 frees an ArrayBuffer's memory when
 * a full GC finds it dead, and it starts one for array buffers only after about 64 MB more of them were
 * allocated. Unpacking 1 GiB of gzip therefore peaked at ~150 MiB RSS in Deno, ~80 MiB of it decoded
 * chunks long written to disk. Detaching a buffer (`ArrayBuffer.prototype.transfer(0)`) frees its memory at
 * once instead (V8 drops its reference to the backing store; a native operation still writing it keeps its
 * own reference until it ends), which took the same unpack to ~83 MiB.
 *
 * Detaching is only sound for a buffer nobody else reads: every view of it turns empty. So the decoder marks
 * the chunks it knows to be fresh buffers of their own (see {@linkcode markOwned}), and only a consumer that
 * is the sole reader of that stream, and knows when it has finished with every view, calls
 * {@linkcode releaseOwned}.
 *
 * @module
 */

const owned = new WeakSet<ArrayBufferLike>();

type Transferable = ArrayBuffer & { transfer?: (length?: number) => ArrayBuffer; detached?: boolean };

/**
 * Marks `chunk` as the only view of a buffer no one else holds (a decoder's fresh output, handed on as is).
 * Chunks that share their buffer with anything (a view of part of it) are left unmarked.
 */
export function markOwned(chunk: Uint8Array): void {
  if (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.byteLength > 0) {
    owned.add(chunk.buffer);
  }
}

/**
 * Frees the memory of a chunk {@linkcode markOwned} marked, now, by detaching its buffer; does nothing for
 * any other chunk, or where the runtime cannot detach (no `ArrayBuffer.prototype.transfer`). Every view of
 * the buffer is empty afterwards: call it only once nothing will read the chunk again.
 *
 * @returns Whether the buffer was released.
 */
export function releaseOwned(chunk: Uint8Array): boolean {
  const buffer = chunk.buffer as Transferable;
  if (!owned.has(buffer)) return false;
  owned.delete(buffer);
  if (typeof buffer.transfer !== "function" || buffer.detached) return false;
  try {
    buffer.transfer(0);
    return true;
  } catch {
    // Not detachable (e.g. a WebAssembly memory): the collector frees it as before.
    return false;
  }
}
