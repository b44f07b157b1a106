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
import { FallbackError } from "./fallback_error.ts";
import type { PullAttempt } from "./types.ts";

/**
 * Runs `attempt` on each endpoint until one succeeds or one fails without a fallback.
 *
 * - A cancelled pull never falls back (`ctx.Done()` is checked before looking at the error).
 * - `confirmedV2`: once an endpoint showed it speaks v2, later v1 endpoints are skipped.
 * - `confirmedTLS`: once a host answered over https, its plain-http endpoints are skipped.
 * - `ErrNoSupport` (`NO_SUPPORT`) is the reported error only while no other fallback error was seen.
 * - Nothing left: the last fallback error, or `no endpoints found for REF`.
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
  let lastErr: Error | undefined;
  // distribution/pull.go: an ErrNoSupport (pull by digest from a v1 registry) is kept only while every
  // error seen is one; after any other fallback error the later ErrNoSupports are ignored.
  let discardNoSupportErrors = false;
  let confirmedV2 = false;
  const confirmedTLS = new Set<string>();

  for (const endpoint of endpoints) {
    const host = new URL(endpoint.url).host;
    if (confirmedV2 && endpoint.version === 1) {
      attempts.push(skip(endpoint, "skipped v1 endpoint: an earlier endpoint confirmed it speaks v2"));
      continue;
    }
    if (!endpoint.url.startsWith("https:") && confirmedTLS.has(host)) {
      attempts.push(skip(endpoint, `skipped non-TLS endpoint: ${host} already answered over TLS`));
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
      let err = caught instanceof Error ? caught : new Error(String(caught));
      const fallback = !signal?.aborted && err instanceof FallbackError;
      if (err instanceof FallbackError) {
        if (fallback) {
          confirmedV2 ||= err.confirmedV2;
          if (err.transportOK && endpoint.url.startsWith("https:")) confirmedTLS.add(host);
        }
        err = err.err;
      }
      if (fallback) {
        if (!(err instanceof TugError && err.code === "NO_SUPPORT")) {
          discardNoSupportErrors = true;
          lastErr = err;
        } else if (!discardNoSupportErrors) {
          lastErr = err;
        }
        attempts.push({ ...describe(endpoint), outcome: "fallback", reason: err.message, error: err });
        continue;
      }
      const why = signal?.aborted ? `cancelled: ${err.message}` : err.message;
      attempts.push({ ...describe(endpoint), outcome: "stopped", reason: why, error: err });
      throw attach(finish(err), attempts);
    }
  }
  lastErr ??= new TugError("NO_ENDPOINTS", `no endpoints found for ${familiar}`);
  throw attach(finish(lastErr), attempts);
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  if (reason instanceof TugError && reason.code === "ABORTED") return reason;
  return new TugError("ABORTED", "The pull was cancelled", { cause: reason });
}

function describe(endpoint: Endpoint) {
  return { endpoint: endpoint.url, version: endpoint.version, mirror: endpoint.mirror };
}

function skip(endpoint: Endpoint, reason: string): PullAttempt {
  return { ...describe(endpoint), outcome: "skipped", reason };
}

function attach(err: Error, attempts: PullAttempt[]): Error {
  Object.defineProperty(err, "attempts", { value: attempts, enumerable: false, configurable: true });
  return err;
}
