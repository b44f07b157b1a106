// This module is browser compatible.
/**
 * A size cap with least-recently-used eviction for any {@linkcode Store}. The index of sizes and the choice
 * of what to evict are `MemoryStore`'s own (src/store/lru.ts), so both caps behave alike.
 *
 * @module
 */

import { afterCommit } from "../store/after_commit.ts";
import { LruIndex } from "../store/lru.ts";
import type { BlobInfo, BlobStore, BlobWriter, Store } from "../store/types.ts";

/** Options for {@linkcode lruStore}. */
export interface LruStoreOptions {
  /** The most bytes of committed blobs to keep. */
  maxBytes: number;
}

/**
 * Wraps a store so its committed blobs stay under `maxBytes`: each commit that goes over evicts the least
 * recently used blobs (by `commit`, `get` and `stat` through this wrapper) until the total fits, never the
 * blob just committed. The sizes are read once from the store's `list()` on first use. References are left
 * alone: a tag whose manifest was evicted reads as absent and is fetched again.
 *
 * @example Keep at most 1 KiB of blobs
 * ```ts
 * import { lruStore } from "./lru_store.ts";
 * import { MemoryStore } from "../store/memory_store.ts";
 *
 * const store = lruStore(new MemoryStore(), { maxBytes: 1024 });
 * console.assert((await store.blobs.stat("sha256:" + "0".repeat(64))) === undefined);
 * ```
 */
export function lruStore(store: Store, options: LruStoreOptions): Store {
  const { maxBytes } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(`Invalid cache size ${maxBytes}: expected a non-negative integer of bytes`);
  }
  const blobs = new LruBlobStore(store.blobs, maxBytes);
  // The inner store's declared capabilities hold through the wrapper (writers pass resume and read-back on).
  // Download leases (a store shared by processes) pass through too.
  if (store.leases !== undefined) {
    return {
      blobs,
      references: store.references,
      leases: store.leases,
      ...(store.capabilities !== undefined ? { capabilities: store.capabilities } : {}),
    };
  }
  return store.capabilities === undefined
    ? { blobs, references: store.references }
    : { blobs, references: store.references, capabilities: store.capabilities };
}

class LruBlobStore implements BlobStore {
  readonly #inner: BlobStore;
  readonly #max: number;
  #lru: LruIndex | undefined;
  #loading: Promise<LruIndex> | undefined;
  /** The inner store's blob URLs, when it has them: handing one out is a use of the blob. */
  readonly url?: (digest: string, options: { expiresIn: number }) => Promise<string | undefined>;

  constructor(inner: BlobStore, max: number) {
    this.#inner = inner;
    this.#max = max;
    if (inner.url !== undefined) {
      this.url = async (digest, options) => {
        const url = await inner.url!(digest, options);
        if (url !== undefined) await this.#touch(digest);
        return url;
      };
    }
  }

  #load(): Promise<LruIndex> {
    if (this.#lru) return Promise.resolve(this.#lru);
    this.#loading ??= (async () => {
      const lru = new LruIndex(this.#max);
      for await (const info of this.#inner.list()) lru.add(info.digest, info.size);
      this.#lru = lru;
      return lru;
    })();
    return this.#loading;
  }

  async #touch(digest: string): Promise<void> {
    (await this.#load()).touch(digest);
  }

  async #added(info: BlobInfo): Promise<void> {
    const lru = await this.#load();
    lru.add(info.digest, info.size);
    for (const digest of lru.evict((d) => d === info.digest)) {
      await this.#inner.delete(digest).catch(() => false);
    }
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    const info = await this.#inner.stat(digest);
    if (info !== undefined) await this.#touch(digest);
    return info;
  }

  async get(digest: string, range?: { start: number; end?: number }): Promise<ReadableStream<Uint8Array>> {
    const stream = await this.#inner.get(digest, range);
    await this.#touch(digest);
    return stream;
  }

  async writer(expected: BlobInfo, options?: { resume?: boolean }): Promise<BlobWriter> {
    const inner = await this.#inner.writer(expected, options);
    return afterCommit(inner, () => this.#added(expected));
  }

  async delete(digest: string): Promise<boolean> {
    (await this.#load()).remove(digest);
    return this.#inner.delete(digest);
  }

  list(): AsyncIterable<BlobInfo> {
    return this.#inner.list();
  }
}
