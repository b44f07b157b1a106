// This module is browser compatible.
/**
 * `openLayer()`: a stored layer blob as its uncompressed tar stream, hashed on the way for its diffID, with
 * the compressed bytes read so far. Shared by `unpack()` (adapters/fs), the diffID checks of
 * {@linkcode checkDiffIds} and whoever else reads a layer's tar.
 *
 * @module
 */

import type { DigestAlgorithm, HasherFactory } from "../digest/hasher.ts";
import type { Descriptor } from "../manifest/types.ts";
import type { Store } from "../store/types.ts";
import { decompressLayer, type DecompressLayerOptions } from "./decompress_layer.ts";

/** One layer's uncompressed stream, hashed on the way, with the compressed bytes read so far. */
export interface LayerStream {
  /** Chunks of the tar; `read` is how many compressed bytes had been read when the chunk came out. */
  readonly reader: ReadableStreamDefaultReader<{ chunk: Uint8Array; read: number }>;
  /** The digest of the tar bytes read so far (`algorithm:hex`): the diffID once the reader is done. */
  digest(): string;
}

/** Options for {@linkcode openLayer}. */
export interface OpenLayerOptions {
  /** The diffID's algorithm (the config's `rootfs.diff_ids` entry names it; default sha256). */
  algorithm?: DigestAlgorithm;
  /** The hasher for the diffID. */
  hasher: HasherFactory;
  /**
   * Uncompressed bytes decompressed and hashed ahead of the reader (default 0: only as the reader asks).
   * `unpack()` reads the next layer ahead this way while the current one is written.
   */
  readAhead?: number;
  /** Passed to `decompressLayer()` (zstd window limit, cancellation). */
  decompress?: DecompressLayerOptions;
}

/**
 * Opens the layer blob `layer` of `store` as its uncompressed tar, hashing the tar as it is read. The
 * compression is sniffed from the bytes, not taken from the media type, as Docker does (pkg/archive
 * DecompressStream); the decoder works in bounded steps only as the reader asks, so a decompression bomb
 * costs time, not memory.
 *
 * @example Compute the diffID of a stored layer
 * ```ts ignore
 * import { openLayer } from "./open_layer.ts";
 * import { wasmHasher } from "../digest/wasm_hasher.ts";
 *
 * const layer = await openLayer(store, descriptor, { hasher: wasmHasher });
 * while (!(await layer.reader.read()).done) {}
 * console.log(layer.digest());
 * ```
 */
export async function openLayer(
  store: Store,
  layer: Descriptor,
  options: OpenLayerOptions,
): Promise<LayerStream> {
  const algorithm = options.algorithm ?? "sha256";
  const hash = await options.hasher(algorithm);
  let read = 0;
  const compressed = (await store.blobs.get(layer.digest)).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        read += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }),
  );
  const tar = decompressLayer(compressed, "auto", options.decompress ?? {});
  const hashed = tar.pipeThrough(
    new TransformStream<Uint8Array, { chunk: Uint8Array; read: number }>(
      {
        transform(chunk, controller) {
          hash.update(chunk);
          controller.enqueue({ chunk, read });
        },
      },
      undefined,
      // The read-ahead: up to this many uncompressed bytes wait here while the reader is busy elsewhere.
      { highWaterMark: Math.max(options.readAhead ?? 0, 1), size: (o) => o.chunk.byteLength },
    ),
  );
  return { reader: hashed.getReader(), digest: () => `${algorithm}:${hash.digest()}` };
}
