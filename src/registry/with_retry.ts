// This module is browser compatible.
/**
 * The transport wrapper that retries transient failures with exponential backoff and jitter.
 *
 * @module
 */

import { describeNetworkError } from "./describe_network_error.ts";
import { TugError } from "../errors.ts";
import { attemptsMade, ERROR_BODY_LIMIT, parseErrorBody } from "./error_body.ts";
import { readLimited } from "./read_limited.ts";
import type { FetchLike } from "./types.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry_policy.ts";
import { sleep as timerSleep } from "../streams/sleep.ts";

/** The options of {@linkcode withRetry}: the {@linkcode RetryPolicy} (kept as an alias for callers). */
export type RetryOptions = RetryPolicy;
export type { RetryInfo, RetryPolicy } from "./retry_policy.ts";

// Registry error codes that no retry can change, even when a registry sends them with a 5xx.
const FINAL_CODES = new Set(["DENIED", "NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "UNAUTHORIZED"]);

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP date. Returns milliseconds from
 * `now`, never negative, or `undefined` when the value is neither.
 *
 * @example
 * ```ts
 * import { parseRetryAfter } from "./with_retry.ts";
 *
 * console.assert(parseRetryAfter("3", 0) === 3000);
 * const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
 * console.assert(parseRetryAfter("Wed, 21 Oct 2015 07:28:05 GMT", now) === 5000);
 * ```
 */
export function parseRetryAfter(value: string, now: number): number | undefined {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Wraps `next` to retry what may pass, by the caller's {@linkcode RetryPolicy} over
 * `DEFAULT_RETRY_POLICY`: by default network errors (the `TypeError` fetch rejects with), 408, 429
 * and 5xx answers, and token-server failures with those statuses. Attempt `n` waits
 * `min(maxDelay, baseDelay·2ⁿ⁻¹)`, half of it jittered, or what `Retry-After` asks (up to
 * `maxRetryAfter`). Never retried: other statuses (401, 403, 404 …), a 5xx whose body carries a final
 * registry code (`DENIED`, `NAME_UNKNOWN`, `MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`, `UNAUTHORIZED`), and
 * anything after the request's `signal` fired. A request with a body is cloned before each attempt so
 * it can be sent again.
 *
 * When the attempts run out the last response is returned (its error message then says how many
 * attempts were made); a network error becomes a `TugError` with code `NETWORK` and the error as cause.
 *
 * @example Retry a 503 once without waiting
 * ```ts
 * import { withRetry } from "./with_retry.ts";
 *
 * let calls = 0;
 * const flaky = () => Promise.resolve(new Response(null, { status: ++calls === 1 ? 503 : 200 }));
 * const delays: number[] = [];
 * const fetch = withRetry(flaky, { sleep: (ms) => (delays.push(ms), Promise.resolve()), random: () => 0 });
 * const res = await fetch(new Request("http://127.0.0.1:5000/v2/"));
 * console.assert(res.status === 200 && calls === 2 && delays[0] === 250);
 * ```
 */
export function withRetry(next: FetchLike, options: RetryPolicy = {}): FetchLike {
  const policy = DEFAULT_RETRY_POLICY;
  const maxAttempts = Math.max(1, Math.floor(options.attempts ?? policy.attempts));
  const sleep = options.sleep ?? timerSleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const baseDelay = options.baseDelay ?? policy.baseDelay;
  const maxDelay = options.maxDelay ?? policy.maxDelay;
  const maxRetryAfter = options.maxRetryAfter ?? policy.maxRetryAfter;
  const retryableStatus = options.retryableStatus ?? policy.retryableStatus;
  const retryableError = options.retryableError ?? policy.retryableError;

  const backoff = (attempt: number): number => {
    const full = Math.min(maxDelay, baseDelay * 2 ** (attempt - 1));
    return Math.round(full / 2 + random() * (full / 2));
  };

  return async (request) => {
    const signal = request.signal;
    // A request its caller retries itself goes out once (see RetryPolicy.sendOnce).
    const attempts = options.sendOnce?.(request) ? 1 : maxAttempts;
    // A body can be sent once; keep the original unsent and send clones of it.
    const template = request.body === null ? undefined : request;
    for (let attempt = 1;; attempt++) {
      signal.throwIfAborted();
      const last = attempt >= attempts;
      let delay: number;
      let reason: string;
      let response: Response;
      try {
        response = await next(template ? template.clone() : request);
      } catch (err) {
        if (signal.aborted) throw err;
        if (!retryableError(err)) throw err;
        if (last) {
          if (err instanceof TugError) throw err;
          throw new TugError(
            "NETWORK",
            `Cannot reach ${new URL(request.url).origin}: ${describeNetworkError(err)}` +
              (attempts > 1 ? ` (gave up after ${attempts} attempts)` : ""),
            { cause: err },
          );
        }
        delay = backoff(attempt);
        reason = describeNetworkError(err);
        options.onRetry?.({ request, attempt, delay, reason });
        await sleep(delay, signal);
        continue;
      }
      if (!retryableStatus(response.status)) return mark(response, attempt);
      if (await carriesFinalCode(response)) return mark(response, attempt);
      if (last) return mark(response, attempt);
      delay = backoff(attempt);
      const retryAfter = response.headers.get("retry-after");
      if (retryAfter !== null) {
        const asked = parseRetryAfter(retryAfter, now());
        if (asked !== undefined) {
          if (asked > maxRetryAfter) return mark(response, attempt);
          delay = asked;
        }
      }
      reason = String(response.status);
      response.body?.cancel().catch(() => {});
      options.onRetry?.({ request, attempt, delay, reason });
      await sleep(delay, signal);
    }
  };
}

function mark(response: Response, attempt: number): Response {
  if (attempt > 1) attemptsMade.set(response, attempt);
  return response;
}

/** Whether a retryable-status response says, in its error body, that retrying cannot help. */
async function carriesFinalCode(response: Response): Promise<boolean> {
  if (response.body === null) return false;
  const type = response.headers.get("content-type") ?? "";
  if (!type.includes("json")) return false;
  // Read a copy so the caller still gets the whole body if the answer is returned.
  const copy = response.clone();
  try {
    const { bytes } = await readLimited(copy.body, ERROR_BODY_LIMIT);
    return parseErrorBody(bytes).some((e) => FINAL_CODES.has(e.code));
  } catch {
    return false;
  }
}
