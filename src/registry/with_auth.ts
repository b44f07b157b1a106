// This module is browser compatible.
/**
 * The transport wrapper that answers registry auth challenges: Basic, and Bearer tokens from a token
 * server (Docker's token authentication specification).
 *
 * @module
 */

import { basicAuthorization } from "./_basic.ts";
import { discard } from "./read_limited.ts";
import { fetchToken } from "./fetch_token.ts";
import { type Challenge, parseWwwAuthenticate } from "./parse_www_authenticate.ts";
import { TokenCache } from "./token_cache.ts";
import type { CredentialProvider, Credentials, FetchLike } from "./types.ts";

/** Options for {@linkcode withAuth}. */
export interface WithAuthOptions {
  /** Fixed credentials, or a provider asked (once per host) with the registry's `host[:port]`. */
  credentials?: Credentials | CredentialProvider;
  /** Where tokens and challenges are kept; pass one to share them between wrappers and clients. */
  tokenCache?: TokenCache;
  /**
   * The scopes a request needs. Default: `repository:<name>:pull` for a `/v2/<name>/manifests|blobs|tags/…`
   * URL and none for `/v2/` itself. A string or list applies to every request.
   */
  scope?: string | readonly string[] | ((request: Request) => readonly string[]);
  /** The OAuth2 `client_id` for refresh-token grants (default `"tug"`). */
  clientId?: string;
}

/**
 * The scopes a registry request needs, read from its path (distribution's routes: the repository name
 * is everything between `/v2/` and `/manifests/`, `/blobs/` or `/tags/`; it may contain slashes).
 *
 * @example
 * ```ts
 * import { scopeForRequest } from "./with_auth.ts";
 *
 * const scopes = scopeForRequest(new Request("http://127.0.0.1:5000/v2/library/alpine/manifests/3"));
 * console.assert(scopes[0] === "repository:library/alpine:pull");
 * console.assert(scopeForRequest(new Request("http://127.0.0.1:5000/v2/")).length === 0);
 * ```
 */
export function scopeForRequest(request: Request): string[] {
  const match = /^\/v2\/(.+)\/(?:manifests|blobs|tags)\/[^/]+$/.exec(new URL(request.url).pathname);
  return match ? [`repository:${decodeURIComponent(match[1])}:pull`] : [];
}

/** Who asks, for the token cache key: tokens of different accounts must never mix. */
function accountOf(credentials: Credentials | undefined): string {
  if (credentials === undefined) return "";
  if ("username" in credentials) return `user:${credentials.username}`;
  if ("identityToken" in credentials) return `refresh:${credentials.identityToken}`;
  return `registry:${credentials.registryToken}`;
}

/** Bearer is preferred (it scopes access); Basic when that is all the registry offers. */
function pickChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === "bearer" && c.params.realm) ??
    challenges.find((c) => c.scheme === "basic");
}

/**
 * Wraps `next` to authenticate to registries. The handshake, as Docker's token authentication
 * specification numbers it:
 *
 * 1. The request goes out; an origin whose challenge is already known (in the token cache) gets its
 *    credentials up front, which saves the round trip a separate `GET /v2/` ping would cost.
 * 2. A `401` carries `WWW-Authenticate` (RFC 7235): the challenge is remembered for the origin.
 * 3. `Bearer realm=…,service=…`: a token is fetched from the realm for the request's scope
 *    (`repository:<name>:pull`, plus any `scope` the challenge names), anonymously or with the
 *    credentials, and cached per (realm, service, scope, account) until it expires.
 *    `Basic`: the username and password are sent as they are.
 * 4. The request is sent again with `Authorization`. Should a token that was sent be refused (`401`,
 *    e.g. `error="insufficient_scope"` or an expired token), one fresh token is fetched for the new
 *    challenge and the request tried once more; a second refusal is returned to the caller.
 *
 * `{ registryToken }` credentials are sent as `Bearer` to the registry without a token server. A request
 * that already has `Authorization` is passed through untouched.
 *
 * @example Anonymous pull token from a stand-in registry and token server
 * ```ts
 * import { withAuth } from "./with_auth.ts";
 *
 * const server = (req: Request) => {
 *   const url = new URL(req.url);
 *   if (url.pathname === "/token") return Promise.resolve(Response.json({ token: "abc" }));
 *   if (req.headers.get("authorization") === "Bearer abc") return Promise.resolve(new Response("ok"));
 *   return Promise.resolve(new Response(null, {
 *     status: 401,
 *     headers: { "www-authenticate": 'Bearer realm="http://127.0.0.1:5000/token",service="test"' },
 *   }));
 * };
 * const res = await withAuth(server)(new Request("http://127.0.0.1:5000/v2/library/alpine/tags/list"));
 * console.assert((await res.text()) === "ok");
 * ```
 */
export function withAuth(next: FetchLike, options: WithAuthOptions = {}): FetchLike {
  const cache = options.tokenCache ?? new TokenCache();
  const credentialsByHost = new Map<string, Promise<Credentials | undefined>>();
  const credentialsFor = (host: string): Promise<Credentials | undefined> => {
    const given = options.credentials;
    if (given === undefined || typeof given !== "function") return Promise.resolve(given);
    let found = credentialsByHost.get(host);
    if (found === undefined) {
      found = given(host);
      credentialsByHost.set(host, found);
      // A provider that failed may work next time (a credential helper that was locked).
      found.catch(() => credentialsByHost.delete(host));
    }
    return found;
  };
  const scopesFor = (request: Request): readonly string[] => {
    const scope = options.scope;
    if (scope === undefined) return scopeForRequest(request);
    if (typeof scope === "string") return [scope];
    if (typeof scope === "function") return scope(request);
    return scope;
  };

  /** The `Authorization` value for a challenge, or undefined when there is nothing to send. */
  const authorize = async (
    request: Request,
    challenge: Challenge,
    extraScopes: readonly string[],
    fresh: boolean,
  ): Promise<string | undefined> => {
    const credentials = await credentialsFor(new URL(request.url).host);
    if (challenge.scheme === "basic") {
      return credentials !== undefined && "username" in credentials
        ? basicAuthorization(credentials.username, credentials.password)
        : undefined;
    }
    if (credentials !== undefined && "registryToken" in credentials) {
      return `Bearer ${credentials.registryToken}`;
    }
    const realm = challenge.params.realm;
    const service = challenge.params.service;
    const scopes = [...new Set([...scopesFor(request), ...extraScopes])].sort();
    const key = TokenCache.key(realm, service ?? "", scopes.join(" "), accountOf(credentials));
    if (fresh) cache.delete(key);
    const { token } = await cache.getOrFetch(key, () =>
      fetchToken({
        realm,
        ...(service !== undefined ? { service } : {}),
        scopes,
        ...(credentials !== undefined ? { credentials } : {}),
        fetch: next,
        ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
        now: () => cache.now(),
        signal: request.signal,
      }));
    return `Bearer ${token}`;
  };

  return async (request) => {
    if (request.headers.has("authorization")) return next(request);
    const origin = new URL(request.url).origin;
    // The request may be sent up to three times; keep one with a body unsent and clone it.
    const template = request.body === null ? undefined : request;
    const send = (authorization: string | undefined): Promise<Response> => {
      const base = template ? template.clone() : request;
      if (authorization === undefined) return next(base);
      const headers = new Headers(base.headers);
      headers.set("authorization", authorization);
      return next(new Request(base, { headers }));
    };

    // Step 1: up front, when the origin's challenge is known.
    let known = cache.challenge(origin);
    let sent = known === undefined ? undefined : await authorize(request, known, [], false);
    let refreshed = false;
    for (let round = 0; round < 3; round++) {
      const response = await send(sent);
      if (response.status !== 401) return response;
      // Step 2: the challenge.
      const header = response.headers.get("www-authenticate");
      const challenge = header === null ? undefined : pickChallenge(parseWwwAuthenticate(header));
      if (challenge === undefined) return response;
      const remembered: Challenge = {
        scheme: challenge.scheme,
        params: challenge.scheme === "bearer"
          ? {
            realm: challenge.params.realm,
            ...(challenge.params.service ? { service: challenge.params.service } : {}),
          }
          : {},
      };
      cache.rememberChallenge(origin, remembered);
      const extraScopes = challenge.params.scope ? challenge.params.scope.split(" ").filter(Boolean) : [];
      let authorization: string | undefined;
      if (sent === undefined || known === undefined) {
        // Steps 3 and 4: first answer to this challenge (a token from the cache is fine).
        authorization = await authorize(request, challenge, extraScopes, false);
        if (authorization === undefined || authorization === sent) return response;
      } else {
        // What was sent was refused: once, a fresh token for the new challenge; Basic cannot improve.
        if (refreshed || challenge.scheme !== "bearer" || !sent.startsWith("Bearer ")) return response;
        refreshed = true;
        authorization = await authorize(request, challenge, extraScopes, true);
        if (authorization === undefined) return response;
      }
      discard(response);
      known = remembered;
      sent = authorization;
    }
    return send(sent);
  };
}
