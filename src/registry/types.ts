// This module is browser compatible.
/**
 * The shapes the registry transport is built from: a {@linkcode FetchLike} that each wrapper takes and
 * returns, and the {@linkcode Credentials} a {@linkcode CredentialProvider} hands out per registry host.
 *
 * @module
 */

/**
 * The one function the transport needs: a `Request` in, a `Response` out. `globalThis.fetch` fits, and so
 * does every wrapper (`withRetry`, `withAuth`, …), so they stack like go-containerregistry's transports.
 *
 * @example A FetchLike that answers every request itself
 * ```ts
 * import type { FetchLike } from "./types.ts";
 *
 * const fake: FetchLike = (request) => Promise.resolve(new Response(`you asked for ${request.url}`));
 * const res = await fake(new Request("http://127.0.0.1:5000/v2/"));
 * console.assert((await res.text()).endsWith("/v2/"));
 * ```
 */
export type FetchLike = (request: Request) => Promise<Response>;

/**
 * Credentials for one registry, in the three forms Docker knows:
 * - `{ username, password }`: sent as Basic auth to a Basic challenge, or to the token server;
 * - `{ identityToken }`: an OAuth2 refresh token (`docker login` stores it as `identitytoken`), traded for
 *   an access token with `grant_type=refresh_token`;
 * - `{ registryToken }`: a bearer token sent to the registry as it is (Docker's `registrytoken`).
 *
 * @example
 * ```ts
 * import type { Credentials } from "./types.ts";
 *
 * const basic: Credentials = { username: "alice", password: "s3cret" };
 * const refresh: Credentials = { identityToken: "eyJ…" };
 * console.assert("username" in basic && "identityToken" in refresh);
 * ```
 */
export type Credentials =
  | { readonly username: string; readonly password: string }
  | { readonly identityToken: string }
  | { readonly registryToken: string };

/**
 * Looks up the credentials for a registry host (`host[:port]`, as in the registry's URL), or resolves to
 * `undefined` for anonymous access.
 *
 * @example A provider with one entry
 * ```ts
 * import type { CredentialProvider } from "./types.ts";
 *
 * const provider: CredentialProvider = (host) =>
 *   Promise.resolve(host === "127.0.0.1:5000" ? { username: "alice", password: "s3cret" } : undefined);
 * console.assert((await provider("example.com")) === undefined);
 * ```
 */
export type CredentialProvider = (host: string) => Promise<Credentials | undefined>;
