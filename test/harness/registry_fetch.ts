/**
 * `fetch` for the harness that answers a registry's auth challenge itself: Basic with the given
 * credentials, or Bearer by asking the challenge's realm for a token (distribution token spec: GET realm
 * with `service` and `scope`, Basic credentials when given). Test code only: it is how fixtures are pushed
 * and read back, independent of tug's own registry client.
 *
 * @module
 */

/** Credentials for {@linkcode registryFetch}. */
export interface RegistryCredentials {
  /** User for Basic auth or for the token request. */
  username?: string;
  /** Password for Basic auth or for the token request. */
  password?: string;
  /** A bearer token to send up front (skips the challenge). */
  token?: string;
  /** Tokens obtained from challenges, reused per realm+scope; share one Map across calls to save requests. */
  tokenCache?: Map<string, string>;
}

/** Parses `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` (quoted values only, as distribution sends). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(" ");
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/([A-Za-z_]+)="((?:[^"\\]|\\.)*)"/g)) {
    params[m[1].toLowerCase()] = m[2].replace(/\\(.)/g, "$1");
  }
  return { scheme, params };
}

function basic(username: string, password: string): string {
  return `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${username}:${password}`)))}`;
}

/**
 * Fetches a token from a token server the way Docker clients do (GET realm?service=…&scope=…).
 *
 * @example
 * ```ts ignore
 * const token = await fetchToken(server.realm, { service: server.service, scope: "repository:tug/small:pull" });
 * ```
 */
export async function fetchToken(
  realm: string,
  options: { service?: string; scope?: string; username?: string; password?: string },
): Promise<string> {
  const url = new URL(realm);
  if (options.service) url.searchParams.set("service", options.service);
  if (options.scope) url.searchParams.set("scope", options.scope);
  if (options.username) url.searchParams.set("account", options.username);
  const headers = new Headers();
  if (options.username !== undefined) {
    headers.set("Authorization", basic(options.username, options.password ?? ""));
  }
  const res = await fetch(url, { headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`Cannot get a token from ${url}: status ${res.status}: ${text}`);
  const body = JSON.parse(text) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!token) throw new Error(`Token server ${url} answered without a token: ${text}`);
  return token;
}

/**
 * Like `fetch`, but on a 401 answers the challenge once and retries. Request bodies must be replayable
 * (bytes or strings), which is all the harness sends.
 *
 * @example
 * ```ts ignore
 * const res = await registryFetch(`${registry.url}/v2/tug/small/tags/list`, {}, { username: "u", password: "p" });
 * ```
 */
export async function registryFetch(
  url: string | URL,
  init: RequestInit = {},
  credentials: RegistryCredentials = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (credentials.token) headers.set("Authorization", `Bearer ${credentials.token}`);
  const res = await fetch(url, { ...init, headers });
  if (res.status !== 401 || credentials.token) return res;
  const challenge = res.headers.get("WWW-Authenticate");
  await res.body?.cancel();
  if (!challenge) return await fetch(url, { ...init, headers });
  const { scheme, params } = parseChallenge(challenge);
  if (scheme === "basic") {
    if (credentials.username === undefined) return await fetch(url, { ...init, headers });
    headers.set("Authorization", basic(credentials.username, credentials.password ?? ""));
    return await fetch(url, { ...init, headers });
  }
  if (scheme !== "bearer" || !params.realm) {
    throw new Error(`Unsupported challenge from ${url}: ${challenge}`);
  }
  const key = `${params.realm} ${params.service ?? ""} ${params.scope ?? ""} ${credentials.username ?? ""}`;
  let token = credentials.tokenCache?.get(key);
  if (!token) {
    token = await fetchToken(params.realm, {
      service: params.service,
      scope: params.scope,
      username: credentials.username,
      password: credentials.password,
    });
    credentials.tokenCache?.set(key, token);
  }
  headers.set("Authorization", `Bearer ${token}`);
  return await fetch(url, { ...init, headers });
}
