// This module is browser compatible.
/**
 * Feeds the transport's retries into a pull's progress events, as dockerd's layer downloads report
 * theirs (moby distribution/xfer/download.go: `"Retrying in %d second%s"` for the layer's id).
 *
 * @module
 */

import type { RetryInfo, RetryPolicy } from "../registry/retry_policy.ts";
import type { ProgressHandler } from "./events.ts";

const BLOB_PATH = /\/blobs\/(sha256:([0-9a-f]{64})|[a-z0-9]+(?:[+._-][a-z0-9]+)*:([a-zA-Z0-9=_-]+))$/;

/**
 * Docker's line for a retry: `"Retrying in 1 second"`, `"Retrying in 3 seconds"`. Docker counts down
 * whole seconds; tug reports the wait once, rounded up so that a short backoff never reads "0 seconds".
 */
export function retryingStatus(delay: number): string {
  const seconds = Math.max(1, Math.ceil(delay / 1000));
  return `Retrying in ${seconds} second${seconds === 1 ? "" : "s"}`;
}

/**
 * The progress event for a retry, or `undefined` when the request is not a blob download. Docker
 * shows retries only per layer (its manifest and token requests retry silently), so tug does too:
 * the event carries the blob's short id (12 hex digits) and its digest.
 */
export function retryEvent(info: RetryInfo): { status: string; id: string; digest: string } | undefined {
  const match = BLOB_PATH.exec(new URL(info.request.url).pathname);
  if (match === null) return undefined;
  const digest = decodeURIComponent(match[1]!);
  const hex = digest.slice(digest.indexOf(":") + 1);
  return { status: retryingStatus(info.delay), id: hex.slice(0, 12), digest };
}

/**
 * `options` with a retry policy whose `onRetry` also reports layer retries to `onProgress`; the
 * caller's own `onRetry` is still called first. Without `onProgress` the options are returned as is.
 */
export function withRetryProgress<T extends { retry?: RetryPolicy; onProgress?: ProgressHandler }>(
  options: T,
): T {
  const onProgress = options.onProgress;
  if (onProgress === undefined) return options;
  const own = options.retry?.onRetry;
  return {
    ...options,
    retry: {
      ...options.retry,
      onRetry: (info: RetryInfo) => {
        own?.(info);
        const event = retryEvent(info);
        if (event !== undefined) onProgress(event);
      },
    },
  };
}
