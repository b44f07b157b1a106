// This module is browser compatible.
/**
 * The endpoint loop of Docker's pull (moby distribution/pull.go `Pull`), shared by {@linkcode pull} and
 * `pullAllTags()`: try each endpoint in order, move on only after a {@linkcode FallbackError}, and keep
 * the attempt log.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import type { Endpoint } from "../registry/lookup_endpoints.ts";
import { EndpointFallbacks, FallbackError } from "./fallback_policy.ts";
import type { PullAttempt } from "./types.ts";

/**
 * Runs `attempt` on each endpoint until one succeeds or one fails without a fallback. Which endpoints
 * are skipped and which error is reported is {@linkcode EndpointFallbacks}' business (fallback_policy.ts);
 * what falls back is the pullers' ({@linkcode FallbackError}). A cancelled pull never falls back
 * (`ctx.Done()` is checked before looking at the error).
 *
 * The error that ends the loop is passed to `finish` (Docker's `TranslatePullError`) and gets the
 * attempt log as a non-enumerable `attempts` property.
 */
export async function runEndpointLoop<T>(
  endpoints: readonly Endpoint[],
  familiar: string,
  attempt: (endpoint: Endpoint) => Promise<T>,
  options: { signal?: AbortSignal | undefined; finish: (err: Error) => Error },
): Promise<{ value: T; attempts: PullAttempt[] }> {
  const { signal, finish } = options;
  const attempts: PullAttempt[] = [];
  const fallbacks = new EndpointFallbacks();

  for (const endpoint of endpoints) {
    const skipped = fallbacks.skip(endpoint);
    if (skipped !== undefined) {
      attempts.push({ ...describe(endpoint), outcome: "skipped", reason: skipped });
      continue;
    }
    if (signal?.aborted) {
      throw attach(finish(abortError(signal)), attempts);
    }
    try {
      const value = await attempt(endpoint);
      attempts.push({ ...describe(endpoint), outcome: "pulled", reason: "pulled" });
      return { value, attempts };
    } catch (caught) {
      const err = caught instanceof Error ? caught : new Error(String(caught));
      if (err instanceof FallbackError && !signal?.aborted) {
        const carried = fallbacks.record(endpoint, err);
        attempts.push({
          ...describe(endpoint),
          outcome: "fallback",
          reason: carried.message,
          error: carried,
        });
        continue;
      }
      const cause = err instanceof FallbackError ? err.err : err;
      const why = signal?.aborted ? `cancelled: ${cause.message}` : cause.message;
      attempts.push({ ...describe(endpoint), outcome: "stopped", reason: why, error: cause });
      throw attach(finish(cause), attempts);
    }
  }
  throw attach(finish(fallbacks.lastError(familiar)), attempts);
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  if (reason instanceof TugError && reason.code === "ABORTED") return reason;
  return new TugError("ABORTED", "The pull was cancelled", { cause: reason });
}

function describe(endpoint: Endpoint) {
  return { endpoint: endpoint.url, version: endpoint.version, mirror: endpoint.mirror };
}

function attach(err: Error, attempts: PullAttempt[]): Error {
  Object.defineProperty(err, "attempts", { value: attempts, enumerable: false, configurable: true });
  return err;
}
