// This module is browser compatible.
/**
 * The {@linkcode BlobStore} of the IndexedDB store: blob records, chunk streams, kept partials, eviction
 * by least recent use and the sweep of abandoned chunks. Internal to the IndexedDB store.
 *
 * @module
 */

import { createStore, get, type UseStore, values } from "npm:idb-keyval@^6.3.0";
import { TugError } from "../../../src/errors.ts";
import { checkDigest, checkExpected, resolveRange } from "../../../src/store/checks.ts";
import type { BlobInfo, BlobStore, BlobWriter } from "../../../src/store/types.ts";
import { IdbBlobWriter } from "./blob_writer.ts";
import {
  type BlobRecord,
  type Chunked,
  type ChunkKey,
  type PartialRecord,
  transact,
  writeTime,
} from "./records.ts";

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

export class IdbBlobStore implements BlobStore {
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
