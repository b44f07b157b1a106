// This module is browser compatible.
/**
 * An image-level API on the model of go-containerregistry's `v1.Image` and `v1.Layer`: open an image from
 * a store or a registry with {@linkcode openImage}, then read its manifest, config and layers, each layer
 * compressed, uncompressed or as a file listing. Everything read is checked against its digest.
 *
 * @example Open an image from a store and list its layers' files
 * ```ts
 * import { openImage } from "./mod.ts";
 * import { MemoryStore } from "../store/mod.ts";
 *
 * const store = new MemoryStore(); // filled by pull(…, { store }) in a real script
 * const opened = await openImage(store, "alpine:3.20").catch((err) => err);
 * console.assert(opened.code === "NOT_FOUND");
 * ```
 *
 * @module
 */

export * from "./open_image.ts";
// The types this entry's signatures name (and the types those name), so that its documentation is complete
// on its own; the same types are documented with their modules' own entries.
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
export type {
  BlobResponse,
  GetBlobOptions,
  GetManifestOptions,
  ListTagsOptions,
  ManifestHead,
  ManifestResponse,
  PingResult,
  RateLimitInfo,
  RegistryClient,
  RegistryClientOptions,
  TagsPage,
} from "../registry/registry_client.ts";
export type { CredentialProvider, Credentials, FetchLike } from "../registry/types.ts";
export type { RetryInfo, RetryPolicy } from "../registry/retry_policy.ts";
export type { CachedToken, TokenCache } from "../registry/token_cache.ts";
export type { Challenge } from "../registry/parse_www_authenticate.ts";
export type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from "../manifest/types.ts";
export type { Reference } from "../reference/reference.ts";
export type { DecompressLayerOptions } from "../image/decompress_layer.ts";
export type { TarEntryType, TarHeader } from "../image/tar_reader.ts";
export type { DigestAlgorithm, Hasher, HasherFactory } from "../digest/hasher.ts";
