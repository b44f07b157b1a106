/**
 * Random access into a cached gzip layer, as zlib's examples/zran.c does it: one pass over the layer
 * records checkpoints (the bit where a DEFLATE block starts, the output offset there, and the 32 KiB of
 * output before it) every few MiB of output; later, reading the bytes at an output offset starts at the
 * checkpoint before it and decompresses only from there. With the offsets of the layer's tar entries (kept
 * with its listing) a small file comes out of a 240 MB layer after a few MiB of decompression at most.
 *
 * The index is built from, and read against, the layer blob in the page's IndexedDB cache, which was
 * verified against its digest before it was cached; an index is only kept for a blob that is cached, and
 * what is read through it is checked to be the tar entry the listing names (name and size) or not used.
 *
 * Layout: database `<name>-gzindex`, key `digest` → {@linkcode GzipIndexMeta}, key `[digest, n]` → the
 * window of checkpoint `n`.
 *
 * @module
 */

import { clear, createStore, get, setMany, type UseStore } from "npm:idb-keyval@^6.3.0";
import { inflatePoints } from "./inflate_points.ts";
import type { BlobStore } from "../../src/store/types.ts";

/** Output between checkpoints: at most this much is decompressed before the bytes asked for. */
export const SPAN: number = 2 * 1024 * 1024;

const VERSION = 1;

/** One place decompression can start. */
export interface Checkpoint {
  /** Bit offset of a DEFLATE block's start in the blob. */
  readonly bit: number;
  /** Offset in the decompressed stream there. */
  readonly out: number;
  /** The up to 32 KiB of output before it (in its gzip member). */
  readonly window: Uint8Array;
}

/** A gzip blob's checkpoints, first at output 0. */
export interface GzipIndex {
  /** Decompressed size. */
  readonly total: number;
  /** Checkpoints in output order. */
  readonly points: Checkpoint[];
}

/** What is stored for a blob besides the windows. */
export interface GzipIndexMeta {
  /** Format version. */
  readonly v: number;
  /** The blob's digest. */
  readonly digest: string;
  /** Decompressed size. */
  readonly total: number;
  /** Checkpoint bit offsets. */
  readonly bits: Float64Array;
  /** Checkpoint output offsets. */
  readonly outs: Float64Array;
}

/**
 * Reads a whole gzip blob once and returns checkpoints every `span` bytes of output (at the first block
 * start past each multiple). Throws when the blob is not gzip or is corrupt.
 *
 * @example
 * ```ts
 * import { buildGzipIndex } from "./gzip_index.ts";
 *
 * const gz = new Response(new Uint8Array(100)).body!.pipeThrough(new CompressionStream("gzip"));
 * const index = await buildGzipIndex(gz);
 * console.assert(index.total === 100 && index.points[0].out === 0);
 * ```
 */
export async function buildGzipIndex(
  blob: ReadableStream<Uint8Array>,
  options: { span?: number } = {},
): Promise<GzipIndex> {
  const span = options.span ?? SPAN;
  const points: Checkpoint[] = [];
  let next = 0;
  const total = await inflatePoints(blob, {
    format: "gzip",
    onBlock: (b) => {
      if (b.out < next) return;
      points.push({ bit: b.bit, out: b.out, window: b.window() });
      next = b.out + span;
    },
  });
  return { total, points };
}

/**
 * Streams the decompressed bytes of a cached gzip blob from output offset `from` on, starting at the
 * checkpoint before it; `onData` returns `false` to stop.
 */
export async function readFromCheckpoint(
  blobs: BlobStore,
  digest: string,
  point: Checkpoint,
  from: number,
  onData: (chunk: Uint8Array) => boolean | void,
): Promise<void> {
  const byte = Math.floor(point.bit / 8);
  const stream = await blobs.get(digest, { start: byte });
  let at = point.out;
  await inflatePoints(stream, {
    format: "raw",
    skipBits: point.bit % 8,
    window: point.window,
    outStart: point.out,
    onData: (chunk) => {
      const end = at + chunk.length;
      const start = at;
      at = end;
      if (end <= from) return true;
      return onData(start >= from ? chunk : chunk.subarray(from - start));
    },
  });
}

/**
 * The gzip indexes of cached layers, in IndexedDB. Failures to read or write are not errors of the page: a
 * layer without an index is read from its start, as before.
 *
 * @example
 * ```ts ignore
 * const indexes = gzipIndexes("tug-web");
 * const meta = await indexes.meta(layer.digest);
 * ```
 */
export class GzipIndexCache {
  readonly #store: UseStore;

  /** A cache over the database `<name>-gzindex` (opened on first use). */
  constructor(name: string) {
    this.#store = createStore(`${name}-gzindex`, "gzindex");
  }

  /** The checkpoints' offsets of blob `digest`, if it was indexed. */
  async meta(digest: string): Promise<GzipIndexMeta | undefined> {
    try {
      const value = await get<GzipIndexMeta>(digest, this.#store);
      if (
        !value || value.v !== VERSION || value.digest !== digest || !(value.bits instanceof Float64Array) ||
        !(value.outs instanceof Float64Array) || value.bits.length !== value.outs.length ||
        value.bits.length === 0
      ) return undefined;
      return value;
    } catch {
      return undefined;
    }
  }

  /** Checkpoint `n` of blob `digest` with its window. */
  async point(meta: GzipIndexMeta, n: number): Promise<Checkpoint | undefined> {
    try {
      const window = await get<Uint8Array>([meta.digest, n], this.#store);
      if (!(window instanceof Uint8Array) || window.length > 32768) return undefined;
      return { bit: meta.bits[n], out: meta.outs[n], window };
    } catch {
      return undefined;
    }
  }

  /** Keeps the index of blob `digest` (windows first, then the record that makes them visible). */
  async set(digest: string, index: GzipIndex): Promise<void> {
    try {
      await setMany(index.points.map((p, n) => [[digest, n], p.window]), this.#store);
      const meta: GzipIndexMeta = {
        v: VERSION,
        digest,
        total: index.total,
        bits: Float64Array.from(index.points, (p) => p.bit),
        outs: Float64Array.from(index.points, (p) => p.out),
      };
      await setMany([[digest, meta]], this.#store);
    } catch (err) {
      console.warn(`Cannot keep the gzip index of ${digest}: ${err instanceof Error ? err.message : err}`);
    }
  }

  /** Forgets every index (the page's "Clear cache"). */
  async clear(): Promise<void> {
    await clear(this.#store);
  }
}

const caches = new Map<string, GzipIndexCache>();

/**
 * The page's gzip index cache for the IndexedDB cache named `name` (one instance per name).
 *
 * @example
 * ```ts ignore
 * const meta = await gzipIndexes("tug-web").meta(digest);
 * ```
 */
export function gzipIndexes(name: string): GzipIndexCache {
  let cache = caches.get(name);
  if (!cache) caches.set(name, cache = new GzipIndexCache(name));
  return cache;
}

/** The last checkpoint at or before output offset `at`. */
export function checkpointBefore(meta: GzipIndexMeta, at: number): number {
  let lo = 0, hi = meta.outs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (meta.outs[mid] <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
