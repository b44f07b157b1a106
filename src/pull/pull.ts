// This module is browser compatible.
/**
 * `pull()`: Docker's pull path (moby distribution/pull.go). The loop tries each endpoint in Docker's
 * order and moves on only after errors Docker falls back on; the v2 puller fetches and verifies the
 * manifest, resolves an index to a platform, downloads config and layers through a shared
 * {@linkcode DownloadManager}, and commits blobs, then manifests, then references.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import type { HasherFactory } from "../digest/hasher.ts";
import type { Platform } from "../manifest/types.ts";
import type { Store } from "../store/types.ts";
import type { ProgressHandler } from "./events.ts";
import { DownloadManager } from "./download_manager.ts";
import { continueOnError, FallbackError } from "./fallback_error.ts";
import { type Endpoint, lookupEndpoints, type RegistryConfig } from "../registry/lookup_endpoints.ts";
import { parseReference } from "../reference/parse_reference.ts";
import type { Reference } from "../reference/reference.ts";
import { validateRepositoryName } from "../reference/validate_repository_name.ts";
import { translatePullError } from "./translate_pull_error.ts";
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

/** One endpoint the pull loop considered, and what happened there. */
export interface PullAttempt {
  readonly endpoint: string;
  readonly version: 1 | 2;
  readonly mirror: boolean;
  /** `pulled`: done; `fallback`: failed, next endpoint tried; `stopped`: failed, the pull ended; `skipped`. */
  readonly outcome: "pulled" | "fallback" | "stopped" | "skipped";
  /** Why the loop moved on, stopped or skipped. */
  readonly reason: string;
  /** The error met there. */
  readonly error?: Error;
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
  const attempts: PullAttempt[] = [];

  let lastErr: Error | undefined;
  let discardNoSupportErrors = false;
  let confirmedV2 = false;
  const confirmedTLS = new Set<string>();

  for (const endpoint of endpoints) {
    const host = new URL(endpoint.url).host;
    if (confirmedV2 && endpoint.version === 1) {
      attempts.push(skip(endpoint, "an earlier endpoint confirmed it speaks v2"));
      continue;
    }
    if (endpoint.url.startsWith("http:") && confirmedTLS.has(host)) {
      attempts.push(skip(endpoint, `${host} already answered over TLS`));
      continue;
    }
    options.signal?.throwIfAborted();
    try {
      const result = await pullFrom(endpoint, named, downloads, options);
      attempts.push({ ...describe(endpoint), outcome: "pulled", reason: "pulled" });
      options.onEvent?.({ action: "pull", id: result.familiar, name: familiarName(named) });
      return { ...result, attempts };
    } catch (caught) {
      let err = caught instanceof Error ? caught : new Error(String(caught));
      let fallback = false;
      if (!options.signal?.aborted && err instanceof FallbackError) {
        fallback = true;
        confirmedV2 = confirmedV2 || err.confirmedV2;
        if (err.transportOK && endpoint.url.startsWith("https:")) confirmedTLS.add(host);
        err = err.err;
      }
      if (fallback) {
        // ErrNoSupport is kept only while every error seen is one (distribution/pull.go).
        if (!(err instanceof TugError && err.code === "NO_SUPPORT")) {
          discardNoSupportErrors = true;
          lastErr = err;
        } else if (!discardNoSupportErrors) {
          lastErr = err;
        }
        attempts.push({ ...describe(endpoint), outcome: "fallback", reason: err.message, error: err });
        continue;
      }
      attempts.push({ ...describe(endpoint), outcome: "stopped", reason: err.message, error: err });
      throw attach(translatePullError(err, named), attempts);
    }
  }
  lastErr ??= new TugError("NO_ENDPOINTS", `no endpoints found for ${named.familiar}`);
  throw attach(translatePullError(lastErr, named), attempts);
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
  try {
    return await pullV2(endpoint, ref, downloads, options);
  } catch (err) {
    if (err instanceof FallbackError) throw err;
    if (options.signal?.aborted) throw err;
    if (err instanceof Error && continueOnError(err, endpoint.mirror)) {
      throw new FallbackError(err, { confirmedV2: false, transportOK: true });
    }
    throw err;
  }
}

function withLatest(ref: Reference): Reference {
  return parseReference(`${ref.name}:latest`);
}

function familiarName(ref: Reference): string {
  return ref.familiarName;
}

function describe(endpoint: Endpoint) {
  return { endpoint: endpoint.url, version: endpoint.version, mirror: endpoint.mirror };
}

function skip(endpoint: Endpoint, reason: string): PullAttempt {
  return { ...describe(endpoint), outcome: "skipped", reason };
}

function attach(err: Error, attempts: PullAttempt[]): Error {
  Object.defineProperty(err, "attempts", { value: attempts, enumerable: false });
  return err;
}
