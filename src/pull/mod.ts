// This module is browser compatible.
/**
 * Pulling images: the `pull()` loop with Docker's fallback rules, the v2 puller, the shared download
 * manager, remote inspection and the progress events.
 *
 * @module
 */
export * from "./pull.ts";
export * from "./download_manager.ts";
export * from "./events.ts";
export {
  continueOnError,
  type ContinueOnErrorOptions,
  FallbackError,
  ImageConfigPullError,
} from "./fallback_policy.ts";
export * from "./inspect_remote.ts";
export * from "./translate_pull_error.ts";
export type {
  PullAttempt,
  PulledImage,
  PullOptions,
  PullOutcome,
  PullResult,
  V2PullResult,
} from "./types.ts";
export * from "./pull_all_tags.ts";
export * from "./jsonmessage.ts";
export * from "./format_progress.ts";
export * from "./human_size.ts";

// The types this entry's signatures name (and the types those name), so that its documentation is complete
// on its own (`deno doc --lint` of this entry alone); each is documented with its own module too.
export type { DigestAlgorithm, Hasher, HasherFactory } from "../digest/hasher.ts";
export type { TugError, TugErrorCode } from "../errors.ts";
export type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from "../manifest/types.ts";
export type { Reference } from "../reference/reference.ts";
export type { RegistryConfig } from "../registry/lookup_endpoints.ts";
export type { RetryInfo, RetryPolicy } from "../registry/retry_policy.ts";
export type { CredentialProvider, Credentials, FetchLike } from "../registry/types.ts";
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
