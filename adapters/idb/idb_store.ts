// This module is browser compatible.
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
 * The parts live in `./idb/`: `blob_store.ts`, `blob_writer.ts`, `reference_store.ts` and `records.ts`
 * (record shapes, write ids). This module composes them.
 *
 * Browser-only: no Deno or Node APIs.
 *
 * @module
 */

import type { BlobStore, ReferenceStore, Store, StoreCapabilities } from "../../src/store/types.ts";
import { IdbBlobStore, type IdbStoreUsage } from "./idb/blob_store.ts";
import { MiB } from "./idb/records.ts";
import { IdbReferenceStore } from "./idb/reference_store.ts";

export type { IdbStoreUsage };

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
  /** Resumes kept partial writes, and reads back the bytes of a blob still being written. */
  readonly capabilities: StoreCapabilities = { resume: true, readWhileWriting: true };
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
