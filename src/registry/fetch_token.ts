// This module is browser compatible.
/**
 * Step 3 of the registry auth handshake: trading credentials (or nothing) for a bearer token at the
 * token server a `Bearer` challenge names (Docker's token authentication specification).
 *
 * @module
 */

import { TugError } from "../errors.ts";
import { basicAuthorization } from "./_basic.ts";
import { parseErrorBody } from "./error_body.ts";
import { readLimited } from "./read_limited.ts";
import type { CachedToken } from "./token_cache.ts";
import type { Credentials, FetchLike } from "./types.ts";

/** Options for {@linkcode fetchToken}. */
export interface FetchTokenOptions {
  /** The challenge's `realm`: the token server's URL (must be http or https). */
  realm: string;
  /** The challenge's `service`. */
  service?: string;
  /** The scopes to ask for, e.g. `["repository:library/alpine:pull"]` (none for the `/v2/` ping). */
  scopes?: readonly string[];
  /** Who asks: anonymous when absent. */
  credentials?: Credentials;
  /** How to send the request (default `globalThis.fetch`). */
  fetch?: FetchLike;
  /** The OAuth2 `client_id` sent with a refresh-token grant (default `"tug"`). */
  clientId?: string;
  /** The clock in milliseconds since the epoch (default `Date.now`). */
  now?: () => number;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** A token server's answer is small; anything bigger is not a token answer. */
const TOKEN_BODY_LIMIT = 1024 * 1024;
/** Docker's token spec: when `expires_in` is missing (or smaller) assume 60 seconds. */
const MIN_LIFETIME_SECONDS = 60;

/**
 * Asks a token server for a bearer token, the way Docker's token authentication specification has it:
 *
 * - anonymous, or with `{ username, password }`: `GET realm?service=…&scope=…&account=<user>` with Basic
 *   auth (Docker's "Requesting a Token");
 * - with `{ identityToken }`: `POST realm` with the form `grant_type=refresh_token&refresh_token=…&
 *   service=…&scope=…&client_id=tug` (Docker's "OAuth2 Token Authentication");
 * - `{ registryToken }` needs no token server and is returned as it is.
 *
 * The answer's `token` (or OAuth2's `access_token`) is valid for `expires_in` seconds (at least 60, as
 * the spec says to assume) from `issued_at` when the server sends one (and it is not in the future or so
 * old that the token would already be expired, which only clock skew explains), else from now.
 * A refused request, a non-http(s) realm or an answer without a token reject with a `TugError` with code
 * `AUTH_FAILED` that names the realm and the status; its `detail` has `{ status, errors }`.
 *
 * @example Ask a token server (here a stand-in) for an anonymous pull token
 * ```ts
 * import { fetchToken } from "./fetch_token.ts";
 *
 * const tokenServer = (req: Request) => {
 *   const scope = new URL(req.url).searchParams.get("scope");
 *   return Promise.resolve(Response.json({ token: `token-for-${scope}`, expires_in: 300 }));
 * };
 * const { token } = await fetchToken({
 *   realm: "https://auth.example/token",
 *   service: "registry.example",
 *   scopes: ["repository:library/alpine:pull"],
 *   fetch: tokenServer,
 * });
 * console.assert(token === "token-for-repository:library/alpine:pull");
 * ```
 */
export async function fetchToken(options: FetchTokenOptions): Promise<CachedToken> {
  const { realm, service, scopes = [], credentials } = options;
  const now = options.now ?? Date.now;
  const fetch = options.fetch ?? globalThis.fetch;
  if (credentials !== undefined && "registryToken" in credentials) {
    return { token: credentials.registryToken, expiresAt: Number.POSITIVE_INFINITY };
  }
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    url = new URL("invalid:");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TugError(
      "AUTH_FAILED",
      `Cannot get a token: the registry's token realm "${realm}" is not an http(s) URL`,
    );
  }
  const init: RequestInit = { method: "GET", headers: { accept: "application/json" } };
  if (options.signal) init.signal = options.signal;
  if (credentials !== undefined && "identityToken" in credentials) {
    const form = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: credentials.identityToken,
    });
    if (service !== undefined) form.set("service", service);
    // RFC 6749 §3.3: the scope is one space-delimited list.
    if (scopes.length > 0) form.set("scope", scopes.join(" "));
    form.set("client_id", options.clientId ?? "tug");
    init.method = "POST";
    init.body = form;
  } else {
    if (service !== undefined) url.searchParams.set("service", service);
    for (const scope of scopes) url.searchParams.append("scope", scope);
    if (credentials !== undefined) {
      url.searchParams.set("account", credentials.username);
      init.headers = {
        ...init.headers,
        authorization: basicAuthorization(credentials.username, credentials.password),
      };
    }
  }
  const issued = now();
  const response = await fetch(new Request(url, init));
  const { bytes, truncated } = await readLimited(response.body, TOKEN_BODY_LIMIT);
  const what = `Cannot get a token from "${url.origin}${url.pathname}"${
    scopes.length > 0 ? ` for ${scopes.join(" ")}` : ""
  }`;
  if (!response.ok) {
    const errors = parseErrorBody(bytes);
    const said = errors.map((e) => `${e.code}${e.message ? ` (${e.message})` : ""}`).join(", ");
    throw new TugError(
      "AUTH_FAILED",
      `${what}: token server returned ${response.status}${said ? ` ${said}` : ""}`,
      {
        detail: { status: response.status, errors },
      },
    );
  }
  let answer: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown } = {};
  try {
    if (!truncated) answer = JSON.parse(new TextDecoder().decode(bytes)) ?? {};
  } catch {
    // handled below: no token
  }
  const token = typeof answer.token === "string" && answer.token !== ""
    ? answer.token
    : typeof answer.access_token === "string" && answer.access_token !== ""
    ? answer.access_token
    : undefined;
  if (token === undefined) {
    throw new TugError("AUTH_FAILED", `${what}: token server returned ${response.status} without a token`, {
      detail: { status: response.status, errors: [] },
    });
  }
  const lifetime = Math.max(
    MIN_LIFETIME_SECONDS,
    typeof answer.expires_in === "number" && Number.isFinite(answer.expires_in) ? answer.expires_in : 0,
  ) * 1000;
  let from = issued;
  if (typeof answer.issued_at === "string") {
    const at = Date.parse(answer.issued_at);
    if (!Number.isNaN(at) && at <= issued && at + lifetime > issued) from = at;
  }
  return { token, expiresAt: from + lifetime };
}
