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
import { type RetryOptions, withRetry } from "./with_retry.ts";
import { withUserAgent } from "./with_user_agent.ts";

/** Options for {@linkcode createRegistryFetch}. */
export interface RegistryFetchOptions {
  /** The fetch that does the I/O (default `globalThis.fetch`). */
  fetch?: FetchLike;
  /** The `User-Agent` (default `tug/<version>`). */
  userAgent?: string;
  /** How to retry transient failures (see `withRetry`). */
  retry?: RetryOptions;
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
 * withUserAgent → withRetry → withAuth → withRedirects → fetch
 * ```
 *
 * Retry sits above auth, so a retried request re-runs the handshake (a token that expired during a
 * backoff is replaced) and token-server hiccups are retried too; redirects sit below auth, so the
 * redirect wrapper sees the `Authorization` header and can keep it off other origins.
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
  const base: FetchLike = options.fetch ?? ((request) => globalThis.fetch(request));
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
