/**
 * tug's adapters for Deno and Node file systems.
 *
 * @module
 */

export * from "./docker_config.ts";
export * from "./registry_tls.ts";
export * from "./oci_layout_store.ts";
export * from "./unpack.ts";
export * from "./save.ts";

// The types this entry's signatures name (and the types those name), so that its documentation is complete
// on its own (`deno doc --lint` of this entry alone); each is documented with its own module too.
export type { DigestAlgorithm, Hasher, HasherFactory } from "../../src/digest/hasher.ts";
export type { Descriptor, Platform } from "../../src/manifest/types.ts";
export type {
  DigestEvent,
  ErrorEvent,
  LayerEvent,
  LayerStatus,
  MessageEvent,
  ProgressEvent,
  ProgressHandler,
  PullingFromEvent,
  RetryEvent,
  StatusEvent,
  UpdateEvent,
} from "../../src/pull/events.ts";
export type { CredentialProvider, Credentials, FetchLike } from "../../src/registry/types.ts";
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
} from "../../src/store/types.ts";
