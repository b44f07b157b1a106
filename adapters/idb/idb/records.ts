// This module is browser compatible.
/**
 * The records of the IndexedDB store (where a blob's chunks are), its write ids, and a one-transaction
 * helper. Internal to the IndexedDB store.
 *
 * @module
 */

import { promisifyRequest, type UseStore } from "npm:idb-keyval@^6.3.0";

/** Where a blob's bytes are: the write that stored them and the size of each chunk, in order. */
export interface Chunked {
  readonly digest: string;
  readonly size: number;
  readonly write: string;
  readonly chunks: readonly number[];
}

/** A committed blob: where its chunks are, and when it was last used (for eviction). */
export interface BlobRecord extends Chunked {
  readonly lastAccess: number;
}

/** An interrupted write kept for a resume. */
export interface PartialRecord extends Chunked {
  readonly updated: number;
}

/** The key of one stored chunk. */
export type ChunkKey = [digest: string, write: string, n: number];

/** The default chunk size. */
export const MiB: number = 1 << 20;

/** Runs `fn` in one transaction of `store` and resolves once the transaction completed. */
export function transact<T>(
  store: UseStore,
  mode: IDBTransactionMode,
  fn: (s: IDBObjectStore) => T,
): Promise<T> {
  return store(mode, async (s) => {
    const result = fn(s);
    await promisifyRequest(s.transaction);
    return result;
  });
}

/** A new write id: the time in base 36, a dot, and random bits. */
export function writeId(): string {
  // Starts with the time, so a sweep can tell old abandoned writes from writes still going on.
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `${Date.now().toString(36)}.${random[0].toString(36)}${random[1].toString(36)}`;
}

/** When a write with this id started (ms since the epoch). */
export function writeTime(write: string): number {
  return parseInt(write.slice(0, write.indexOf(".")), 36);
}
