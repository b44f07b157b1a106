// This module is browser compatible.
/**
 * Who asks, and how the proxy asks upstream on their behalf: the caller's credentials (a proxy token,
 * Basic credentials, the upstream's own, or anonymous), their token caches and registry clients, and what
 * an upstream refusal of them ends. Private to the proxy.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import { createRegistryFetch } from "../registry/create_registry_fetch.ts";
import { RegistryClient } from "../registry/registry_client.ts";
import { TokenCache } from "../registry/token_cache.ts";
import type { Credentials, FetchLike } from "../registry/types.ts";
import type { ReadScope } from "./_access.ts";
import { challengeFor, type ProxyContext } from "./_context.ts";
import { errorResponse, statusOf, upstreamErrorResponse } from "./_responses.ts";
import type { Target } from "./_target.ts";
import type { Upstream } from "./_upstream.ts";

/** Who asks: the credentials sent upstream and a key that identifies them without holding them. */
export interface Caller {
  readonly credentials?: Credentials;
  readonly key: string;
}

const hex = (bytes: ArrayBuffer) =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The caller's credentials: a proxy token, Basic credentials, the upstream's own (`upstream`'s configured
 * ones, for a caller that sends none), or anonymous; a 401 with the proxy's challenge for malformed
 * Basic credentials or a token that does not open.
 */
export async function callerOf(
  ctx: ProxyContext,
  request: Request,
  upstream: Upstream | undefined,
): Promise<Caller | Response> {
  const header = request.headers.get("authorization");
  let credentials: { username: string; password: string } | undefined;
  if (header !== null && /^basic /i.test(header)) {
    let decoded: string;
    try {
      decoded = new TextDecoder().decode(
        Uint8Array.from(atob(header.slice(6).trim()), (c) => c.charCodeAt(0)),
      );
    } catch {
      return errorResponse(401, "UNAUTHORIZED", "Malformed Basic credentials", {
        "www-authenticate": challengeFor(ctx, request),
      });
    }
    const colon = decoded.indexOf(":");
    const username = colon < 0 ? decoded : decoded.slice(0, colon);
    const password = colon < 0 ? "" : decoded.slice(colon + 1);
    if (username !== "") credentials = { username, password };
  } else if (header !== null && /^bearer /i.test(header)) {
    const opened = await ctx.tokens.open(header.slice(7).trim());
    if (opened === undefined) {
      return errorResponse(401, "UNAUTHORIZED", "The token is invalid or expired", {
        "www-authenticate": challengeFor(ctx, request),
      });
    }
    if (opened !== null && "username" in opened) credentials = opened;
  }
  if (credentials !== undefined) {
    const digest = await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(`${credentials.username}\0${credentials.password}`),
    );
    return { credentials, key: `basic:${hex(digest)}` };
  }
  if (upstream?.credentials !== undefined) return { credentials: upstream.credentials, key: "operator" };
  return { key: "anonymous" };
}

/**
 * One token cache per (upstream, credentials): tokens of different callers never mix, even for one user
 * name sent with different passwords.
 */
export function tokenCacheFor(ctx: ProxyContext, upstream: Upstream, caller: Caller): TokenCache {
  const key = `${upstream.name}\n${caller.key}`;
  let cache = ctx.tokenCaches.get(key);
  if (cache === undefined) {
    cache = new TokenCache({ now: ctx.now });
    ctx.tokenCaches.set(key, cache);
  }
  return cache;
}

/** What every request to the target's upstream carries: the caller's credentials, their token cache, the retry and transport policy. */
function upstreamOptions(ctx: ProxyContext, target: Target, caller: Caller) {
  return {
    fetch: target.upstream.fetch,
    ...(caller.credentials !== undefined ? { credentials: caller.credentials } : {}),
    tokenCache: tokenCacheFor(ctx, target.upstream, caller),
    retry: ctx.retry,
    ...(ctx.transport !== undefined ? { transport: ctx.transport } : {}),
    userAgent: ctx.userAgent,
  };
}

/** A registry client for the target's repository upstream, with the caller's credentials. */
export function clientFor(ctx: ProxyContext, target: Target, caller: Caller): RegistryClient {
  return new RegistryClient({
    registry: target.upstream.url,
    repository: target.repo,
    ...upstreamOptions(ctx, target, caller),
  });
}

/** The upstream's fetch with auth, retries and user agent, for requests the RegistryClient does not make. */
export function transportFor(ctx: ProxyContext, target: Target, caller: Caller): FetchLike {
  return createRegistryFetch(upstreamOptions(ctx, target, caller));
}

/** Who reads where: the key of every access decision (see AccessCache). */
export function scopeOf(target: Target, caller: Caller): ReadScope {
  return { caller: caller.key, repository: target.key };
}

/**
 * Records an upstream refusal of this caller and turns the error into the client's answer. A 401/403 (or a
 * 404 for a tag or the repository) ends the caller's grant and every confirmation under it; a 404 for
 * `digest`, the upstream's own answer for this repository's content, ends every caller's confirmation of
 * that digest there (GHSA-f2g3-hh2r-cwgc) and leaves the caller's other confirmations alone.
 */
export function refused(
  ctx: ProxyContext,
  err: unknown,
  request: Request,
  target: Target,
  caller: Caller,
  digest?: string,
): Response {
  const status = statusOf(err);
  if (
    status === 401 || status === 403 || (status === 404 && digest === undefined) ||
    (err instanceof TugError && err.code === "AUTH_FAILED")
  ) {
    ctx.access.revoke(scopeOf(target, caller));
  }
  if (status === 404 && digest !== undefined) ctx.access.gone(target.key, digest);
  return upstreamErrorResponse(err, challengeFor(ctx, request));
}
