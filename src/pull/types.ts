// This module is browser compatible.
/**
 * The types the pull pipeline shares: the options and result of {@linkcode pull}, the attempt log of the
 * endpoint loop, and what the pullers hand back. They live here, apart from `pull.ts`, so that the
 * pullers (v2, schema 1, v1) need not import the module that imports them.
 *
 * @module
 */

import type { HasherFactory } from "../digest/hasher.ts";
import type { Descriptor, ImageManifest, Platform } from "../manifest/types.ts";
import type { RegistryConfig } from "../registry/lookup_endpoints.ts";
import type { RegistryClient } from "../registry/registry_client.ts";
import type { CredentialProvider, Credentials, FetchLike } from "../registry/mod.ts";
import type { RetryPolicy } from "../registry/retry_policy.ts";
import type { Store } from "../store/types.ts";
import type { DownloadManager } from "./download_manager.ts";
import type { ProgressHandler } from "./events.ts";

/** Options for {@linkcode pull}. */
export interface PullOptions extends RegistryConfig {
  /** Where the image goes. */
  store: Store;
  /** The fetch to use (default: `globalThis.fetch`). */
  fetch?: FetchLike;
  /** Credentials for the registry, or a provider asked per registry host. */
  credentials?: Credentials | CredentialProvider;
  /** Hasher used to verify blobs in flight (default: WebAssembly SHA-256; pass a native one where available). */
  hasher?: HasherFactory;
  /** The platform to pick from an index (default `linux/amd64`; the CLI passes the host's). */
  platform?: Platform | string;
  /** Keep the whole index and pull every platform in it. */
  allPlatforms?: boolean;
  /**
   * Check every layer against the config's `rootfs.diff_ids` before the reference is recorded, as Docker
   * does (errRootFSMismatch): each layer is decompressed and hashed once more, unless the store recorded its
   * diffID before (`store.diffIds`). Off by default: the layers are checked wherever tug decompresses them
   * anyway (unpack, save to docker-archive, the web page) and by `verify --diffids`. See docs/performance.md
   * for the cost.
   */
  verifyDiffIds?: boolean;
  /** Downloads at once (default 3); ignored when `downloads` is given. */
  maxConcurrentDownloads?: number;
  /**
   * Idle read timeout for blob downloads in milliseconds (default 30 000; 0: none); a stalled body is
   * cancelled and resumed. Ignored when `downloads` is given (set it on that manager).
   */
  readTimeout?: number;
  /**
   * Attempts per layer download (default 5, dockerd's `--max-download-attempts`), with waits of 5, 10,
   * 15, 20 … s between them (`retry.sleep` does the waiting). Ignored when `downloads` is given.
   */
  maxDownloadAttempts?: number;
  /** A download manager shared between pulls (shares the limit and deduplicates blobs). */
  downloads?: DownloadManager;
  /** Receives Docker-style progress events. */
  onProgress?: ProgressHandler;
  /** Receives `{ action: "pull", id, name }` after a successful pull, as Docker's image event logger. */
  onEvent?: (event: { action: "pull"; id: string; name: string }) => void;
  /** Cancels the pull; a cancelled pull never falls back to another endpoint. */
  signal?: AbortSignal;
  /** User-Agent sent to registries. */
  userAgent?: string;
  /**
   * How transient failures of registry requests are retried (default `DEFAULT_RETRY_POLICY`). Blob
   * downloads are the exception: the download manager retries them as Docker does (see
   * `maxDownloadAttempts`), waiting with this policy's `sleep`.
   */
  retry?: RetryPolicy;
  /** Wraps the fetch that does the I/O; sees every request on the wire (see `createRegistryFetch`). */
  transport?: (base: FetchLike) => FetchLike;
}

/** One endpoint the pull loop considered, and what happened there. */
export interface PullAttempt {
  /** The endpoint's base URL. */
  readonly endpoint: string;
  /** The protocol version tried there. */
  readonly version: 1 | 2;
  /** Whether the endpoint is a Docker Hub mirror. */
  readonly mirror: boolean;
  /** `pulled`: done; `fallback`: failed, next endpoint tried; `stopped`: failed, the pull ended; `skipped`. */
  readonly outcome: "pulled" | "fallback" | "stopped" | "skipped";
  /** Why the loop moved on, stopped or skipped. */
  readonly reason: string;
  /** The error met there. */
  readonly error?: Error;
}

/** An error thrown by a pull, with the attempt log attached. */
export interface PullErrorAttempts {
  /** Every endpoint considered, in order. */
  readonly attempts?: PullAttempt[];
}

/** One image manifest a pull stored. */
export interface PulledImage {
  /** Digest, media type and size of the stored manifest. */
  readonly descriptor: Descriptor;
  /** The manifest itself. */
  readonly manifest: ImageManifest;
  /** The platform the manifest is for, when an index named one. */
  readonly platform?: Platform;
}

/** What the v2 puller hands back to the loop. */
export interface V2PullResult {
  /** The image manifests stored. */
  readonly images: PulledImage[];
}

/** What a successful pull returns. */
export interface PullResult {
  /** The canonical reference pulled, e.g. `docker.io/library/alpine:3.20`. */
  readonly reference: string;
  /** Docker's short form, e.g. `alpine:3.20`. */
  readonly familiar: string;
  /** Digest of the manifest or index the reference resolved to (Docker's "Digest:"). */
  readonly digest: string;
  /** `Downloaded newer image for …` or `Image is up to date for …`. */
  readonly status: string;
  /** Whether anything new came into the store. */
  readonly downloaded: boolean;
  /** The image manifests stored (one, or one per platform with `allPlatforms`). */
  readonly images: PulledImage[];
  /** Every endpoint considered, in order (tug's attempt log). */
  readonly attempts: PullAttempt[];
}

/** What one puller returns for one endpoint: a {@linkcode PullResult} before the loop adds its log. */
export type PullOutcome = Omit<PullResult, "attempts">;

/**
 * What a puller holds for one pull from one endpoint (moby's `v2Puller` fields): the registry client,
 * the shared download manager, the store, and the pull's hasher, progress and cancellation. The v2
 * puller hands it to the schema 1 branch.
 */
export interface PullSession {
  readonly client: RegistryClient;
  readonly downloads: DownloadManager;
  readonly store: Store;
  readonly hasher: HasherFactory | undefined;
  readonly onProgress: ProgressHandler;
  readonly signal: AbortSignal | undefined;
}
