/**
 * The host-name resolver the proxy's outbound guard uses on Deno and Node (`ProxyOptions.resolveHost`).
 *
 * @module
 */

import { lookup } from "node:dns/promises";

/**
 * Every address `hostname` resolves to, through the system resolver (`getaddrinfo`, which reads
 * /etc/hosts as `fetch` does; `Deno.resolveDns` asks DNS servers only and would miss `localhost`-like
 * entries). On Deno and Node alike (`node:dns`).
 *
 * @example
 * ```ts
 * import { lookupHost } from "./lookup_host.ts";
 *
 * console.assert((await lookupHost("localhost")).some((a) => a === "127.0.0.1" || a === "::1"));
 * ```
 */
export async function lookupHost(hostname: string): Promise<string[]> {
  const found = await lookup(hostname, { all: true, verbatim: true });
  return found.map((a) => a.address);
}
