// This module is browser compatible.
/**
 * `checkDiffIds()`: checks a stored image's layers against its config's `rootfs.diff_ids`, as Docker does
 * during a pull (moby distribution/pull_v2.go, errRootFSMismatch). Each layer is decompressed and hashed once:
 * the diffID found is recorded in the store's `diffIds` (when it has them), and a layer with a record is not
 * decompressed again.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import type { HasherFactory } from "../digest/hasher.ts";
import { parseDigest } from "../digest/parse_digest.ts";
import { wasmHasher } from "../digest/wasm_hasher.ts";
import type { Descriptor } from "../manifest/types.ts";
import type { Store } from "../store/types.ts";
import type { DecompressLayerOptions } from "./decompress_layer.ts";
import { openLayer } from "./open_layer.ts";

/** Docker's message (moby distribution/pull_v2.go errRootFSMismatch) for every diffID disagreement. */
export const ROOTFS_MISMATCH = "layers from manifest don't match image configuration";

/** Options for {@linkcode layerDiffId} and {@linkcode checkDiffIds}. */
export interface DiffIdOptions {
  /** Hasher for the uncompressed bytes (default: WebAssembly SHA-256/512; pass a native one where there is one). */
  hasher?: HasherFactory;
  /** Cancels the check. */
  signal?: AbortSignal;
  /** The largest zstd window a layer may declare (see `decompressLayer()`). */
  maxZstdWindow?: number;
  /**
   * Layers decompressed at once by {@linkcode checkDiffIds} (default 2): decompression and hashing are CPU
   * work, and each layer is one stream, so two cores check two layers at a time.
   */
  concurrency?: number;
  /** Told about each layer that had to be decompressed (not those the store had a record for). */
  onDecompressed?: (layer: Descriptor, diffId: string) => void;
}

/**
 * The diffID of the stored layer blob `layer` with the algorithm of `like` (a diffID of the same image, or
 * sha256 when absent): the store's record when it has one, else found by decompressing and hashing the
 * blob, then recorded.
 *
 * @example
 * ```ts ignore
 * const diffId = await layerDiffId(store, manifest.layers[0]);
 * ```
 */
export async function layerDiffId(
  store: Store,
  layer: Descriptor,
  options: DiffIdOptions & { like?: string } = {},
): Promise<string> {
  const algorithm = options.like === undefined ? "sha256" : parseDigest(options.like).algorithm;
  const recorded = await store.diffIds?.get(layer.digest);
  if (recorded !== undefined && recorded.startsWith(`${algorithm}:`)) return recorded;
  const decompress: DecompressLayerOptions = {
    ...(options.maxZstdWindow !== undefined ? { maxZstdWindow: options.maxZstdWindow } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const opened = await openLayer(store, layer, {
    algorithm,
    hasher: options.hasher ?? wasmHasher,
    decompress,
  });
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const r = await opened.reader.read();
      if (r.done) break;
    }
  } catch (err) {
    await opened.reader.cancel(err).catch(() => {});
    throw err;
  }
  const diffId = opened.digest();
  options.onDecompressed?.(layer, diffId);
  await store.diffIds?.set(layer.digest, diffId);
  return diffId;
}

/**
 * Checks that the layers of an image, decompressed, hash to its config's `rootfs.diff_ids`, in order and
 * in number, using (and filling) the store's diffID records.
 *
 * @param store The store holding the layer blobs.
 * @param layers The manifest's layers, bottom first.
 * @param diffIds The config's `rootfs.diff_ids`.
 * @param options Hasher, cancellation, zstd window limit.
 * @throws {TugError} `LAYERS_MISMATCH` with Docker's message "layers from manifest don't match image
 *   configuration" and a `detail` naming the layer, the diffID expected and the one found.
 *
 * @example
 * ```ts
 * import { checkDiffIds } from "./check_diff_ids.ts";
 * import { MemoryStore } from "../store/memory_store.ts";
 *
 * // An image without layers has nothing to decompress.
 * await checkDiffIds(new MemoryStore(), [], []);
 * ```
 */
export async function checkDiffIds(
  store: Store,
  layers: readonly Descriptor[],
  diffIds: readonly string[],
  options: DiffIdOptions = {},
): Promise<void> {
  if (layers.length !== diffIds.length) {
    throw new TugError("LAYERS_MISMATCH", ROOTFS_MISMATCH, {
      detail: { layers: layers.length, diffIds: diffIds.length },
    });
  }
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 2));
  // Each distinct layer is checked once, up to `concurrency` at a time; the first failure stops the others.
  const queue = layers.filter((l, i) => layers.findIndex((m) => m.digest === l.digest) === i);
  const likes = new Map(layers.map((l, i) => [l.digest, diffIds[i]]));
  const results = new Map<string, string>();
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let first: { error: unknown } | undefined;
  let next = 0;
  const worker = async () => {
    while (next < queue.length && first === undefined) {
      const layer = queue[next++];
      try {
        results.set(
          layer.digest,
          await layerDiffId(store, layer, { ...options, signal, like: likes.get(layer.digest) }),
        );
      } catch (error) {
        first ??= { error };
        stop.abort(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  if (first) throw first.error;
  for (let i = 0; i < layers.length; i++) {
    const actual = results.get(layers[i].digest)!;
    if (actual !== diffIds[i]) {
      throw new TugError(
        "LAYERS_MISMATCH",
        `${ROOTFS_MISMATCH}: layer ${layers[i].digest} decompresses to ${actual}, the config says ${
          diffIds[i]
        }`,
        { detail: { layer: layers[i].digest, expected: diffIds[i], actual } },
      );
    }
  }
}
