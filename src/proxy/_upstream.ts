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
import { nonPublicReason, parseIPv4 } from "../registry/address.ts";
import { DOCKER_HUB_API_HOST, DOCKER_HUB_DOMAINS } from "../registry/lookup_endpoints.ts";

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
   * Hosts (`host` or `host:port`) allowed besides the upstream's own host: bearer token realms on
   * another host (e.g. `gitlab.com` for `registry.gitlab.com`; Docker Hub's `auth.docker.io` is built in)
   * and redirect targets on private or loopback addresses.
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

// Docker Hub's names, plus its old API host registry.hub.docker.com.
const DOCKER_HUB_HOSTS = new Set([DOCKER_HUB_API_HOST, ...DOCKER_HUB_DOMAINS, "registry.hub.docker.com"]);

/**
 * Whether `hostname` is a loopback, private, link-local or otherwise non-public address or local name,
 * in any spelling (see `nonPublicReason` in src/registry/address.ts). No DNS.
 */
export function isPrivateHost(hostname: string): boolean {
  return nonPublicReason(hostname) !== undefined;
}

/** Bearer realms on another host that well-known registries name (Docker Hub's token server). */
const KNOWN_REALM_HOSTS: ReadonlyMap<string, readonly string[]> = new Map(
  [...DOCKER_HUB_HOSTS].map((h) => [h, ["auth.docker.io"]]),
);

/** Options for {@linkcode guardFetch}. */
export interface GuardOptions {
  /** Hosts (`host` or `host:port`) allowed besides the upstream's own host (see `UpstreamConfig`). */
  allowHosts?: readonly string[];
  /** Resolves a host name to its addresses (see `ProxyOptions.resolveHost`); absent: names are not resolved. */
  resolveHost?: (hostname: string) => Promise<readonly string[]>;
}

/**
 * Wraps the outbound fetch of one upstream. It sits below the redirect wrapper, so it judges the first
 * request, every redirect hop and every token request, each before anything is sent:
 * - a request may go to the upstream's own host, to hosts the operator allowed, to a token realm the
 *   upstream named and that passed the realm check, or (redirects to blob storage) to another public
 *   host; never to a loopback, private, link-local or other special address that was not configured,
 *   in whatever spelling (`[::ffff:7f00:2]`, `0x7f000002`, `[64:ff9b::7f00:2]`, …: the address is parsed
 *   to its number and compared with the IANA special-purpose registries), so a malicious upstream or
 *   redirect cannot reach the proxy's own network (SSRF). With `resolveHost` (Deno and Node adapters)
 *   a name is resolved first and refused when any of its addresses is not public;
 * - a bearer challenge from the upstream must name a realm on the upstream's own host name (any port),
 *   a host the operator allowed, or Docker Hub's `auth.docker.io` for Docker Hub: otherwise the challenge
 *   is removed before the auth layer sees it, so client credentials are never sent to a token server
 *   the operator did not choose. No "registrable domain" rule: under a shared suffix (`x.azurecr.io`,
 *   `x.co.uk`, `x.github.io`) a sibling host belongs to someone else, and the public suffix list does not
 *   know every such suffix (azurecr.io is not in it).
 */
export function guardFetch(base: FetchLike, url: URL, options: GuardOptions = {}): FetchLike {
  const allowed = new Set((options.allowHosts ?? []).map((h) => h.toLowerCase()));
  const resolveHost = options.resolveHost;
  // Token realms the upstream named and that passed realmOk: the token requests go there next.
  const realms = new Set<string>();
  const knownRealmHosts = KNOWN_REALM_HOSTS.get(url.hostname) ?? [];
  const configured = (target: URL): boolean =>
    target.host === url.host || allowed.has(target.host) || allowed.has(target.hostname) ||
    realms.has(target.origin);
  /** Why `target` may not be contacted, or undefined when it may. */
  const refusal = async (target: URL): Promise<string | undefined> => {
    if (configured(target)) return undefined;
    if (target.protocol !== "https:" && target.protocol !== "http:") {
      return `${target.protocol} is not http(s)`;
    }
    const literal = nonPublicReason(target.hostname);
    if (literal !== undefined) return `${target.hostname} is not a public host: ${literal}`;
    if (
      resolveHost === undefined || parseIPv4(target.hostname) !== undefined || target.hostname.startsWith("[")
    ) {
      return undefined;
    }
    let addresses: readonly string[];
    try {
      addresses = await resolveHost(target.hostname);
    } catch (err) {
      return `${target.hostname} could not be resolved (${(err as Error).message})`;
    }
    if (addresses.length === 0) return `${target.hostname} resolves to no address`;
    for (const address of addresses) {
      const why = nonPublicReason(address.includes(":") ? `[${address}]` : address);
      if (why !== undefined) return `${target.hostname} resolves to ${address}, not a public address: ${why}`;
    }
    return undefined;
  };
  const realmOk = (realm: string): boolean => {
    let target: URL;
    try {
      target = new URL(realm);
    } catch {
      return false;
    }
    if (allowed.has(target.host) || allowed.has(target.hostname)) return true;
    return target.hostname === url.hostname || knownRealmHosts.includes(target.hostname);
  };
  return async (request) => {
    const target = new URL(request.url);
    const why = await refusal(target);
    if (why !== undefined) {
      throw new TugError(
        "DENIED",
        `Refused to connect to ${target.host}: not the configured upstream ${url.host}, and ${why}`,
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
  resolveHost?: (hostname: string) => Promise<readonly string[]>,
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
      fetch: guardFetch(base, url, {
        allowHosts: config.allowHosts ?? [],
        ...(resolveHost !== undefined ? { resolveHost } : {}),
      }),
    });
  }
  return out;
}
