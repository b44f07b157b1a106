// This module is browser compatible.
/**
 * `pull()`: Docker's pull path (moby distribution/pull.go). The loop tries each endpoint in Docker's
 * order and moves on only after errors Docker falls back on; the v2 puller fetches and verifies the
 * manifest, resolves an index to a platform, downloads config and layers through a shared
 * {@linkcode DownloadManager}, and commits blobs, then manifests, then references.
 *
 * @module
 */

import { DownloadManager } from "./download_manager.ts";
import { type Endpoint, lookupEndpoints } from "../registry/lookup_endpoints.ts";
import { parseReference } from "../reference/parse_reference.ts";
import type { Reference } from "../reference/reference.ts";
import { validateRepositoryName } from "../reference/validate_repository_name.ts";
import { translatePullError } from "./translate_pull_error.ts";
import { runEndpointLoop } from "./_endpoint_loop.ts";
import { withLayerRetries } from "./_layer_retries.ts";
import { V2Puller } from "./v2_puller.ts";
import { pullV1 } from "./legacy/v1_puller.ts";
import type { PullOptions, PullOutcome, PullResult } from "./types.ts";

export type { PullAttempt, PullOptions, PullResult } from "./types.ts";

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
export async function pull(reference: string | Reference, given: PullOptions): Promise<PullResult> {
  // Blob downloads are retried by the download manager, as Docker does; the transport sends them once.
  const options = withLayerRetries(given);
  const ref = typeof reference === "string" ? parseReference(reference) : reference;
  // Docker's validateRepoName: refused before any request.
  validateRepositoryName(ref);
  const named = ref.tag === undefined && ref.digest === undefined
    ? withLatest(ref)
    : ref.tag !== undefined && ref.digest !== undefined
    // NAME:TAG@DIGEST: Docker's client sends only the digest (getAPITagFromNamedRef), so the registry is
    // never asked about the tag and no tag is recorded; tug keeps only NAME@DIGEST too.
    ? parseReference(`${ref.name}@${ref.digest}`)
    : ref;
  const downloads = downloadsOf(options);
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
): Promise<PullOutcome> {
  // The v1 puller decides itself what falls back (pull_v1.go): a digest reference and a failed
  // connection do; anything after the registry answered stops the pull.
  if (endpoint.version === 1) return await pullV1(endpoint, ref, downloads, options);
  // The v2 puller itself turns the errors Docker falls back on into FallbackError (fallback_policy.ts).
  return await new V2Puller({ endpoint, repository: ref, downloads, options }).pull(ref);
}

function withLatest(ref: Reference): Reference {
  return parseReference(`${ref.name}:latest`);
}

/** The pull's download manager: the caller's, or one made from the pull's options. */
export function downloadsOf(options: PullOptions): DownloadManager {
  return options.downloads ??
    new DownloadManager({
      maxConcurrentDownloads: options.maxConcurrentDownloads,
      hasher: options.hasher,
      readTimeout: options.readTimeout,
      maxDownloadAttempts: options.maxDownloadAttempts,
      sleep: options.retry?.sleep,
    });
}
