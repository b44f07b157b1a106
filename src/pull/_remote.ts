// This module is browser compatible.
/**
 * What the v2 puller and {@linkcode inspectRemote} both need to read an image from one endpoint: the
 * registry client, built from the same options, and the platform an index is resolved to.
 *
 * @module
 */

import type { Platform } from "../manifest/types.ts";
import { normalizePlatform, parsePlatform } from "../manifest/mod.ts";
import type { Reference } from "../reference/reference.ts";
import { RegistryClient, type RegistryClientOptions } from "../registry/registry_client.ts";

/** A client for `ref`'s repository at `endpoint`, with the caller's transport options. */
export function endpointClient(
  endpoint: { url: string },
  ref: Reference,
  options: Pick<RegistryClientOptions, "fetch" | "credentials" | "userAgent" | "retry" | "transport">,
): RegistryClient {
  return new RegistryClient({
    registry: endpoint.url,
    repository: ref.path,
    fetch: options.fetch,
    credentials: options.credentials,
    userAgent: options.userAgent,
    retry: options.retry,
    transport: options.transport,
  });
}

/** The platform to pick from an index: `platform` normalized, or Docker's default `linux/amd64`. */
export function wantedPlatform(platform: Platform | string | undefined): Platform {
  if (platform === undefined) return normalizePlatform({ os: "linux", architecture: "amd64" });
  return normalizePlatform(typeof platform === "string" ? parsePlatform(platform) : platform);
}
