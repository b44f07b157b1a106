/**
 * Opens one file of a cached gzip layer through its {@linkcode GzipIndex}: decompression starts at the
 * checkpoint before the file's tar header (its offset is in the kept listing), not at the layer's start.
 * The index is built in the background, once per layer, after the layer's listing was read and its blob
 * verified and cached.
 *
 * @module
 */

import type { IdbStore } from "../../adapters/idb/mod.ts";
import type { TarHeader } from "../../src/mod.ts";
import { headerOf, readTar } from "../../src/image/mod.ts";
import { buildGzipIndex, checkpointBefore, gzipIndexes, readFromCheckpoint } from "./gzip_index.ts";
import { type Extracted, readPrefix } from "./layer_reader.ts";

/**
 * Reads the first `limit` bytes of `entry` (a regular file of the layer's listing) from the cached blob
 * `digest` through its gzip index. Resolves `undefined` when there is no index or cached blob, or when the
 * bytes at the entry's offset are not that entry (same name and size): the caller then reads the layer from
 * its start.
 *
 * @example
 * ```ts ignore
 * const got = await extractIndexed(store, layer.digest, entry, 1 << 20) ?? await extractFile(...);
 * ```
 */
export async function extractIndexed(
  store: IdbStore,
  digest: string,
  entry: TarHeader,
  limit: number,
): Promise<Extracted | undefined> {
  const indexes = gzipIndexes(store.name);
  const meta = await indexes.meta(digest);
  if (!meta || entry.offset >= meta.total) return undefined;
  // Only a blob in the cache, verified against its digest when it was cached, is read.
  if (!(await store.blobs.stat(digest))) return undefined;
  const point = await indexes.point(meta, checkpointBefore(meta, entry.offset));
  if (!point) return undefined;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let finished = false;
  const tar = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      finished = true;
    },
  });
  const pump = readFromCheckpoint(store.blobs, digest, point, entry.offset, (chunk) => {
    if (finished) return false;
    controller.enqueue(chunk.slice());
  }).then(
    () => finished || controller.close(),
    (err) => finished || controller.error(err),
  );
  try {
    for await (const found of readTar(tar)) {
      if (found.name !== entry.name || found.size !== entry.size || found.type !== entry.type) {
        return undefined;
      }
      const keep = Math.min(found.size, limit);
      const data = await readPrefix(found.body, keep);
      if (data.length < keep) return undefined;
      return { entry: headerOf(found), data, truncated: found.size > keep };
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    finished = true;
    await pump.catch(() => {});
  }
}

/**
 * Builds the gzip indexes of cached layers, one layer at a time, in the background.
 *
 * @example
 * ```ts ignore
 * gzipIndexer.ensure(store, layer.digest);
 * ```
 */
export class GzipIndexer {
  #queue: Promise<void> = Promise.resolve();
  readonly #asked = new Set<string>();

  /** Indexes blob `digest` of `store` unless it is indexed already, not cached, or not gzip. */
  ensure(store: IdbStore, digest: string): void {
    const key = `${store.name} ${digest}`;
    if (this.#asked.has(key)) return;
    this.#asked.add(key);
    const indexes = gzipIndexes(store.name);
    this.#queue = this.#queue.then(async () => {
      if (await indexes.meta(digest)) return;
      if (!(await store.blobs.stat(digest))) return;
      let index;
      try {
        index = await buildGzipIndex(await store.blobs.get(digest));
      } catch {
        // Not gzip (zstd, plain tar), or the blob was evicted meanwhile: no index, files are read from the start.
        return;
      }
      if (await store.blobs.stat(digest)) await indexes.set(digest, index);
    }).catch(() => {});
  }

  /** Resolves when every index asked for so far was built (or given up). */
  idle(): Promise<void> {
    return this.#queue;
  }
}

/** The page's indexer. */
export const gzipIndexer: GzipIndexer = new GzipIndexer();
