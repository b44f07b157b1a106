// This module is browser compatible.
/**
 * Reads an image's manifest and config straight from its registry, without storing anything
 * (`tug inspect --remote`, the web page). Endpoints are tried in Docker's order; only transport
 * failures and "not found here" answers move on to the next one.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from "../manifest/types.ts";
import { lookupEndpoints, type RegistryConfig } from "../registry/lookup_endpoints.ts";
import type { RegistryClient } from "../registry/registry_client.ts";
import type { CredentialProvider, Credentials, FetchLike } from "../registry/mod.ts";
import type { RetryPolicy } from "../registry/retry_policy.ts";
import { parseReference } from "../reference/parse_reference.ts";
import type { Reference } from "../reference/reference.ts";
import { continueOnError } from "./fallback_policy.ts";
import { translatePullError } from "./translate_pull_error.ts";
import { readImage } from "../remote/read_image.ts";
import { endpointClient, wantedPlatform } from "./_remote.ts";

/** Options for {@linkcode inspectRemote}. */
export interface InspectRemoteOptions extends RegistryConfig {
  /** The `fetch` used for every request (default: the global `fetch`). */
  fetch?: FetchLike;
  /** Credentials, or a provider asked per registry host. */
  credentials?: Credentials | CredentialProvider;
  /** Platform to resolve an index to (default `linux/amd64`). */
  platform?: Platform | string;
  /** Aborts the inspection. */
  signal?: AbortSignal;
  /** The User-Agent header sent to the registry. */
  userAgent?: string;
  /** How transient failures are retried (default `DEFAULT_RETRY_POLICY`). */
  retry?: RetryPolicy;
  /** Wraps the fetch that does the I/O; sees every request on the wire (see `createRegistryFetch`). */
  transport?: (base: FetchLike) => FetchLike;
}

/** What {@linkcode inspectRemote} finds. */
export interface RemoteImage {
  /** Canonical reference. */
  readonly reference: string;
  /** The registry endpoint that answered. */
  readonly registry: string;
  /** Digest and media type of what the reference points at (an index or a manifest). */
  readonly descriptor: Descriptor;
  /** The index, when the reference points at one. */
  readonly index?: ImageIndex;
  /** The image manifest (for an index: the one picked for the platform). */
  readonly manifestDescriptor: Descriptor;
  /** The image manifest itself. */
  readonly manifest: ImageManifest;
  /** The image configuration the manifest names. */
  readonly config: ImageConfig;
}

/**
 * Fetches an image's manifest (resolving an index to one platform) and config from its registry.
 *
 * @example Inspect an image (needs a reachable registry, so not run here)
 * ```ts ignore
 * import { inspectRemote } from "./inspect_remote.ts";
 *
 * const image = await inspectRemote("alpine:3.20", { platform: "linux/arm64" });
 * console.log(image.config.config?.Cmd);
 * ```
 */
export async function inspectRemote(
  reference: string | Reference,
  options: InspectRemoteOptions = {},
): Promise<RemoteImage> {
  const parsed = typeof reference === "string" ? parseReference(reference) : reference;
  const ref = parsed.tag === undefined && parsed.digest === undefined
    ? parseReference(`${parsed.name}:latest`)
    : parsed;
  let lastErr: Error | undefined;
  for (const endpoint of lookupEndpoints(ref.domain!, { ...options, legacyRegistry: false })) {
    const client = endpointClient(endpoint, ref, options);
    // Ping first, as the puller does: an endpoint that cannot be reached (https on a plain-http registry)
    // falls through to the next one at once instead of going through the manifest request's retries.
    try {
      await client.ping(options.signal);
    } catch (err) {
      if (options.signal?.aborted) throw err;
      lastErr = err instanceof Error ? err : new Error(String(err));
      continue;
    }
    try {
      return await inspectFrom(client, endpoint.url, ref, options);
    } catch (err) {
      if (options.signal?.aborted || !(err instanceof Error) || !continueOnError(err, endpoint.mirror)) {
        throw err instanceof Error ? translatePullError(err, ref) : err;
      }
      lastErr = err;
    }
  }
  throw translatePullError(
    lastErr ?? new TugError("NO_ENDPOINTS", `no endpoints found for ${ref.familiar}`),
    ref,
  );
}

async function inspectFrom(
  client: RegistryClient,
  registry: string,
  ref: Reference,
  options: InspectRemoteOptions,
): Promise<RemoteImage> {
  // The one verified read path (src/remote/): digest by reference or Docker-Content-Digest, platform, capped config.
  const image = await readImage(client, ref, wantedPlatform(options.platform), options.signal);
  return { reference: ref.toString(), registry, ...image };
}
