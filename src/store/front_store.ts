// This module is browser compatible.
/**
 * A small in-memory front for a slow, shared store (an R2 or S3 bucket): {@linkcode frontedStore}.
 *
 * @module
 */

import { concatBytes } from "../streams/bytes.ts";
import { MemoryStore } from "./memory_store.ts";
import type { BlobInfo, BlobStore, BlobWriter, Store } from "./types.ts";

/**
 * Options for {@linkcode frontedStore}.
 *
 * @example
 * ```ts
 * import type { FrontedStoreOptions } from "./front_store.ts";
 *
 * const options: FrontedStoreOptions = { maxBytes: 32 << 20, maxBlobBytes: 1 << 20 };
 * console.assert(options.maxBlobBytes! < options.maxBytes!);
 * ```
 */
export interface FrontedStoreOptions {
  /** The most bytes the front keeps, least recently used dropped first (default 32 MiB). */
  maxBytes?: number;
  /** Only blobs up to this size go to the front: manifests and configs, not layers (default 1 MiB). */
  maxBlobBytes?: number;
}

class FrontedBlobStore implements BlobStore {
  readonly #back: BlobStore;
  readonly #front: MemoryStore;
  readonly #maxBlob: number;
  /**
   * The back store's blob URLs, when it has them; none for a blob the front holds: it is served from
   * memory, faster than a client could fetch it from the bucket.
   */
  readonly url?: (digest: string, options: { expiresIn: number }) => Promise<string | undefined>;

  constructor(back: BlobStore, front: MemoryStore, maxBlob: number) {
    this.#back = back;
    this.#front = front;
    this.#maxBlob = maxBlob;
    if (back.url !== undefined) {
      this.url = async (digest, options) =>
        await front.blobs.stat(digest) === undefined ? await back.url!(digest, options) : undefined;
    }
  }

  async #keep(digest: string, bytes: Uint8Array): Promise<void> {
    const writer = await this.#front.blobs.writer({ digest, size: bytes.length });
    await writer.write(bytes);
    await writer.commit();
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    return await this.#front.blobs.stat(digest) ?? await this.#back.stat(digest);
  }

  async get(digest: string, range?: { start: number; end?: number }): Promise<ReadableStream<Uint8Array>> {
    if (await this.#front.blobs.stat(digest)) return await this.#front.blobs.get(digest, range);
    const info = await this.#back.stat(digest);
    if (info === undefined || info.size > this.#maxBlob) return await this.#back.get(digest, range);
    // A small blob: read it whole once, keep it in front, serve the range from there.
    const bytes = new Uint8Array(await new Response(await this.#back.get(digest)).arrayBuffer());
    if (bytes.length !== info.size) return await this.#back.get(digest, range);
    await this.#keep(digest, bytes);
    return await this.#front.blobs.get(digest, range);
  }

  async writer(expected: BlobInfo, options?: { resume?: boolean }): Promise<BlobWriter> {
    const inner = await this.#back.writer(expected, options);
    const small = expected.size <= this.#maxBlob;
    const chunks: Uint8Array[] = [];
    const front = (bytes: Uint8Array) => this.#keep(expected.digest, bytes);
    const writer: BlobWriter = {
      offset: inner.offset,
      readPartial: () => inner.readPartial(),
      write: async (chunk) => {
        await inner.write(chunk);
        // A copy: the caller may reuse `chunk` once write() settles.
        if (small) chunks.push(chunk.slice());
      },
      commit: async () => {
        await inner.commit();
        // Only what the back store accepted (its commit checks the bytes) reaches the front.
        if (small && inner.offset === 0) await front(concatBytes(chunks));
        chunks.length = 0;
      },
      abort: (opts) => {
        chunks.length = 0;
        return inner.abort(opts);
      },
    };
    return writer;
  }

  async delete(digest: string): Promise<boolean> {
    await this.#front.blobs.delete(digest);
    return await this.#back.delete(digest);
  }

  list(): AsyncIterable<BlobInfo> {
    return this.#back.list();
  }
}

/**
 * `back` with a small in-memory front: blobs up to `maxBlobBytes` (manifests, configs) that were written
 * or read through it are served from memory afterwards, within `maxBytes`; everything else, and every
 * reference, goes to `back`, which stays the one shared truth (a worker isolate's front dies with it).
 * The back store's capabilities hold (its writers are used as they are, read-back aside).
 *
 * @param back The store (an R2 or S3 bucket).
 * @param options The front's size and the largest blob it takes.
 * @returns The fronted store.
 *
 * @example
 * ```ts
 * import { frontedStore } from "./front_store.ts";
 * import { MemoryStore } from "./memory_store.ts";
 *
 * const store = frontedStore(new MemoryStore(), { maxBytes: 8 << 20 });
 * console.assert((await store.references.list()).length === 0);
 * ```
 */
export function frontedStore(back: Store, options: FrontedStoreOptions = {}): Store {
  const front = new MemoryStore({ maxBytes: options.maxBytes ?? 32 << 20 });
  const blobs = new FrontedBlobStore(back.blobs, front, options.maxBlobBytes ?? 1 << 20);
  // Read-back while writing is not passed through: the wrapper's writers do not offer it.
  const capabilities = { resume: back.capabilities?.resume !== false, readWhileWriting: false };
  // Leases are the back store's (the bucket shared by every process): passed through as they are.
  return {
    blobs,
    references: back.references,
    capabilities,
    ...(back.leases ? { leases: back.leases } : {}),
  };
}
