// This module is browser compatible.
/**
 * Leaves the retries of blob downloads to the download manager, as dockerd does (moby
 * distribution/xfer/download.go: 5 attempts, waits of 5, 10, 15 and 20 s, shown as "Retrying in N
 * seconds" for the layer), instead of stacking the transport's short backoff under them.
 *
 * @module
 */

import type { RetryPolicy } from "../registry/retry_policy.ts";

const BLOB_PATH = /\/v2\/.+\/blobs\/[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Whether `request` downloads a blob (`GET /v2/<name>/blobs/<digest>`). */
export function isBlobRequest(request: Request): boolean {
  return request.method === "GET" && BLOB_PATH.test(new URL(request.url).pathname);
}

/**
 * `options` with a retry policy whose transport sends blob downloads once (the caller's own `sendOnce`
 * still applies to the other requests).
 */
export function withLayerRetries<T extends { retry?: RetryPolicy }>(options: T): T {
  const own = options.retry?.sendOnce;
  return {
    ...options,
    retry: {
      ...options.retry,
      sendOnce: (request: Request) => isBlobRequest(request) || (own?.(request) ?? false),
    },
  };
}
