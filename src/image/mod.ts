// This module is browser compatible.
/**
 * Reading image layers: decompression (gzip, zstd), a streaming tar reader, whiteouts and the merged view
 * of several layers, and the file listing of one layer. Shared by `tug unpack` and the web page.
 *
 * @example List the entries of a gzip layer
 * ```ts
 * import { listLayerFiles } from "./mod.ts";
 *
 * const blob = new Response(new Uint8Array(1024)).body!.pipeThrough(new CompressionStream("gzip"));
 * const files = await listLayerFiles(blob, "application/vnd.oci.image.layer.v1.tar+gzip");
 * console.assert(files.length === 0);
 * ```
 *
 * @module
 */

export * from "./decompress_layer.ts";
export * from "./detect_compression.ts";
export * from "./tar_reader.ts";
export * from "./header_of.ts";
export * from "./normalize_tar_path.ts";
export * from "./whiteouts.ts";
export * from "./layer_files.ts";
export * from "./write_tar.ts";
export * from "./open_layer.ts";
export * from "./check_diff_ids.ts";

// The types this entry's signatures name (and the types those name), so that its documentation is complete
// on its own (`deno doc --lint` of this entry alone); each is documented with its own module too.
export type { DigestAlgorithm, Hasher, HasherFactory } from "../digest/hasher.ts";
export type { Descriptor, Platform } from "../manifest/types.ts";
export type {
  BlobInfo,
  BlobLeaseOutcome,
  BlobLeaseRecord,
  BlobLeases,
  BlobStore,
  BlobWriter,
  DiffIdStore,
  HeldBlobLease,
  ReferenceRecord,
  ReferenceStore,
  Store,
  StoreCapabilities,
} from "../store/types.ts";
