// This module is browser compatible.
/**
 * Which endpoints a pull tries, in Docker's order (moby registry/service.go `lookupEndpoints`,
 * service_v2.go, service_v1.go): Docker Hub (`docker.io`, `index.docker.io`) goes to each configured
 * mirror, then to https://registry-1.docker.io; any other host to https, then plain http only when the
 * host is insecure; legacy v1 endpoints come last and only when legacy registries are enabled, never for
 * Docker Hub.
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
  /**
   * Docker Hub mirrors (`http://` or `https://` URLs without a path), tried in order before Docker Hub
   * (`registry-mirrors`). Duplicates are dropped, as Docker does.
   */
  mirrors?: readonly string[];
  /**
   * Registries (`host[:port]`, matched exactly) or IP ranges (CIDR) that may be reached over plain http
   * (`insecure-registries`). A leading `http://` or `https://` is ignored, as Docker does.
   */
  insecureRegistries?: readonly string[];
  /** Whether legacy v1 registries are tried after v2 (off by default, as in Docker 17.06 and later). */
  legacyRegistry?: boolean;
  /**
   * Where Docker Hub's v2 API is reached (default `https://registry-1.docker.io`). Meant for tests and
   * air-gapped setups that stand in a local registry for Docker Hub; mirrors still come first.
   */
  hubRegistry?: string;
}

/** The names that mean Docker Hub in a reference (distribution's `docker.io` and the legacy `index.docker.io`). */
export const DOCKER_HUB_DOMAINS: readonly string[] = ["docker.io", "index.docker.io"];
/** The host of Docker Hub's v2 API. */
export const DOCKER_HUB_API_HOST = "registry-1.docker.io";
/** Where Docker Hub's v2 API lives. */
export const DOCKER_HUB_REGISTRY: string = `https://${DOCKER_HUB_API_HOST}`;
/** Hosts that never get legacy v1 endpoints (service_v1.go: Docker Hub and its v2 host). */
const NO_V1: readonly string[] = [...DOCKER_HUB_DOMAINS, DOCKER_HUB_API_HOST];

/**
 * Lists the endpoints for a registry domain (`host[:port]` as in a reference), in the order a pull
 * tries them.
 *
 * @throws {TypeError} When a mirror, an insecure registry entry or `hubRegistry` is malformed.
 *
 * @example
 * ```ts
 * import { lookupEndpoints } from "./lookup_endpoints.ts";
 *
 * const local = lookupEndpoints("127.0.0.1:5000");
 * console.assert(local.map((e) => e.url).join(" ") === "https://127.0.0.1:5000 http://127.0.0.1:5000");
 *
 * const hub = lookupEndpoints("docker.io", { mirrors: ["https://mirror.example.com"] });
 * console.assert(hub.map((e) => e.url).join(" ") === "https://mirror.example.com https://registry-1.docker.io");
 * ```
 */
export function lookupEndpoints(domain: string, config: RegistryConfig = {}): Endpoint[] {
  const endpoints: Endpoint[] = [];
  if (DOCKER_HUB_DOMAINS.includes(domain)) {
    // service_v2.go: mirrors are for Docker Hub only, and are assumed to speak v2.
    const seen = new Set<string>();
    for (const mirror of config.mirrors ?? []) {
      const url = normalizeMirror(mirror);
      if (seen.has(url)) continue;
      seen.add(url);
      endpoints.push({ url, version: 2, mirror: true, official: false });
    }
    const hub = config.hubRegistry === undefined ? DOCKER_HUB_REGISTRY : normalizeMirror(config.hubRegistry);
    endpoints.push({ url: hub, version: 2, mirror: false, official: true });
    // Docker Hub never gets v1 or plain-http endpoints.
    return endpoints;
  }
  const insecure = isInsecureRegistry(domain, config.insecureRegistries);
  endpoints.push({ url: `https://${domain}`, version: 2, mirror: false, official: false });
  if (insecure) endpoints.push({ url: `http://${domain}`, version: 2, mirror: false, official: false });
  if (config.legacyRegistry && !NO_V1.includes(domain)) {
    endpoints.push({ url: `https://${domain}`, version: 1, mirror: false, official: false });
    if (insecure) endpoints.push({ url: `http://${domain}`, version: 1, mirror: false, official: false });
  }
  return endpoints;
}

/**
 * Checks and normalizes a mirror URL as Docker's `ValidateMirror` does: http or https, no path (a lone
 * `/` is fine), query, fragment or credentials. Returns the URL without a trailing slash.
 *
 * @throws {TypeError} When the mirror is not such a URL.
 *
 * @example
 * ```ts
 * import { normalizeMirror } from "./lookup_endpoints.ts";
 *
 * console.assert(normalizeMirror("https://mirror.example.com/") === "https://mirror.example.com");
 * ```
 */
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
 * Whether plain http may be used for `domain` (`host[:port]`), following Docker's `isSecureIndex`:
 * Docker Hub (`docker.io`, `index.docker.io`) never; a `host[:port]` entry when it equals `domain`
 * exactly (`myhost` does not cover `myhost:5000`); a CIDR entry when the host is an IP address in the
 * range; loopback always (Docker adds `127.0.0.0/8`; tug also treats `::1` and `localhost`, which
 * Docker resolves to 127.0.0.1, as loopback). Docker resolves host names to match CIDR ranges; the
 * core has no DNS, so ranges match IP addresses only — list such hosts by name.
 *
 * @throws {TypeError} When an entry is malformed (a scheme other than http/https, a bad CIDR range, a
 * name that begins or ends with a hyphen).
 *
 * @example
 * ```ts
 * import { isInsecureRegistry } from "./lookup_endpoints.ts";
 *
 * console.assert(isInsecureRegistry("127.0.0.1:5000"));
 * console.assert(isInsecureRegistry("10.1.2.3:5000", ["10.0.0.0/8"]));
 * console.assert(isInsecureRegistry("myhost:5000", ["myhost:5000"]));
 * console.assert(!isInsecureRegistry("myhost:5000", ["myhost"]));
 * console.assert(!isInsecureRegistry("docker.io", ["docker.io"]));
 * ```
 */
export function isInsecureRegistry(domain: string, insecure: readonly string[] = []): boolean {
  const entries = insecure.map(normalizeInsecureEntry);
  // config.go LoadInsecureRegistries: docker.io is configured as secure after the user's entries.
  if (DOCKER_HUB_DOMAINS.includes(domain)) return false;
  // isSecureIndex looks the exact name up first.
  if (entries.some((e) => e.kind === "host" && e.host === domain)) return true;
  const host = hostOf(domain);
  if (host === "localhost") return true;
  const ip = parseIp(host);
  if (!ip) return false;
  if (inCidr(ip, LOOPBACK_V4) || inCidr(ip, LOOPBACK_V6)) return true;
  return entries.some((e) => e.kind === "cidr" && inCidr(ip, e.cidr));
}

type InsecureEntry = { kind: "host"; host: string } | { kind: "cidr"; cidr: Cidr };

/** config.go LoadInsecureRegistries + ValidateIndexName. */
function normalizeInsecureEntry(entry: string): InsecureEntry {
  if (typeof entry !== "string") {
    throw new TypeError(`Invalid insecure registry ${String(entry)}: not a string`);
  }
  let value = entry;
  if (/^https?:\/\//i.test(value)) value = value.slice(value.indexOf("//") + 2);
  else if (value.includes("://")) {
    throw new TypeError(`Invalid insecure registry "${entry}": it should not contain '://'`);
  }
  if (value === DOCKER_HUB_DOMAINS[1]) value = DOCKER_HUB_DOMAINS[0];
  if (value.startsWith("-") || value.endsWith("-")) {
    throw new TypeError(`Invalid insecure registry "${entry}": it cannot begin or end with a hyphen`);
  }
  if (value.includes("/")) {
    const cidr = parseCidr(value);
    if (!cidr) throw new TypeError(`Invalid insecure registry "${entry}": not a valid CIDR range`);
    return { kind: "cidr", cidr };
  }
  if (value === "" || /[\s/?#@]/.test(value)) {
    throw new TypeError(`Invalid insecure registry "${entry}": expected host[:port] or a CIDR range`);
  }
  return { kind: "host", host: value };
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

interface Cidr {
  readonly ip: Uint8Array;
  readonly bits: number;
}

function parseCidr(text: string): Cidr | undefined {
  const [addr, bitsText] = text.split("/");
  const ip = parseIp(addr);
  const bits = Number(bitsText);
  if (!ip || !/^\d{1,3}$/.test(bitsText ?? "")) return undefined;
  const isV4 = addr.includes(".");
  if (bits > (isV4 ? 32 : 128)) return undefined;
  return { ip, bits: isV4 ? bits + 96 : bits };
}

function inCidr(ip: Uint8Array, cidr: Cidr): boolean {
  for (let bit = 0; bit < cidr.bits; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((ip[bit >> 3] & mask) !== (cidr.ip[bit >> 3] & mask)) return false;
  }
  return true;
}

const LOOPBACK_V4 = parseCidr("127.0.0.0/8")!;
const LOOPBACK_V6 = parseCidr("::1/128")!;
