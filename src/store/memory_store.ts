// This module is browser compatible.
/**
 * A {@linkcode Store} that keeps everything in memory: for tests, short-lived tools, and as a bounded cache
 * in front of a slower store (proxy, browser page).
 *
 * @module
 */

import { TugError } from "../errors.ts";
import type { Descriptor } from "../manifest/types.ts";
import {
  checkDescriptor,
  checkDigest,
  checkExpected,
  checkName,
  checkWrittenRange,
  resolveRange,
} from "./checks.ts";
import { LruIndex } from "./lru.ts";
import type {
  BlobInfo,
  BlobStore,
  BlobWriter,
  DiffIdStore,
  ReferenceRecord,
  ReferenceStore,
  Store,
  StoreCapabilities,
} from "./types.ts";

/**
 * Options for {@linkcode MemoryStore}.
 *
 * @example
 * ```ts
 * import type { MemoryStoreOptions } from "./memory_store.ts";
 *
 * const options: MemoryStoreOptions = { maxBytes: 64 * 1024 * 1024 };
 * console.assert(options.maxBytes === 67108864);
 * ```
 */
export interface MemoryStoreOptions {
  /**
   * The most bytes of committed blobs to keep. When a commit goes over it, the least recently used blobs
   * (by `commit`, `get` and `stat`) are dropped until the total fits again, except the blob just committed
   * and blobs a reference points at directly (a tag's manifest or index). Partial writes do not count.
   * Unbounded when absent.
   */
  maxBytes?: number;
}

// Writes are copied into blocks of this size: readers get large chunks and a blob is a short array of
// blocks, never one giant buffer (a 600 MB layer would not fit one allocation in every browser).
const BLOCK = 1 << 20;

/** Runs `fn` and returns its result as a promise; a throw becomes a rejection, as from an async function. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

interface Blob {
  readonly blocks: Uint8Array[];
  readonly size: number;
}

function streamBlocks(blocks: readonly Uint8Array[], start: number, end: number): ReadableStream<Uint8Array> {
  let index = 0;
  let skip = start;
  while (index < blocks.length && skip >= blocks[index].length) skip -= blocks[index++].length;
  let left = end - start;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (left <= 0 || index >= blocks.length) {
        controller.close();
        return;
      }
      const block = blocks[index++];
      const n = Math.min(block.length - skip, left);
      // A copy: a consumer may transfer or change its chunk, the store's bytes must stay as committed.
      controller.enqueue(block.slice(skip, skip + n));
      left -= n;
      skip = 0;
    },
  }, { highWaterMark: 0 });
}

class MemoryBlobWriter implements BlobWriter {
  readonly offset: number;
  readonly #blobs: MemoryBlobStore;
  readonly #expected: BlobInfo;
  readonly #blocks: Uint8Array[];
  readonly #partialBlocks: readonly Uint8Array[];
  #block: Uint8Array | undefined;
  #used = 0;
  #written: number;
  #state: "open" | "committed" | "aborted" = "open";

  constructor(blobs: MemoryBlobStore, expected: BlobInfo, partial: Blob | undefined) {
    this.#blobs = blobs;
    this.#expected = expected;
    this.#partialBlocks = partial ? [...partial.blocks] : [];
    this.#blocks = [...this.#partialBlocks];
    this.offset = partial?.size ?? 0;
    this.#written = this.offset;
  }

  readPartial(): ReadableStream<Uint8Array> {
    return streamBlocks(this.#partialBlocks, 0, this.offset);
  }

  /** Every byte written is in memory at once: all of them can be read back. */
  get readable(): number {
    return this.#written;
  }

  readWritten(start: number, end: number): ReadableStream<Uint8Array> {
    checkWrittenRange(this.#expected.digest, start, end, this.#written);
    // A snapshot of the blocks: the bytes before `#used` of the open block never change, later writes go
    // after them or into new blocks.
    const blocks = this.#block !== undefined && this.#used > 0
      ? [...this.#blocks, this.#block.subarray(0, this.#used)]
      : [...this.#blocks];
    return streamBlocks(blocks, start, end);
  }

  write(chunk: Uint8Array): Promise<void> {
    return settle(() => this.#write(chunk));
  }

  #write(chunk: Uint8Array): void {
    this.#checkOpen("write to");
    if (!(chunk instanceof Uint8Array)) throw new TypeError("BlobWriter.write() takes a Uint8Array");
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#block === undefined || this.#used === this.#block.length) {
        this.#seal();
        const wanted = Math.max(this.#expected.size - this.#written, chunk.length - pos);
        this.#block = new Uint8Array(Math.min(BLOCK, wanted));
      }
      const n = Math.min(chunk.length - pos, this.#block.length - this.#used);
      this.#block.set(chunk.subarray(pos, pos + n), this.#used);
      this.#used += n;
      pos += n;
      this.#written += n;
    }
  }

  commit(): Promise<void> {
    return settle(() => {
      this.#checkOpen("commit");
      this.#seal();
      this.#state = "committed";
      if (this.#written !== this.#expected.size) {
        // Nothing becomes visible; the bytes are dropped (they cannot be the blob).
        this.#blocks.length = 0;
        throw new TugError(
          "SIZE_MISMATCH",
          `Cannot commit blob ${this.#expected.digest}: expected ${this.#expected.size} bytes, ` +
            `${this.#written} were written`,
          { detail: { expected: this.#expected.size, actual: this.#written } },
        );
      }
      this.#blobs.put(this.#expected.digest, { blocks: this.#blocks, size: this.#written });
    });
  }

  abort(options: { keepPartial?: boolean } = {}): Promise<void> {
    if (this.#state !== "open") return Promise.resolve();
    this.#state = "aborted";
    this.#seal();
    if (options.keepPartial && this.#written > 0) {
      this.#blobs.keepPartial(this.#expected.digest, { blocks: this.#blocks, size: this.#written });
    }
    return Promise.resolve();
  }

  #seal(): void {
    if (this.#block !== undefined && this.#used > 0) {
      this.#blocks.push(
        this.#used === this.#block.length ? this.#block : this.#block.subarray(0, this.#used),
      );
    }
    this.#block = undefined;
    this.#used = 0;
  }

  #checkOpen(action: string): void {
    if (this.#state !== "open") {
      throw new TypeError(
        `Cannot ${action} blob ${this.#expected.digest}: the writer is already ${this.#state}`,
      );
    }
  }
}

class MemoryBlobStore implements BlobStore {
  readonly #blobs = new Map<string, Blob>();
  readonly #partials = new Map<string, Blob>();
  // Sizes in order of use and their total: the same index the proxy's lruStore() keeps.
  readonly #lru: LruIndex;
  readonly #pinned: () => Set<string>;

  constructor(maxBytes: number, pinned: () => Set<string>) {
    this.#lru = new LruIndex(maxBytes);
    this.#pinned = pinned;
  }

  get bytes(): number {
    return this.#lru.total;
  }

  stat(digest: string): Promise<BlobInfo | undefined> {
    return settle(() => {
      checkDigest(digest);
      const blob = this.#touch(digest);
      return blob ? { digest, size: blob.size } : undefined;
    });
  }

  get(digest: string, range?: { start: number; end?: number }): Promise<ReadableStream<Uint8Array>> {
    return settle(() => {
      checkDigest(digest);
      const blob = this.#touch(digest);
      if (!blob) throw new TugError("NOT_FOUND", `Cannot read blob ${digest}: it is not in the store`);
      const { start, end } = resolveRange(digest, blob.size, range);
      return streamBlocks(blob.blocks, start, end);
    });
  }

  writer(expected: BlobInfo, options: { resume?: boolean } = {}): Promise<BlobWriter> {
    return settle(() => {
      checkExpected(expected);
      const info = { digest: expected.digest, size: expected.size };
      // A resumed writer takes the partial bytes over, so two resumers never append to the same bytes.
      const partial = options.resume ? this.#partials.get(info.digest) : undefined;
      if (partial) this.#partials.delete(info.digest);
      return new MemoryBlobWriter(this, info, partial);
    });
  }

  delete(digest: string): Promise<boolean> {
    return settle(() => {
      checkDigest(digest);
      const blob = this.#blobs.get(digest);
      if (!blob) return false;
      this.#blobs.delete(digest);
      this.#lru.remove(digest);
      return true;
    });
  }

  async *list(): AsyncIterable<BlobInfo> {
    // Least recently used first.
    for (const digest of [...this.#lru.keys()]) {
      const blob = this.#blobs.get(digest);
      if (blob) yield { digest, size: blob.size };
    }
  }

  /** Called by a writer's commit. A second commit of the same digest replaces the first (same bytes). */
  put(digest: string, blob: Blob): void {
    this.#blobs.set(digest, blob);
    this.#lru.add(digest, blob.size);
    this.#evict(digest);
  }

  keepPartial(digest: string, blob: Blob): void {
    this.#partials.set(digest, blob);
  }

  #touch(digest: string): Blob | undefined {
    const blob = this.#blobs.get(digest);
    if (blob) this.#lru.touch(digest);
    return blob;
  }

  #evict(keep: string): void {
    if (!this.#lru.over) return;
    const pinned = this.#pinned();
    for (const digest of this.#lru.evict((d) => d === keep || pinned.has(d))) this.#blobs.delete(digest);
  }
}

class MemoryReferenceStore implements ReferenceStore {
  readonly #references = new Map<string, Descriptor>();

  get(name: string): Promise<Descriptor | undefined> {
    return settle(() => {
      checkName(name);
      const descriptor = this.#references.get(name);
      return descriptor ? structuredClone(descriptor) : undefined;
    });
  }

  set(name: string, descriptor: Descriptor): Promise<void> {
    return settle(() => {
      checkName(name);
      checkDescriptor(name, descriptor);
      this.#references.set(name, structuredClone(descriptor));
    });
  }

  delete(name: string): Promise<boolean> {
    return settle(() => {
      checkName(name);
      return this.#references.delete(name);
    });
  }

  list(): Promise<ReferenceRecord[]> {
    return Promise.resolve(
      [...this.#references].map(([name, descriptor]) => ({ name, descriptor: structuredClone(descriptor) })),
    );
  }

  digests(): Set<string> {
    return new Set([...this.#references.values()].map((d) => d.digest));
  }
}

/**
 * A {@linkcode Store} in memory. Blobs are kept as arrays of 1 MiB blocks (written bytes are copied in,
 * read bytes are copied out, so no caller can change stored bytes), partial writes stay in memory for a
 * resume within the same process, and an optional `maxBytes` turns it into a least-recently-used cache.
 * Like every store it does not hash: callers verify bytes before `commit()`, which checks the byte count.
 *
 * @example Store a blob and read part of it back
 * ```ts
 * import { MemoryStore } from "./memory_store.ts";
 *
 * const store = new MemoryStore();
 * const bytes = new TextEncoder().encode("hello");
 * const digest = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
 * const writer = await store.blobs.writer({ digest, size: bytes.length });
 * await writer.write(bytes);
 * await writer.commit();
 *
 * const text = await new Response(await store.blobs.get(digest, { start: 1, end: 4 })).text();
 * console.assert(text === "ell");
 * ```
 *
 * @example A bounded cache
 * ```ts
 * import { MemoryStore } from "./memory_store.ts";
 *
 * const cache = new MemoryStore({ maxBytes: 256 * 1024 * 1024 });
 * console.assert(cache.bytes === 0);
 * ```
 */
export class MemoryStore implements Store {
  /** The blobs. */
  readonly blobs: BlobStore;
  /** The references (tags and digests). */
  readonly references: ReferenceStore;
  /** Resumes kept partial writes, and reads back the bytes of a blob still being written. */
  readonly capabilities: StoreCapabilities = { resume: true, readWhileWriting: true };
  /** The diffIDs found for layer blobs (layer digest → diffID), kept while the store lives. */
  readonly diffIds: DiffIdStore = memoryDiffIds();
  readonly #blobs: MemoryBlobStore;

  /**
   * Creates an empty store.
   *
   * @param options `maxBytes` bounds the committed blob bytes (least recently used blobs are dropped).
   */
  constructor(options: MemoryStoreOptions = {}) {
    const maxBytes = options.maxBytes ?? Infinity;
    if (typeof maxBytes !== "number" || Number.isNaN(maxBytes) || maxBytes < 0) {
      throw new RangeError(`MemoryStore maxBytes ${String(options.maxBytes)} is not a non-negative number`);
    }
    const references = new MemoryReferenceStore();
    this.#blobs = new MemoryBlobStore(maxBytes, () => references.digests());
    this.blobs = this.#blobs;
    this.references = references;
  }

  /** Bytes of committed blobs held now. */
  get bytes(): number {
    return this.#blobs.bytes;
  }
}

function memoryDiffIds(): DiffIdStore {
  const found = new Map<string, string>();
  return {
    get: (layerDigest) => Promise.resolve(found.get(layerDigest)),
    set: (layerDigest, diffId) => {
      found.set(layerDigest, diffId);
      return Promise.resolve();
    },
  };
}
