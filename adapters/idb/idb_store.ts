// This module is browser compatible.
/// <reference lib="dom" />
/**
 * A {@linkcode Store} over the browser's IndexedDB (through npm `idb-keyval`), so a web page keeps the
 * blobs it fetched across reloads and can show them again offline.
 *
 * Layout: four idb-keyval stores, each in its own database (idb-keyval opens one object store per
 * database), named after the store's `name`:
 * - `<name>-chunks`: blob bytes in chunks of at most `chunkSize` (1 MiB), keyed `[digest, writeId, n]`.
 *   A large layer is many small values, never one huge one (a browser may refuse or copy a 600 MB value).
 * - `<name>-blobs`: one record per committed blob `{ digest, size, write, chunks, lastAccess }` (the chunk
 *   sizes and the write that produced them). These small records are also the size index eviction reads.
 * - `<name>-partials`: one record per interrupted write kept for a resume, in the same shape.
 * - `<name>-references`: reference name → descriptor.
 *
 * Chunks are written while the bytes stream in, under a write id of their own; `commit()` then makes the
 * blob visible with one write of its record: the rename-after-verify of an OCI layout store, as a pointer.
 *
 * Browser-only: no Deno or Node APIs.
 *
 * @module
 */

import { createStore, entries, get, promisifyRequest, set, setMany, type UseStore, values } from "idb-keyval";
import { TugError } from "../../src/errors.ts";
import type { Descriptor } from "../../src/manifest/types.ts";
import {
  checkDescriptor,
  checkDigest,
  checkExpected,
  checkName,
  checkWrittenRange,
  resolveRange,
} from "../../src/store/_checks.ts";
import type {
  BlobInfo,
  BlobStore,
  BlobWriter,
  ReferenceRecord,
  ReferenceStore,
  Store,
} from "../../src/store/types.ts";

/**
 * Options for {@linkcode IdbStore}.
 *
 * @example
 * ```ts
 * import type { IdbStoreOptions } from "./idb_store.ts";
 *
 * const options: IdbStoreOptions = { name: "tug-page", maxBytes: 512 * 1024 * 1024 };
 * console.assert(options.name === "tug-page");
 * ```
 */
export interface IdbStoreOptions {
  /** Prefix of the four IndexedDB database names (default `"tug"`). Two stores with one name share data. */
  name?: string;
  /**
   * The most bytes of committed blobs to keep. When a commit goes over it, the least recently used blobs
   * (by `commit`, `get` and `stat`) are deleted until the total fits again, except the blob just committed
   * and blobs a reference points at directly (a tag's manifest or index). Partial writes do not count.
   * Unbounded when absent. The same rule as {@linkcode MemoryStore}'s `maxBytes`.
   */
  maxBytes?: number;
  /** Bytes per stored chunk (default 1 MiB). */
  chunkSize?: number;
}

/** Usage figures of an {@linkcode IdbStore}. */
export interface IdbStoreUsage {
  /** Committed blobs. */
  readonly blobs: number;
  /** Their bytes. */
  readonly bytes: number;
  /** Interrupted writes kept for a resume. */
  readonly partials: number;
  /** Bytes of those. */
  readonly partialBytes: number;
}

/** Where a blob's bytes are: the write that stored them and the size of each chunk, in order. */
interface Chunked {
  readonly digest: string;
  readonly size: number;
  readonly write: string;
  readonly chunks: readonly number[];
}

interface BlobRecord extends Chunked {
  readonly lastAccess: number;
}

interface PartialRecord extends Chunked {
  readonly updated: number;
}

type ChunkKey = [digest: string, write: string, n: number];

const MiB = 1 << 20;

/** Runs `fn` in one transaction of `store` and resolves once the transaction completed. */
function transact<T>(store: UseStore, mode: IDBTransactionMode, fn: (s: IDBObjectStore) => T): Promise<T> {
  return store(mode, async (s) => {
    const result = fn(s);
    await promisifyRequest(s.transaction);
    return result;
  });
}

function writeId(): string {
  // Starts with the time, so a sweep can tell old abandoned writes from writes still going on.
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `${Date.now().toString(36)}.${random[0].toString(36)}${random[1].toString(36)}`;
}

function writeTime(write: string): number {
  return parseInt(write.slice(0, write.indexOf(".")), 36);
}

class IdbBlobWriter implements BlobWriter {
  readonly offset: number;
  readonly #blobs: IdbBlobStore;
  readonly #expected: BlobInfo;
  readonly #write: string;
  readonly #partialChunks: readonly number[];
  readonly #chunks: number[];
  readonly #chunkSize: number;
  #block: Uint8Array | undefined;
  #used = 0;
  #written: number;
  #ready: Array<[ChunkKey, Uint8Array]> = [];
  // The chunk batch being stored; it never rejects (a failure is kept in #error for the next call).
  #inflight: Promise<void> = Promise.resolve();
  #error: unknown = undefined;
  #state: "open" | "committed" | "aborted" = "open";
  // The chunks IndexedDB has taken so far (a prefix of #chunks) and their bytes: what readWritten() reads.
  #storedChunks: number;
  #stored: number;

  constructor(blobs: IdbBlobStore, expected: BlobInfo, partial: Chunked | undefined, chunkSize: number) {
    this.#blobs = blobs;
    this.#expected = expected;
    this.#chunkSize = chunkSize;
    this.#write = partial?.write ?? writeId();
    this.#partialChunks = partial ? [...partial.chunks] : [];
    this.#chunks = [...this.#partialChunks];
    this.offset = partial?.size ?? 0;
    this.#written = this.offset;
    this.#storedChunks = this.#partialChunks.length;
    this.#stored = this.offset;
  }

  /** Bytes in chunks IndexedDB has stored (a chunk is stored once full, or at commit). */
  get readable(): number {
    return this.#stored;
  }

  readWritten(start: number, end: number): ReadableStream<Uint8Array> {
    checkWrittenRange(this.#expected.digest, start, end, this.#stored);
    // Stored chunks never change; they stay after commit() (the blob's record points at them).
    return this.#blobs.stream(
      {
        digest: this.#expected.digest,
        size: this.#stored,
        write: this.#write,
        chunks: this.#chunks.slice(0, this.#storedChunks),
      },
      start,
      end,
    );
  }

  readPartial(): ReadableStream<Uint8Array> {
    return this.#blobs.stream(
      { digest: this.#expected.digest, size: this.offset, write: this.#write, chunks: this.#partialChunks },
      0,
      this.offset,
    );
  }

  write(chunk: Uint8Array): Promise<void> {
    try {
      this.#checkOpen("write to");
      if (!(chunk instanceof Uint8Array)) throw new TypeError("BlobWriter.write() takes a Uint8Array");
      this.#copy(chunk);
    } catch (err) {
      return Promise.reject(err);
    }
    // One batch stays in flight while the caller produces the next: write() waits for the previous one.
    const previous = this.#inflight;
    this.#flush();
    return previous.then(() => this.#throwIfFailed());
  }

  #copy(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#block === undefined) {
        const wanted = Math.max(this.#expected.size - this.#written, chunk.length - pos);
        this.#block = new Uint8Array(Math.min(this.#chunkSize, wanted));
      }
      const n = Math.min(chunk.length - pos, this.#block.length - this.#used);
      this.#block.set(chunk.subarray(pos, pos + n), this.#used);
      this.#used += n;
      pos += n;
      this.#written += n;
      if (this.#used === this.#block.length) this.#seal();
    }
  }

  #seal(): void {
    if (this.#block !== undefined && this.#used > 0) {
      // A copy when short: IndexedDB clones a view's whole buffer, not just the viewed bytes.
      const block = this.#used === this.#block.length ? this.#block : this.#block.slice(0, this.#used);
      this.#ready.push([[this.#expected.digest, this.#write, this.#chunks.length], block]);
      this.#chunks.push(block.length);
    }
    this.#block = undefined;
    this.#used = 0;
  }

  #flush(): void {
    if (this.#ready.length === 0) return;
    const batch = this.#ready;
    this.#ready = [];
    this.#inflight = this.#inflight.then(async () => {
      if (this.#error !== undefined) return;
      try {
        await setMany(batch, this.#blobs.chunkStore);
        this.#storedChunks += batch.length;
        for (const [, block] of batch) this.#stored += block.length;
      } catch (err) {
        this.#error = err;
      }
    });
  }

  async #settle(): Promise<void> {
    this.#seal();
    this.#flush();
    await this.#inflight;
  }

  #throwIfFailed(): void {
    if (this.#error !== undefined) {
      throw new TugError(
        "STORE_IO",
        `Cannot store blob ${this.#expected.digest}: IndexedDB refused a chunk: ${String(this.#error)}`,
        { cause: this.#error },
      );
    }
  }

  async commit(): Promise<void> {
    this.#checkOpen("commit");
    this.#state = "committed";
    await this.#settle();
    if (this.#error !== undefined || this.#written !== this.#expected.size) {
      // Nothing becomes visible; the bytes are dropped (they cannot be the blob).
      await this.#blobs.deleteChunks(this.#expected.digest, this.#write);
      this.#throwIfFailed();
      throw new TugError(
        "SIZE_MISMATCH",
        `Cannot commit blob ${this.#expected.digest}: expected ${this.#expected.size} bytes, ` +
          `${this.#written} were written`,
        { detail: { expected: this.#expected.size, actual: this.#written } },
      );
    }
    await this.#blobs.put({
      digest: this.#expected.digest,
      size: this.#written,
      write: this.#write,
      chunks: this.#chunks,
    });
  }

  async abort(options: { keepPartial?: boolean } = {}): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "aborted";
    await this.#settle();
    if (options.keepPartial && this.#written > 0 && this.#error === undefined) {
      await this.#blobs.keepPartial({
        digest: this.#expected.digest,
        size: this.#written,
        write: this.#write,
        chunks: this.#chunks,
      });
    } else {
      await this.#blobs.deleteChunks(this.#expected.digest, this.#write);
    }
  }

  #checkOpen(action: string): void {
    if (this.#state !== "open") {
      throw new TypeError(
        `Cannot ${action} blob ${this.#expected.digest}: the writer is already ${this.#state}`,
      );
    }
  }
}

class IdbBlobStore implements BlobStore {
  readonly chunkStore: UseStore;
  readonly #records: UseStore;
  readonly #partials: UseStore;
  readonly #maxBytes: number;
  readonly #chunkSize: number;
  readonly #pinned: () => Promise<Set<string>>;
  #clock = 0;

  constructor(
    name: string,
    maxBytes: number,
    chunkSize: number,
    pinned: () => Promise<Set<string>>,
  ) {
    this.chunkStore = createStore(`${name}-chunks`, "chunks");
    this.#records = createStore(`${name}-blobs`, "blobs");
    this.#partials = createStore(`${name}-partials`, "partials");
    this.#maxBytes = maxBytes;
    this.#chunkSize = chunkSize;
    this.#pinned = pinned;
  }

  /** A strictly increasing time, so two uses in the same millisecond still order. */
  #now(): number {
    this.#clock = Math.max(Date.now(), this.#clock + 1);
    return this.#clock;
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    checkDigest(digest);
    const record = await this.#touch(digest);
    return record ? { digest, size: record.size } : undefined;
  }

  async get(digest: string, range?: { start: number; end?: number }): Promise<ReadableStream<Uint8Array>> {
    checkDigest(digest);
    const record = await this.#touch(digest);
    if (!record) throw new TugError("NOT_FOUND", `Cannot read blob ${digest}: it is not in the store`);
    const { start, end } = resolveRange(digest, record.size, range);
    return this.stream(record, start, end);
  }

  async writer(expected: BlobInfo, options: { resume?: boolean } = {}): Promise<BlobWriter> {
    checkExpected(expected);
    const info = { digest: expected.digest, size: expected.size };
    // A resumed writer takes the partial over (read and deleted in one transaction), so two resumers never
    // append to the same chunks.
    const partial = options.resume ? await this.#take(info.digest) : undefined;
    return new IdbBlobWriter(this, info, partial, this.#chunkSize);
  }

  async delete(digest: string): Promise<boolean> {
    checkDigest(digest);
    let found: BlobRecord | undefined;
    await transact(this.#records, "readwrite", (s) => {
      const request = s.get(digest);
      request.onsuccess = () => {
        found = request.result;
        if (found) s.delete(digest);
      };
    });
    if (!found) return false;
    // The record goes first: a crash in between leaves unreachable chunks (a sweep removes them), never a
    // record pointing at missing bytes.
    await this.deleteChunks(digest, found.write);
    return true;
  }

  async *list(): AsyncIterable<BlobInfo> {
    for (const record of await values<BlobRecord>(this.#records)) {
      yield { digest: record.digest, size: record.size };
    }
  }

  /** Streams bytes [start, end) of chunked bytes, one chunk read ahead. */
  stream(blob: Chunked, start: number, end: number): ReadableStream<Uint8Array> {
    let index = 0;
    let skip = start;
    while (index < blob.chunks.length && skip >= blob.chunks[index]) skip -= blob.chunks[index++];
    let left = end - start;
    const chunks = this.chunkStore;
    const fetchChunk = (n: number): Promise<Uint8Array | undefined> | undefined =>
      left > 0 && n < blob.chunks.length ? get<Uint8Array>([blob.digest, blob.write, n], chunks) : undefined;
    let next = fetchChunk(index);
    // A read-ahead that fails after a cancel must not surface as an unhandled rejection.
    next?.catch(() => {});
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (next === undefined) {
          controller.close();
          return;
        }
        const chunk = await next;
        if (chunk === undefined) {
          next = undefined;
          throw new TugError(
            "NOT_FOUND",
            `Cannot read blob ${blob.digest}: chunk ${index} is gone (the blob was deleted while being read)`,
          );
        }
        const n = Math.min(chunk.length - skip, left);
        left -= n;
        index++;
        next = fetchChunk(index);
        next?.catch(() => {});
        // Each read is a fresh clone from IndexedDB: the consumer may keep or change it.
        controller.enqueue(skip === 0 && n === chunk.length ? chunk : chunk.subarray(skip, skip + n));
        skip = 0;
      },
      cancel() {
        next = undefined;
      },
    }, { highWaterMark: 0 });
  }

  /** Called by a writer's commit. A second commit of the same digest replaces the first (same bytes). */
  async put(blob: Chunked): Promise<void> {
    const record: BlobRecord = { ...blob, chunks: [...blob.chunks], lastAccess: this.#now() };
    let old: BlobRecord | undefined;
    await transact(this.#records, "readwrite", (s) => {
      const request = s.get(blob.digest);
      request.onsuccess = () => {
        old = request.result;
        s.put(record, blob.digest);
      };
    });
    if (old && old.write !== record.write) await this.deleteChunks(old.digest, old.write);
    await this.#evict(blob.digest);
  }

  async keepPartial(blob: Chunked): Promise<void> {
    const record: PartialRecord = { ...blob, chunks: [...blob.chunks], updated: Date.now() };
    let old: PartialRecord | undefined;
    await transact(this.#partials, "readwrite", (s) => {
      const request = s.get(blob.digest);
      request.onsuccess = () => {
        old = request.result;
        s.put(record, blob.digest);
      };
    });
    if (old && old.write !== record.write) await this.deleteChunks(old.digest, old.write);
  }

  deleteChunks(digest: string, write: string): Promise<void> {
    return transact(this.chunkStore, "readwrite", (s) => {
      s.delete(IDBKeyRange.bound([digest, write, 0], [digest, write, Infinity]));
    });
  }

  async usage(): Promise<IdbStoreUsage> {
    const [records, partials] = await Promise.all([
      values<BlobRecord>(this.#records),
      values<PartialRecord>(this.#partials),
    ]);
    return {
      blobs: records.length,
      bytes: records.reduce((n, r) => n + r.size, 0),
      partials: partials.length,
      partialBytes: partials.reduce((n, r) => n + r.size, 0),
    };
  }

  async sweep(olderThan: number): Promise<number> {
    const [records, partials, keys] = await Promise.all([
      values<Chunked>(this.#records),
      values<Chunked>(this.#partials),
      transact(this.chunkStore, "readonly", (s) => s.getAllKeys()),
    ]);
    const live = new Set([...records, ...partials].map((r) => `${r.digest} ${r.write}`));
    const dead = new Map<string, [string, string]>();
    const cutoff = Date.now() - olderThan;
    for (const key of keys.result as ChunkKey[]) {
      const [digest, write] = key;
      const id = `${digest} ${write}`;
      if (!live.has(id) && !(writeTime(write) > cutoff)) dead.set(id, [digest, write]);
    }
    for (const [digest, write] of dead.values()) await this.deleteChunks(digest, write);
    return dead.size;
  }

  clear(): Promise<unknown> {
    const wipe = (store: UseStore) => transact(store, "readwrite", (s) => s.clear());
    return Promise.all([wipe(this.#records), wipe(this.#partials), wipe(this.chunkStore)]);
  }

  /** Reads a record and marks it used now, in one transaction. */
  async #touch(digest: string): Promise<BlobRecord | undefined> {
    let found: BlobRecord | undefined;
    const now = this.#now();
    await transact(this.#records, "readwrite", (s) => {
      const request = s.get(digest);
      request.onsuccess = () => {
        found = request.result;
        if (found) s.put({ ...found, lastAccess: now }, digest);
      };
    });
    return found;
  }

  async #take(digest: string): Promise<PartialRecord | undefined> {
    let found: PartialRecord | undefined;
    await transact(this.#partials, "readwrite", (s) => {
      const request = s.get(digest);
      request.onsuccess = () => {
        found = request.result;
        if (found) s.delete(digest);
      };
    });
    return found;
  }

  async #evict(keep: string): Promise<void> {
    if (this.#maxBytes === Infinity) return;
    const records = await values<BlobRecord>(this.#records);
    let bytes = records.reduce((n, r) => n + r.size, 0);
    if (bytes <= this.#maxBytes) return;
    const pinned = await this.#pinned();
    records.sort((a, b) => a.lastAccess - b.lastAccess);
    for (const record of records) {
      if (bytes <= this.#maxBytes) break;
      if (record.digest === keep || pinned.has(record.digest)) continue;
      if (await this.delete(record.digest)) bytes -= record.size;
    }
  }
}

class IdbReferenceStore implements ReferenceStore {
  readonly #store: UseStore;

  constructor(name: string) {
    this.#store = createStore(`${name}-references`, "references");
  }

  async get(name: string): Promise<Descriptor | undefined> {
    checkName(name);
    // IndexedDB hands back a fresh structured clone: the caller may change it.
    return await get<Descriptor>(name, this.#store);
  }

  async set(name: string, descriptor: Descriptor): Promise<void> {
    checkName(name);
    checkDescriptor(name, descriptor);
    await set(name, descriptor, this.#store);
  }

  async delete(name: string): Promise<boolean> {
    checkName(name);
    let found = false;
    await transact(this.#store, "readwrite", (s) => {
      const request = s.getKey(name);
      request.onsuccess = () => {
        found = request.result !== undefined;
        if (found) s.delete(name);
      };
    });
    return found;
  }

  async list(): Promise<ReferenceRecord[]> {
    const all = await entries<string, Descriptor>(this.#store);
    return all.map(([name, descriptor]) => ({ name, descriptor }));
  }

  async digests(): Promise<Set<string>> {
    return new Set((await values<Descriptor>(this.#store)).map((d) => d.digest));
  }

  clear(): Promise<void> {
    return transact(this.#store, "readwrite", (s) => void s.clear());
  }
}

/**
 * A {@linkcode Store} in the browser's IndexedDB. Blobs are stored in chunks of 1 MiB written as the bytes
 * stream in; a commit makes them visible with one record write. Interrupted writes kept with
 * `abort({ keepPartial: true })` survive a reload and resume with `writer(…, { resume: true })`. With
 * `maxBytes` it is a least-recently-used cache that never evicts what a reference points at directly.
 * Like every store it does not hash: callers verify bytes before `commit()`, which checks the byte count.
 *
 * A blob deleted or evicted while a `get()` stream is being read ends that stream with TugError NOT_FOUND.
 * Databases open lazily, so constructing a store costs nothing until its first use.
 *
 * @example Cache an image's blobs in the page
 * ```ts
 * import { IdbStore } from "./idb_store.ts";
 *
 * const store = new IdbStore({ name: "tug-page", maxBytes: 1024 * 1024 * 1024 });
 *
 * // In a browser: what is cached, and the page's "clear cache" button.
 * async function showCache(): Promise<string> {
 *   const { blobs, bytes } = await store.usage();
 *   return `${blobs} blobs, ${bytes} bytes`;
 * }
 * async function clearCache(): Promise<void> {
 *   await store.clear();
 * }
 * console.assert(typeof showCache === "function" && typeof clearCache === "function");
 * ```
 *
 * @example Pull into it (in a browser)
 * ```ts
 * import { IdbStore } from "./idb_store.ts";
 * import { pull } from "../../src/mod.ts";
 *
 * async function open(reference: string): Promise<string> {
 *   const result = await pull(reference, { store: new IdbStore() });
 *   return result.digest;
 * }
 * console.assert(typeof open === "function");
 * ```
 */
export class IdbStore implements Store {
  /** The blobs. */
  readonly blobs: BlobStore;
  /** The references (tags and digests). */
  readonly references: ReferenceStore;
  /** Prefix of the IndexedDB database names. */
  readonly name: string;
  readonly #blobs: IdbBlobStore;
  readonly #references: IdbReferenceStore;

  /**
   * Creates a store over the databases `<name>-chunks`, `<name>-blobs`, `<name>-partials` and
   * `<name>-references` (opened, and created when missing, on first use).
   *
   * @param options `name` (default `"tug"`), `maxBytes` (least recently used blobs are deleted), `chunkSize`.
   */
  constructor(options: IdbStoreOptions = {}) {
    const name = options.name ?? "tug";
    if (typeof name !== "string" || name.length === 0) {
      throw new TypeError(`IdbStore name ${JSON.stringify(options.name)} must be a non-empty string`);
    }
    const maxBytes = options.maxBytes ?? Infinity;
    if (typeof maxBytes !== "number" || Number.isNaN(maxBytes) || maxBytes < 0) {
      throw new RangeError(`IdbStore maxBytes ${String(options.maxBytes)} is not a non-negative number`);
    }
    const chunkSize = options.chunkSize ?? MiB;
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
      throw new RangeError(`IdbStore chunkSize ${String(options.chunkSize)} is not a positive integer`);
    }
    this.name = name;
    this.#references = new IdbReferenceStore(name);
    const references = this.#references;
    this.#blobs = new IdbBlobStore(name, maxBytes, chunkSize, () => references.digests());
    this.blobs = this.#blobs;
    this.references = references;
  }

  /**
   * Counts committed blobs and kept partial writes, and their bytes.
   *
   * @example
   * ```ts
   * import { IdbStore } from "./idb_store.ts";
   *
   * async function cachedBytes(store: IdbStore): Promise<number> {
   *   return (await store.usage()).bytes;
   * }
   * console.assert(typeof cachedBytes === "function");
   * ```
   */
  usage(): Promise<IdbStoreUsage> {
    return this.#blobs.usage();
  }

  /**
   * Deletes every blob, partial write and reference (the page's "clear cache" button). Writers still open
   * keep writing; their blobs appear if they commit.
   *
   * @example
   * ```ts
   * import { IdbStore } from "./idb_store.ts";
   *
   * async function clearCache(store: IdbStore): Promise<void> {
   *   await store.clear();
   * }
   * console.assert(typeof clearCache === "function");
   * ```
   */
  async clear(): Promise<void> {
    await Promise.all([this.#blobs.clear(), this.#references.clear()]);
  }

  /**
   * Deletes chunks no blob or partial write points at: what a tab closed in the middle of a write, or a
   * crash between deleting a record and its chunks, leaves behind. Only writes started more than
   * `olderThanMs` ago (default one hour) are touched, so writes still going on in another tab survive.
   * Returns how many abandoned writes were removed.
   *
   * @example
   * ```ts
   * import { IdbStore } from "./idb_store.ts";
   *
   * async function tidy(store: IdbStore): Promise<number> {
   *   return await store.sweep({ olderThanMs: 24 * 60 * 60 * 1000 });
   * }
   * console.assert(typeof tidy === "function");
   * ```
   */
  sweep(options: { olderThanMs?: number } = {}): Promise<number> {
    const olderThan = options.olderThanMs ?? 60 * 60 * 1000;
    if (typeof olderThan !== "number" || Number.isNaN(olderThan) || olderThan < 0) {
      throw new RangeError(`IdbStore.sweep() olderThanMs ${String(olderThan)} is not a non-negative number`);
    }
    return this.#blobs.sweep(olderThan);
  }
}
