// This module is browser compatible.
/**
 * One classifier for "may tug connect here on someone else's say-so?": every spelling of an IP address
 * is turned into its number first (IPv4 as 32 bits, IPv6 as 128 bits, an IPv4 address embedded in an
 * IPv6 one taken out), and only that number is compared with the IANA special-purpose address
 * registries (iana.org/assignments/iana-ipv4-special-registry, iana-ipv6-special-registry). Comparing
 * strings is how the proxy's guard was bypassed: `http://[::ffff:127.0.0.2]/` is normalised by the URL
 * parser to `[::ffff:7f00:2]`, which no dotted-quad pattern matches. Used by the proxy's outbound guard.
 *
 * This looks at the host as written. It does no DNS: a name is judged by its name alone (`localhost`,
 * `*.localhost`, a single label, `.local`, `.internal`, `.home.arpa` are not public); what a public-looking
 * name resolves to is for the runtime adapter to check (see `resolveHost` on the proxy's options).
 *
 * @module
 */

/** IPv4 ranges that are not public (IANA IPv4 special-purpose registry, plus multicast and class E). */
const V4_SPECIAL: ReadonlyArray<readonly [string, number, string]> = [
  ["0.0.0.0", 8, "'this network' (RFC 791)"],
  ["10.0.0.0", 8, "private (RFC 1918)"],
  ["100.64.0.0", 10, "shared address space / CGNAT (RFC 6598)"],
  ["127.0.0.0", 8, "loopback (RFC 1122)"],
  ["169.254.0.0", 16, "link-local (RFC 3927)"],
  ["172.16.0.0", 12, "private (RFC 1918)"],
  ["192.0.0.0", 24, "IETF protocol assignments (RFC 6890)"],
  ["192.0.2.0", 24, "documentation (RFC 5737)"],
  ["192.88.99.0", 24, "6to4 relay anycast (RFC 7526)"],
  ["192.168.0.0", 16, "private (RFC 1918)"],
  ["198.18.0.0", 15, "benchmarking (RFC 2544)"],
  ["198.51.100.0", 24, "documentation (RFC 5737)"],
  ["203.0.113.0", 24, "documentation (RFC 5737)"],
  ["224.0.0.0", 4, "multicast (RFC 5771)"],
  ["240.0.0.0", 4, "reserved (RFC 1112)"],
  ["255.255.255.255", 32, "limited broadcast (RFC 919)"],
];

/** Whether the 32-bit `v4` lies in `base/bits`. */
function inV4(v4: number, base: string, bits: number): boolean {
  const b = parseIPv4(base)!;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((v4 & mask) >>> 0) === ((b & mask) >>> 0);
}

/**
 * Parses an IPv4 address the way `inet_aton` and the WHATWG URL parser read one: one to four parts,
 * each decimal, octal (`0` prefix) or hex (`0x` prefix), the last part filling the remaining bytes
 * (`127.1`, `2130706434`, `0x7f000002`, `0177.0.0.2`). Undefined when `text` is not one.
 */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop(); // WHATWG allows one trailing dot
  if (parts.length === 0 || parts.length > 4) return undefined;
  const values: number[] = [];
  for (const part of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/i.test(part)) n = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) n = parseInt(part.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) n = Number(part);
    else return undefined;
    if (!Number.isSafeInteger(n)) return undefined;
    values.push(n);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255) || last >= 2 ** (8 * (4 - values.length))) return undefined;
  let out = 0;
  for (const [i, v] of values.entries()) out += v * 2 ** (8 * (3 - i));
  return out + last;
}

/**
 * Parses an IPv6 address (RFC 4291 §2.2: hex groups, one `::`, an optional dotted IPv4 tail; brackets
 * and a zone are accepted and ignored) into its 128-bit value. Undefined when `text` is not one.
 */
export function parseIPv6(text: string): bigint | undefined {
  let h = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const zone = h.indexOf("%");
  if (zone >= 0) h = h.slice(0, zone);
  if (!h.includes(":")) return undefined;
  const halves = h.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const items = s.split(":");
    for (const [i, item] of items.entries()) {
      if (i === items.length - 1 && item.includes(".")) {
        const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(item) ? parseIPv4(item) : undefined;
        if (v4 === undefined || item.split(".").some((p) => p.length > 1 && p.startsWith("0"))) {
          return undefined;
        }
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-f]{1,4}$/i.test(item)) {
        out.push(parseInt(item, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let value = 0n;
  for (const g of [...head, ...new Array<number>(missing).fill(0), ...tail]) {
    value = (value << 16n) | BigInt(g);
  }
  return value;
}

const V6 = (text: string): bigint => parseIPv6(text)!;
/** Whether the 128-bit `v6` lies in `base/bits`. */
function inV6(v6: bigint, base: bigint, bits: number): boolean {
  return (v6 >> BigInt(128 - bits)) === (base >> BigInt(128 - bits));
}
const low32 = (v6: bigint): number => Number(v6 & 0xffffffffn);

/** IPv6 prefixes that carry an IPv4 address: the embedded address decides. */
const V6_EMBEDDING: ReadonlyArray<readonly [bigint, number, string, (v6: bigint) => number[]]> = [
  [V6("::ffff:0:0"), 96, "IPv4-mapped (RFC 4291)", (v) => [low32(v)]],
  [V6("::ffff:0:0:0"), 96, "IPv4-translated (RFC 2765)", (v) => [low32(v)]],
  [V6("64:ff9b::"), 96, "NAT64 well-known prefix (RFC 6052)", (v) => [low32(v)]],
  [V6("2002::"), 16, "6to4 (RFC 3056)", (v) => [Number((v >> 80n) & 0xffffffffn)]],
  // Teredo: the server's IPv4 in bits 32-63, the client's in the low 32 bits, inverted (RFC 4380 §4).
  [V6("2001::"), 32, "Teredo (RFC 4380)", (v) => [Number((v >> 64n) & 0xffffffffn), (~low32(v)) >>> 0]],
  // Deprecated IPv4-compatible addresses (RFC 4291 §2.5.5.1), after ::/128 and ::1/128 were checked.
  [V6("::"), 96, "IPv4-compatible (RFC 4291)", (v) => [low32(v)]],
];

/** IPv6 ranges that are not public whatever they carry (IANA IPv6 special-purpose registry). */
const V6_SPECIAL: ReadonlyArray<readonly [bigint, number, string]> = [
  [V6("::"), 128, "unspecified (RFC 4291)"],
  [V6("::1"), 128, "loopback (RFC 4291)"],
  [V6("64:ff9b:1::"), 48, "local-use NAT64 (RFC 8215)"],
  [V6("100::"), 64, "discard-only (RFC 6666)"],
  [V6("2001:db8::"), 32, "documentation (RFC 3849)"],
  [V6("3fff::"), 20, "documentation (RFC 9637)"],
  [V6("5f00::"), 16, "SRv6 SIDs (RFC 9602)"],
  [V6("fc00::"), 7, "unique local (RFC 4193)"],
  [V6("fe80::"), 10, "link-local (RFC 4291)"],
  [V6("fec0::"), 10, "site-local (RFC 3879)"],
  [V6("ff00::"), 8, "multicast (RFC 4291)"],
];

/** Why the 32-bit IPv4 address `v4` is not public, or undefined when it is. */
function classifyV4(v4: number): string | undefined {
  for (const [base, bits, why] of V4_SPECIAL) if (inV4(v4, base, bits)) return why;
  return undefined;
}

function dotted(v4: number): string {
  return [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join(".");
}

/** Why the 128-bit IPv6 address `v6` is not public, or undefined when it is. */
function classifyV6(v6: bigint): string | undefined {
  for (const [base, bits, why] of V6_SPECIAL) if (inV6(v6, base, bits)) return why;
  for (const [base, bits, what, embedded] of V6_EMBEDDING) {
    if (!inV6(v6, base, bits)) continue;
    for (const v4 of embedded(v6)) {
      const why = classifyV4(v4);
      if (why !== undefined) return `${what} form of ${dotted(v4)}, ${why}`;
    }
    return undefined;
  }
  // IANA's 2001::/23 (IETF protocol assignments: benchmarking, ORCHID, AMT, …) holds nothing a registry
  // or its storage lives on; Teredo inside it was judged above.
  if (inV6(v6, V6("2001::"), 23)) return "IETF protocol assignments (RFC 2928)";
  // Global unicast is 2000::/3 (RFC 4291 §2.4); everything else is reserved or unassigned.
  if (!inV6(v6, V6("2000::"), 3)) return "not global unicast (outside 2000::/3)";
  return undefined;
}

/**
 * Why connecting to `hostname` (a URL's `hostname`: a name, a dotted or otherwise spelled IPv4 address,
 * or a bracketed IPv6 address) could reach a loopback, private, link-local or otherwise non-public
 * address, judged from the name alone; undefined when it looks public.
 *
 * @example
 * ```ts
 * import { nonPublicReason } from "./address.ts";
 *
 * console.assert(nonPublicReason("[::ffff:7f00:2]")?.includes("127.0.0.2") === true);
 * console.assert(nonPublicReason("registry-1.docker.io") === undefined);
 * ```
 */
export function nonPublicReason(hostname: string): string | undefined {
  const h = hostname.toLowerCase().replace(/\.+$/, "");
  if (h === "") return "empty host";
  const v6 = parseIPv6(h);
  if (v6 !== undefined) return classifyV6(v6);
  const v4 = parseIPv4(h);
  if (v4 !== undefined) return classifyV4(v4);
  if (h.includes(":") || h.startsWith("[")) return "not a valid address";
  // RFC 6761 (localhost), RFC 6762 (.local, multicast DNS), RFC 8375 (home.arpa), ICANN's reserved
  // .internal: names for the local network. A single label is completed by the resolver's search
  // domains, i.e. also a local name (`http://metadata/`).
  if (h === "localhost" || h.endsWith(".localhost")) return "localhost (RFC 6761)";
  if (/\.(local|internal|home\.arpa|localdomain)$/.test(h) || !h.includes(".")) return "a local name";
  return undefined;
}

/** Whether `hostname` looks public (see {@linkcode nonPublicReason}). */
export function isPublicHost(hostname: string): boolean {
  return nonPublicReason(hostname) === undefined;
}
