// This module is browser compatible.
/**
 * The one retry policy of the registry transport: its shape, its defaults, and the variants tug uses
 * (a single attempt for pings and logins, a shorter one for the proxy). Every caller takes its
 * settings from here, so a default is written once (go-containerregistry's `remote.WithRetryBackoff`,
 * `WithRetryStatusCodes` and `WithRetryPredicate` are the model).
 *
 * @module
 */

import { TugError } from "../errors.ts";

/** What {@linkcode RetryPolicy.onRetry} is told before each wait. */
export interface RetryInfo {
  /** The request that is retried. */
  readonly request: Request;
  /** The attempt that just failed (1 for the first). */
  readonly attempt: number;
  /** How long tug waits before the next attempt, in milliseconds. */
  readonly delay: number;
  /** Why: `"503"`, `"429"`, or the network error's message. */
  readonly reason: string;
}

/** How the transport retries transient failures (see `withRetry`). Every field is optional. */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 5; 1 turns retrying off). */
  attempts?: number;
  /** The first backoff, in milliseconds (default 500); it doubles with each attempt. */
  baseDelay?: number;
  /** The longest backoff, in milliseconds (default 10 000). */
  maxDelay?: number;
  /**
   * The longest `Retry-After` tug waits, in milliseconds (default 30 000). A server that asks for a
   * longer wait (Docker Hub's pull limit answers 429 with hours) gets no retry: its answer is returned
   * at once rather than after minutes of futile attempts.
   */
  maxRetryAfter?: number;
  /** Which answers are worth another try (default {@linkcode retryableStatus}: 408, 429, 5xx). */
  retryableStatus?: (status: number) => boolean;
  /**
   * Which thrown errors are worth another try (default {@linkcode retryableError}: a network error,
   * or a `TugError` whose `detail.status` is retryable, e.g. a token server's 503).
   */
  retryableError?: (error: unknown) => boolean;
  /** Waits `ms` milliseconds (default: a timer that ends early when `signal` fires). Tests inject one. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** A random number in [0, 1) for the jitter (default `Math.random`). */
  random?: () => number;
  /** The clock in milliseconds since the epoch, for `Retry-After` dates (default `Date.now`). */
  now?: () => number;
  /** Called before each wait. */
  onRetry?: (info: RetryInfo) => void;
  /**
   * Requests the transport sends once, without retrying, because their caller retries them itself:
   * `pull()` marks blob downloads, which its download manager retries as Docker does (5 attempts, waits
   * of 5, 10, 15, 20 s counted down as "Retrying in N seconds").
   */
  sendOnce?: (request: Request) => boolean;
}

/** Statuses worth another try: 408 Request Timeout, 429 Too Many Requests, and every 5xx. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/**
 * Errors worth another try: the `TypeError` fetch rejects with on a network failure, and a `TugError`
 * carrying a retryable HTTP status in its detail (a token server's 503).
 */
export function retryableError(error: unknown): boolean {
  if (error instanceof TypeError) return true;
  if (!(error instanceof TugError)) return false;
  const status = (error.detail as { status?: unknown } | undefined)?.status;
  return typeof status === "number" && retryableStatus(status);
}

/** The policy every transport uses unless its caller sets one. */
export const DEFAULT_RETRY_POLICY: Readonly<
  Required<
    Pick<
      RetryPolicy,
      "attempts" | "baseDelay" | "maxDelay" | "maxRetryAfter" | "retryableStatus" | "retryableError"
    >
  >
> = Object.freeze({
  attempts: 5,
  baseDelay: 500,
  maxDelay: 10_000,
  maxRetryAfter: 30_000,
  retryableStatus,
  retryableError,
});

/**
 * The proxy's default: 2 attempts from 200 ms, because a client is waiting on the other end and has
 * retries of its own.
 */
export const PROXY_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  ...DEFAULT_RETRY_POLICY,
  attempts: 2,
  baseDelay: 200,
});

/**
 * `policy` with one attempt: for the `/v2/` ping and `tug login`, which move on to the next endpoint
 * (https → http) at once when a host does not answer, as Docker's do, instead of backing off.
 *
 * @example
 * ```ts
 * import { singleAttempt } from "./retry_policy.ts";
 *
 * console.assert(singleAttempt({ attempts: 7, baseDelay: 1 }).attempts === 1);
 * ```
 */
export function singleAttempt(policy: RetryPolicy = {}): RetryPolicy {
  return { ...policy, attempts: 1 };
}
