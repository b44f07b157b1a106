// This module is browser compatible.
/**
 * Configured upstream registries and the outbound guard: the proxy only ever talks to what the operator
 * configured. Private to the proxy.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import type { Credentials, FetchLike } from "../registry/types.ts";
import { parseWwwAuthenticate } from "../registry/parse_www_authenticate.ts";

/** One upstream registry as the operator configured it. */
export interface UpstreamConfig {
  /** The registry's base URL, e.g. `"https://registry-1.docker.io"` or `"http://127.0.0.1:5000"`. */
  url: string;
  /**
   * Credentials the proxy uses upstream for clients that send none (e.g. a Docker Hub account that lifts
   * the anonymous pull limit). Every anonymous client can then read what this account can read.
   */
  credentials?: Credentials;
  /** Add `library/` to single-component names, as Docker Hub needs (default: true for Docker Hub only). */
  library?: boolean;
  /**
   * Hosts (`host` or `host:port`) allowed besides the upstream's own domain: bearer token realms and
   * redirect targets on private or loopback addresses.
   */
  allowHosts?: readonly string[];
}

/** A resolved upstream. */
export interface Upstream {
  /** The name it was configured under. */
  readonly name: string;
  /** Its base URL without a trailing slash. */
  readonly url: string;
  /** `host[:port]` of the URL. */
  readonly host: string;
  /** The registry part of canonical references (`docker.io` for Docker Hub, else `host`). */
  readonly refHost: string;
  /** Whether single-component names get `library/`. */
  readonly library: boolean;
  /** Operator credentials, when configured. */
  readonly credentials?: Credentials;
  /** The guarded fetch for everything sent on this upstream's behalf. */
  readonly fetch: FetchLike;
}

const DOCKER_HUB_HOSTS = new Set([
  "registry-1.docker.io",
  "index.docker.io",
  "docker.io",
  "registry.hub.docker.com",
]);

/** Whether `hostname` is a loopback, private, link-local or otherwise non-public address (literal). */
export function isPrivateHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h.endsWith(".localhost") || h === "") return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || a >= 224;
  }
  if (h.includes(":")) {
    if (h === "::1" || h === "::") return true;
    if (/^f[cd]/.test(h) || /^fe[89ab]/.test(h)) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    if (mapped) return isPrivateHost(mapped[1]);
  }
  return false;
}

/** The registrable part of a host name, naively its last two labels (an IP address stays whole). */
function domainOf(hostname: string): string {
  if (/^[\d.]+$/.test(hostname) || hostname.includes(":")) return hostname;
  return hostname.split(".").slice(-2).join(".");
}

/**
 * Wraps the outbound fetch of one upstream:
 * - a request may go to the upstream's own host, to hosts the operator allowed, or (redirects to blob
 *   storage, token realms) to another public host; never to a loopback or private address that was not
 *   configured, so a malicious upstream or redirect cannot reach the proxy's own network (SSRF);
 * - a bearer challenge from the upstream must name a realm on the upstream's domain (or an allowed
 *   host): otherwise the challenge is removed before the auth layer sees it, so client credentials are
 *   never sent to a token server the operator did not choose.
 */
export function guardFetch(base: FetchLike, url: URL, allowHosts: readonly string[]): FetchLike {
  const allowed = new Set(allowHosts.map((h) => h.toLowerCase()));
  // Token realms the upstream named and that passed realmOk: the token requests go there next.
  const realms = new Set<string>();
  const permits = (target: URL): boolean => {
    if (target.host === url.host || allowed.has(target.host) || allowed.has(target.hostname)) return true;
    if (realms.has(target.origin)) return true;
    if (target.protocol !== "https:" && target.protocol !== "http:") return false;
    return !isPrivateHost(target.hostname);
  };
  const realmOk = (realm: string): boolean => {
    let target: URL;
    try {
      target = new URL(realm);
    } catch {
      return false;
    }
    if (allowed.has(target.host) || allowed.has(target.hostname)) return true;
    return domainOf(target.hostname) === domainOf(url.hostname);
  };
  return async (request) => {
    const target = new URL(request.url);
    if (!permits(target)) {
      throw new TugError(
        "DENIED",
        `Refused to connect to ${target.host}: not the configured upstream ${url.host} and not a public host`,
      );
    }
    const response = await base(request);
    if (response.status === 401 && target.host === url.host) {
      const header = response.headers.get("www-authenticate");
      if (header !== null) {
        let bad = false;
        for (const c of parseWwwAuthenticate(header)) {
          if (c.scheme !== "bearer" || c.params.realm === undefined) continue;
          if (realmOk(c.params.realm)) realms.add(new URL(c.params.realm).origin);
          else bad = true;
        }
        if (bad) {
          const headers = new Headers(response.headers);
          headers.delete("www-authenticate");
          return new Response(response.body, { status: 401, statusText: response.statusText, headers });
        }
      }
    }
    return response;
  };
}

/** Builds the upstream table from the options. */
export function resolveUpstreams(
  configs: Record<string, string | UpstreamConfig>,
  base: FetchLike,
): Map<string, Upstream> {
  const out = new Map<string, Upstream>();
  for (const [name, given] of Object.entries(configs)) {
    const config: UpstreamConfig = typeof given === "string" ? { url: given } : given;
    let url: URL;
    try {
      url = new URL(config.url);
    } catch {
      throw new TypeError(`Invalid URL "${config.url}" for upstream "${name}"`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`Invalid URL "${config.url}" for upstream "${name}": not http or https`);
    }
    if (!/^[a-z0-9]([a-z0-9.:_-]*[a-z0-9])?$/i.test(name)) {
      throw new TypeError(`Invalid upstream name "${name}": use letters, digits, dots, dashes and colons`);
    }
    const hub = DOCKER_HUB_HOSTS.has(url.hostname);
    out.set(name, {
      name,
      url: url.href.replace(/\/+$/, ""),
      host: url.host,
      refHost: hub ? "docker.io" : url.host,
      library: config.library ?? hub,
      ...(config.credentials !== undefined ? { credentials: config.credentials } : {}),
      fetch: guardFetch(base, url, config.allowHosts ?? []),
    });
  }
  return out;
}
