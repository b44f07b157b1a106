// This module is browser compatible.
/**
 * Which endpoints a pull tries, in Docker's order (moby registry/service_v2.go, service_v1.go):
 * Docker Hub goes to each configured mirror, then to https://registry-1.docker.io; any other host to
 * https, then plain http only when the host is insecure; legacy v1 endpoints come last and only when
 * legacy registries are enabled, never for Docker Hub.
 *
 * @module
 */

/** One place a pull may be attempted. */
export interface Endpoint {
  /** Base URL without a trailing slash, e.g. `https://registry-1.docker.io`. */
  readonly url: string;
  /** Protocol version spoken there. */
  readonly version: 1 | 2;
  /** Whether this is a configured mirror of Docker Hub (errors from mirrors always fall back). */
  readonly mirror: boolean;
  /** Whether this is Docker Hub itself. */
  readonly official: boolean;
}

/** How registries are reached: mirrors, insecure registries and legacy v1 support. */
export interface RegistryConfig {
  /** Docker Hub mirrors, tried in order before Docker Hub (`registry-mirrors`). */
  mirrors?: readonly string[];
  /** Hosts (`host[:port]`) or IP ranges (CIDR) that may be reached over plain http (`insecure-registries`). */
  insecureRegistries?: readonly string[];
  /** Whether legacy v1 registries are tried after v2 (off by default, as in Docker 17.06 and later). */
  legacyRegistry?: boolean;
}

/** Docker Hub's names for itself. */
export const DOCKER_HUB_DOMAINS: readonly string[] = ["docker.io", "index.docker.io", "registry-1.docker.io"];
/** Where Docker Hub's v2 API lives. */
export const DOCKER_HUB_REGISTRY = "https://registry-1.docker.io";

/**
 * Lists the endpoints for a registry domain, in the order a pull tries them.
 *
 * @example
 * ```ts
 * import { lookupEndpoints } from "./lookup_endpoints.ts";
 *
 * const endpoints = lookupEndpoints("127.0.0.1:5000");
 * console.assert(endpoints.map((e) => e.url).join(" ") === "https://127.0.0.1:5000 http://127.0.0.1:5000");
 * ```
 */
export function lookupEndpoints(domain: string, config: RegistryConfig = {}): Endpoint[] {
  const endpoints: Endpoint[] = [];
  if (DOCKER_HUB_DOMAINS.includes(domain)) {
    for (const mirror of config.mirrors ?? []) {
      endpoints.push({ url: normalizeMirror(mirror), version: 2, mirror: true, official: false });
    }
    endpoints.push({ url: DOCKER_HUB_REGISTRY, version: 2, mirror: false, official: true });
    // Docker Hub never gets v1 or plain-http endpoints.
    return endpoints;
  }
  const insecure = isInsecureRegistry(domain, config.insecureRegistries);
  endpoints.push({ url: `https://${domain}`, version: 2, mirror: false, official: false });
  if (insecure) endpoints.push({ url: `http://${domain}`, version: 2, mirror: false, official: false });
  if (config.legacyRegistry) {
    endpoints.push({ url: `https://${domain}`, version: 1, mirror: false, official: false });
    if (insecure) endpoints.push({ url: `http://${domain}`, version: 1, mirror: false, official: false });
  }
  return endpoints;
}

/** Checks and normalizes a mirror URL as Docker's ValidateMirror does (http or https, no path). */
export function normalizeMirror(mirror: string): string {
  let url: URL;
  try {
    url = new URL(mirror);
  } catch {
    throw new TypeError(
      `Invalid registry mirror "${mirror}": not a URL (expected e.g. https://mirror.example.com)`,
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError(`Invalid registry mirror "${mirror}": the scheme must be http or https`);
  }
  if (
    url.username || url.password || url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")
  ) {
    throw new TypeError(
      `Invalid registry mirror "${mirror}": it may not have a path, query, fragment or credentials`,
    );
  }
  return `${url.protocol}//${url.host}`;
}

/**
 * Whether plain http may be used for `domain` (`host[:port]`): loopback (127.0.0.0/8, ::1, localhost)
 * always, Docker Hub never, otherwise when listed by host or covered by a CIDR range. Without DNS in the
 * core, CIDR ranges match IP literals only.
 *
 * @example
 * ```ts
 * import { isInsecureRegistry } from "./lookup_endpoints.ts";
 *
 * console.assert(isInsecureRegistry("127.0.0.1:5000"));
 * console.assert(isInsecureRegistry("10.1.2.3:5000", ["10.0.0.0/8"]));
 * console.assert(!isInsecureRegistry("docker.io", ["docker.io"]));
 * ```
 */
export function isInsecureRegistry(domain: string, insecure: readonly string[] = []): boolean {
  if (DOCKER_HUB_DOMAINS.includes(domain)) return false;
  const host = hostOf(domain);
  if (host === "localhost") return true;
  const ip = parseIp(host);
  if (ip && (inCidr(ip, parseCidr("127.0.0.0/8")!) || inCidr(ip, parseCidr("::1/128")!))) return true;
  for (const entry of insecure) {
    if (entry.includes("/")) {
      const cidr = parseCidr(entry);
      if (!cidr) throw new TypeError(`Invalid insecure registry "${entry}": not a valid CIDR range`);
      if (ip && inCidr(ip, cidr)) return true;
    } else if (entry === domain || entry === host) {
      return true;
    }
  }
  return false;
}

function hostOf(domain: string): string {
  if (domain.startsWith("[")) return domain.slice(1, domain.indexOf("]"));
  const colon = domain.lastIndexOf(":");
  return colon >= 0 ? domain.slice(0, colon) : domain;
}

/** An IP address as 16 bytes (IPv4 mapped into ::ffff:0:0/96). */
function parseIp(text: string): Uint8Array | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const bytes = new Uint8Array(16);
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    for (let i = 0; i < 4; i++) {
      const n = Number(v4[i + 1]);
      if (n > 255) return undefined;
      bytes[12 + i] = n;
    }
    return bytes;
  }
  if (!text.includes(":") || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(all[i])) return undefined;
    const n = parseInt(all[i], 16);
    bytes[i * 2] = n >> 8;
    bytes[i * 2 + 1] = n & 0xff;
  }
  return bytes;
}

function parseCidr(text: string): { ip: Uint8Array; bits: number } | undefined {
  const [addr, bitsText] = text.split("/");
  const ip = parseIp(addr);
  const bits = Number(bitsText);
  if (!ip || !/^\d{1,3}$/.test(bitsText ?? "")) return undefined;
  const isV4 = addr.includes(".");
  if (bits > (isV4 ? 32 : 128)) return undefined;
  return { ip, bits: isV4 ? bits + 96 : bits };
}

function inCidr(ip: Uint8Array, cidr: { ip: Uint8Array; bits: number }): boolean {
  for (let bit = 0; bit < cidr.bits; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((ip[bit >> 3] & mask) !== (cidr.ip[bit >> 3] & mask)) return false;
  }
  return true;
}
