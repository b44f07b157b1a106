// This module is browser compatible.
/**
 * The registry transport: the fetch wrappers stacked in their order.
 *
 * @module
 */

import { TokenCache } from "./token_cache.ts";
import type { CredentialProvider, Credentials, FetchLike } from "./types.ts";
import { withAuth } from "./with_auth.ts";
import { withRedirects } from "./with_redirects.ts";
import type { RetryPolicy } from "./retry_policy.ts";
import { withRetry } from "./with_retry.ts";
import { withUserAgent } from "./with_user_agent.ts";

/** Options for {@linkcode createRegistryFetch}. */
export interface RegistryFetchOptions {
  /** The fetch that does the I/O (default `globalThis.fetch`). */
  fetch?: FetchLike;
  /** The `User-Agent` (default `tug/<version>`). */
  userAgent?: string;
  /** How to retry transient failures (see `withRetry`; default `DEFAULT_RETRY_POLICY`). */
  retry?: RetryPolicy;
  /**
   * Wraps the fetch that does the I/O (go-containerregistry's `remote.WithTransport`): to log, count,
   * trace or sign requests. It sits innermost, right above `fetch`, so it sees every request that goes
   * on the wire: each retry attempt, each redirect hop, and the token requests of the auth handshake.
   */
  transport?: (base: FetchLike) => FetchLike;
  /** Fixed credentials, or a provider asked with the registry's `host[:port]`. */
  credentials?: Credentials | CredentialProvider;
  /** Where tokens and challenges are kept; share one between transports to share tokens. */
  tokenCache?: TokenCache;
  /** The scopes requests need (default: derived from each request's `/v2/<name>/…` path). */
  scope?: string | readonly string[] | ((request: Request) => readonly string[]);
  /** The most redirects one request may follow (default 10). */
  maxRedirects?: number;
  /** Leave out `withAuth` (for the unauthenticated `/v2/` ping). */
  anonymous?: boolean;
}

/**
 * Stacks the transport the way go-containerregistry's `remote/transport` does, outermost first:
 *
 * ```
 * withUserAgent → withRetry → withAuth → withRedirects → transport(fetch)
 * ```
 *
 * Retry sits above auth, so a retried request re-runs the handshake (a token that expired during a
 * backoff is replaced) and token-server hiccups are retried too; redirects sit below auth, so the
 * redirect wrapper sees the `Authorization` header and can keep it off other origins. The caller's
 * `transport` wraps the bare fetch, below everything tug adds, as `remote.WithTransport`'s round
 * tripper sits below ggcr's own: so it sees every request as sent (each retry attempt, each redirect
 * hop, the token requests, with the `User-Agent` and `Authorization` already set; a token request,
 * which `withAuth` builds itself, has no `User-Agent`) and cannot undo a guard above it (the redirect
 * wrapper's origin rule still applies to what it returns).
 *
 * @example A transport for anonymous pulls with no waiting between retries
 * ```ts
 * import { createRegistryFetch } from "./create_registry_fetch.ts";
 *
 * const fetch = createRegistryFetch({
 *   fetch: (req) => Promise.resolve(new Response(req.headers.get("user-agent"))),
 *   retry: { sleep: () => Promise.resolve() },
 * });
 * const res = await fetch(new Request("http://127.0.0.1:5000/v2/"));
 * console.assert((await res.text()).startsWith("tug/"));
 * ```
 */
export function createRegistryFetch(options: RegistryFetchOptions = {}): FetchLike {
  const io: FetchLike = options.fetch ?? ((request) => globalThis.fetch(request));
  const base = options.transport ? options.transport(io) : io;
  let transport = withRedirects(
    base,
    options.maxRedirects === undefined ? {} : { maxRedirects: options.maxRedirects },
  );
  if (!options.anonymous) {
    transport = withAuth(transport, {
      tokenCache: options.tokenCache ?? new TokenCache(),
      ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
      ...(options.scope !== undefined ? { scope: options.scope } : {}),
    });
  }
  transport = withRetry(transport, options.retry);
  return withUserAgent(transport, options.userAgent === undefined ? {} : { userAgent: options.userAgent });
}
