// This module is browser compatible.
/**
 * A cache of bearer tokens shared by the clients that talk to the same registries.
 *
 * @module
 */

import type { Challenge } from "./parse_www_authenticate.ts";

/** A bearer token and when it stops being usable. */
export interface CachedToken {
  /** The token to send as `Authorization: Bearer <token>`. */
  readonly token: string;
  /** When it expires, in milliseconds since the epoch (by the cache's clock). */
  readonly expiresAt: number;
}

/** Options for {@linkcode TokenCache}. */
export interface TokenCacheOptions {
  /** The clock, in milliseconds since the epoch. Defaults to `Date.now`; tests inject their own. */
  now?: () => number;
}

/**
 * Bearer tokens keyed by who asked for what: (realm, service, scope, account). The account is part of
 * the key so that clients with different credentials sharing one cache never see each other's tokens.
 * Concurrent requests for the same key share one token request (three layers downloading at once ask
 * the token server once). It also remembers the challenge each registry origin answered with, so later
 * requests (from any client sharing the cache) carry a token from the start instead of meeting a 401.
 *
 * @example Share one cache between clients
 * ```ts
 * import { TokenCache } from "./token_cache.ts";
 *
 * let now = 0;
 * const cache = new TokenCache({ now: () => now });
 * const key = TokenCache.key("https://auth.example/token", "registry", "repository:a:pull", "");
 * cache.set(key, { token: "t1", expiresAt: 60_000 });
 * console.assert(cache.get(key)?.token === "t1");
 * now = 60_000;
 * console.assert(cache.get(key) === undefined);
 * ```
 */
export class TokenCache {
  #now: () => number;
  #tokens = new Map<string, CachedToken>();
  #pending = new Map<string, Promise<CachedToken>>();
  #challenges = new Map<string, Challenge>();

  /** Makes an empty cache. */
  constructor(options: TokenCacheOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** The cache key for a token request. */
  static key(realm: string, service: string, scope: string, account: string): string {
    return JSON.stringify([realm, service, scope, account]);
  }

  /** The cache's clock, in milliseconds since the epoch. */
  now(): number {
    return this.#now();
  }

  /** The token stored under `key`, unless it has expired. */
  get(key: string): CachedToken | undefined {
    const entry = this.#tokens.get(key);
    if (entry === undefined) return undefined;
    if (this.#now() >= entry.expiresAt) {
      this.#tokens.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Stores a token under `key`. */
  set(key: string, token: CachedToken): void {
    this.#tokens.set(key, token);
  }

  /** Forgets the token under `key` (the registry refused it). */
  delete(key: string): void {
    this.#tokens.delete(key);
  }

  /**
   * The token under `key`, or the one `fetchToken` produces (stored on success). Concurrent callers
   * for the same key wait for the same `fetchToken` call.
   */
  getOrFetch(key: string, fetchToken: () => Promise<CachedToken>): Promise<CachedToken> {
    const cached = this.get(key);
    if (cached !== undefined) return Promise.resolve(cached);
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = fetchToken().then(
        (token) => {
          this.#pending.delete(key);
          this.set(key, token);
          return token;
        },
        (err) => {
          this.#pending.delete(key);
          throw err;
        },
      );
      this.#pending.set(key, pending);
    }
    return pending;
  }

  /** The challenge a registry origin (`http://127.0.0.1:5000`) last answered with, if any. */
  challenge(origin: string): Challenge | undefined {
    return this.#challenges.get(origin);
  }

  /** Remembers the challenge a registry origin answered with. */
  rememberChallenge(origin: string, challenge: Challenge): void {
    this.#challenges.set(origin, challenge);
  }
}
