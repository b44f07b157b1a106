// This module is browser compatible.
/**
 * The file listing of one layer blob, for file trees (the web page's layer browser).
 *
 * @module
 */

import { isTugError, TugError } from "../errors.ts";
import { layerCompression } from "../manifest/mod.ts";
import { headerOf } from "./header_of.ts";
import { decompressLayer, type DecompressLayerOptions } from "./decompress_layer.ts";
import { readTar, type TarHeader } from "./tar_reader.ts";

/** Options for {@linkcode listLayerFiles}. */
export interface ListLayerFilesOptions {
  /** Stops reading; the promise then rejects with a `TugError` of code `ABORTED`. */
  signal?: AbortSignal;
  /** Called as compressed bytes arrive, with the running total. */
  onProgress?: (compressedBytes: number) => void;
  /** Which gzip decoder to use (see {@linkcode DecompressLayerOptions}). */
  gzipDecoder?: DecompressLayerOptions["gzipDecoder"];
}

/**
 * Reads a layer blob and returns the metadata of every entry in it (no file data is kept, so memory grows
 * with the number of entries only). Compression is taken from the blob's first bytes, as Docker does; the
 * media type only names the layer in errors, and a blob that is not compressed the way its media type says
 * is read all the same.
 *
 * @param blob The layer blob as served by a registry or a store.
 * @param mediaType The layer's media type from the manifest.
 * @param options Abort signal and progress callback.
 * @returns The entries, in archive order; whiteouts are listed as they are (see {@linkcode isWhiteout}).
 *
 * @example List a gzip layer
 * ```ts
 * import { listLayerFiles } from "./layer_files.ts";
 *
 * // An empty tar (two zero blocks), gzipped.
 * const blob = new Response(new Uint8Array(1024)).body!.pipeThrough(new CompressionStream("gzip"));
 * const files = await listLayerFiles(blob, "application/vnd.oci.image.layer.v1.tar+gzip");
 * console.assert(files.length === 0);
 * ```
 */
export async function listLayerFiles(
  blob: ReadableStream<Uint8Array>,
  mediaType: string,
  options: ListLayerFilesOptions = {},
): Promise<TarHeader[]> {
  const { signal, onProgress } = options;
  const abortError = () =>
    new TugError("ABORTED", `Listing the files of a ${mediaType} layer was aborted`, {
      cause: signal?.reason,
    });
  if (signal?.aborted) {
    await blob.cancel(signal.reason).catch(() => {});
    throw abortError();
  }
  let counted = 0;
  let tap: TransformStreamDefaultController<Uint8Array> | undefined;
  const onAbort = () => tap?.error(abortError());
  signal?.addEventListener("abort", onAbort, { once: true });
  const metered = blob.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(controller) {
        tap = controller;
      },
      transform(chunk, controller) {
        counted += chunk.length;
        onProgress?.(counted);
        controller.enqueue(chunk);
      },
    }),
  );
  const entries: TarHeader[] = [];
  try {
    const tar = decompressLayer(metered, "auto", { gzipDecoder: options.gzipDecoder, signal });
    for await (const entry of readTar(tar)) entries.push(headerOf(entry));
  } catch (err) {
    if (signal?.aborted) throw abortError();
    if (isTugError(err)) {
      throw new TugError(
        err.code,
        `Cannot list the files of a ${mediaType} layer (${layerCompression(mediaType)}): ${err.message}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  return entries;
}
