// This module is browser compatible.
/**
 * `pull()`: Docker's pull path (moby distribution/pull.go). The loop tries each endpoint in Docker's
 * order and moves on only after errors Docker falls back on; the v2 puller fetches and verifies the
 * manifest, resolves an index to a platform, downloads config and layers through a shared
 * {@linkcode DownloadManager}, and commits blobs, then manifests, then references.
 *
 * @module
 */

import type { HasherFactory } from "../digest/hasher.ts";
import type { Platform } from "../manifest/types.ts";
import type { Store } from "../store/types.ts";
import type { ProgressHandler } from "./events.ts";
import { DownloadManager } from "./download_manager.ts";
import { type Endpoint, lookupEndpoints, type RegistryConfig } from "../registry/lookup_endpoints.ts";
import { parseReference } from "../reference/parse_reference.ts";
import type { Reference } from "../reference/reference.ts";
import { validateRepositoryName } from "../reference/validate_repository_name.ts";
import { translatePullError } from "./translate_pull_error.ts";
import { type PullAttempt, runEndpointLoop } from "./_endpoint_loop.ts";
import { pullV2, type V2PullResult } from "./v2_puller.ts";
import { pullV1 } from "./v1_puller.ts";
import type { CredentialProvider, Credentials, FetchLike } from "../registry/mod.ts";

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
  /** Downloads at once (default 3); ignored when `downloads` is given. */
  maxConcurrentDownloads?: number;
  /**
   * Idle read timeout for blob downloads in milliseconds (default 30 000; 0: none); a stalled body is
   * cancelled and resumed. Ignored when `downloads` is given (set it on that manager).
   */
  readTimeout?: number;
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
  /** Retry settings for transient failures (the sleep is injectable for tests). */
  retry?: { attempts?: number; sleep?: (ms: number) => Promise<void> };
}

export type { PullAttempt } from "./_endpoint_loop.ts";

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
  readonly images: V2PullResult["images"];
  /** Every endpoint considered, in order (tug's attempt log). */
  readonly attempts: PullAttempt[];
}

/**
 * Pulls an image into a store.
 *
 * @example Pull into memory (requires a reachable registry, so not run here)
 * ```ts ignore
 * import { MemoryStore, pull } from "../mod.ts";
 *
 * const store = new MemoryStore();
 * const result = await pull("alpine:3.20", { store, onProgress: (e) => console.log(e.status) });
 * console.log(result.digest, result.status);
 * ```
 */
export async function pull(reference: string | Reference, options: PullOptions): Promise<PullResult> {
  const ref = typeof reference === "string" ? parseReference(reference) : reference;
  // Docker's validateRepoName: refused before any request.
  validateRepositoryName(ref);
  const named = ref.tag === undefined && ref.digest === undefined ? withLatest(ref) : ref;
  const downloads = options.downloads ??
    new DownloadManager({
      maxConcurrentDownloads: options.maxConcurrentDownloads,
      hasher: options.hasher,
      readTimeout: options.readTimeout,
    });
  const endpoints = lookupEndpoints(named.domain!, options);
  const { value, attempts } = await runEndpointLoop(
    endpoints,
    named.familiar,
    (endpoint) => pullFrom(endpoint, named, downloads, options),
    { signal: options.signal, finish: (err) => translatePullError(err, named) },
  );
  // Docker's image event logger: FamiliarString(ref), FamiliarName(repoInfo.Name), "pull".
  options.onEvent?.({ action: "pull", id: named.familiar, name: named.familiarName });
  return { ...value, attempts };
}

async function pullFrom(
  endpoint: Endpoint,
  ref: Reference,
  downloads: DownloadManager,
  options: PullOptions,
): Promise<Omit<PullResult, "attempts">> {
  // The v1 puller decides itself what falls back (pull_v1.go): a digest reference and a failed
  // connection do; anything after the registry answered stops the pull.
  if (endpoint.version === 1) return await pullV1(endpoint, ref, downloads, options);
  // pullV2 itself turns the errors Docker falls back on into FallbackError (withV2Endpoint).
  return await pullV2(endpoint, ref, downloads, options);
}

function withLatest(ref: Reference): Reference {
  return parseReference(`${ref.name}:latest`);
}
