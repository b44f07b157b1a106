/// <reference lib="dom" />
/**
 * What a name without a host means on the proxy the page talks to. tug's proxy sends such a name to its
 * default upstream (`PROXY/v2/small/…` → the default upstream's `small`, with `library/` only when that
 * upstream is Docker Hub-like), not to Docker Hub; `GET /upstreams` says which upstream that is. The page
 * writes the default upstream's host in front of a short name, so every request names its registry and
 * every cache key is the canonical name.
 *
 * @module
 */

import type { UpstreamInfo, UpstreamsInfo } from "../../src/proxy/upstreams_info.ts";

export type { UpstreamInfo, UpstreamsInfo };

/**
 * Whether `text` (a reference as typed) starts with a registry host, by Docker's rule (splitDockerDomain):
 * the part before the first `/` names a host when it contains `.` or `:`, or is `localhost`.
 *
 * @example
 * ```ts
 * import { hasHost } from "./upstreams.ts";
 *
 * console.assert(!hasHost("small:latest") && !hasHost("tug/small:v1"));
 * console.assert(hasHost("127.0.0.1:5000/tug/small:v1") && hasHost("localhost/x"));
 * ```
 */
export function hasHost(text: string): boolean {
  const slash = text.indexOf("/");
  if (slash < 0) return false;
  const first = text.slice(0, slash);
  return first.includes(".") || first.includes(":") || first === "localhost";
}

/** The default upstream of `info`, if it names one of its upstreams. */
export function defaultUpstream(info: UpstreamsInfo): UpstreamInfo | undefined {
  return info.upstreams.find((u) => u.name === info.default);
}

/**
 * The reference `text` means on a proxy described by `info`: a name without a host gets the default
 * upstream's registry in front (`small:latest` → `127.0.0.1:5000/small:latest`); anything else, or no
 * `info`, is returned as typed (Docker's own default, docker.io, then applies).
 *
 * @example
 * ```ts
 * import { qualify } from "./upstreams.ts";
 *
 * const info = {
 *   default: "local",
 *   upstreams: [{ name: "local", host: "127.0.0.1:5000", registry: "127.0.0.1:5000", library: false }],
 * };
 * console.assert(qualify("small:latest", info) === "127.0.0.1:5000/small:latest");
 * console.assert(qualify("ghcr.io/o/app:1", info) === "ghcr.io/o/app:1");
 * ```
 */
export function qualify(text: string, info: UpstreamsInfo | undefined): string {
  const trimmed = text.trim();
  if (info === undefined || hasHost(trimmed)) return trimmed;
  const upstream = defaultUpstream(info);
  if (upstream === undefined) return trimmed;
  // A Docker Hub-like upstream that is not Docker Hub itself (a mirror with `library: true`) still gets
  // `library/` for a single name: the proxy adds it for that upstream, so the page names it the same way.
  if (upstream.library && upstream.registry !== "docker.io" && !trimmed.split(/[:@]/)[0].includes("/")) {
    return `${upstream.registry}/library/${trimmed}`;
  }
  return `${upstream.registry}/${trimmed}`;
}

/** Whether `value` has the shape of {@linkcode UpstreamsInfo}. */
export function isUpstreamsInfo(value: unknown): value is UpstreamsInfo {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.default === "string" && Array.isArray(v.upstreams) &&
    v.upstreams.every((u) =>
      typeof u === "object" && u !== null && typeof u.name === "string" && typeof u.host === "string" &&
      typeof u.registry === "string" && typeof u.library === "boolean"
    );
}

const remembered = (url: string) => `tug-upstreams:${url}`;

/**
 * Reads `GET /upstreams` from the proxy at `proxyUrl`. The answer is remembered in `localStorage`, so a
 * short name still means the same image when the proxy cannot be reached (the page then opens it from its
 * cache). Resolves to undefined when the server has no such endpoint (not tug's proxy, or an older one).
 */
export async function fetchUpstreams(proxyUrl: string): Promise<UpstreamsInfo | undefined> {
  const base = proxyUrl.replace(/\/+$/, "");
  let response: Response;
  try {
    response = await fetch(`${base}/upstreams`, { headers: { accept: "application/json" } });
  } catch (err) {
    const kept = readRemembered(base);
    if (kept !== undefined) return kept;
    throw err;
  }
  if (!response.ok) {
    await response.body?.cancel();
    return undefined;
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!isUpstreamsInfo(body)) return undefined;
  try {
    localStorage.setItem(remembered(base), JSON.stringify(body));
  } catch {
    // Storage full or disabled: the answer is only not remembered.
  }
  return body;
}

function readRemembered(base: string): UpstreamsInfo | undefined {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(remembered(base)) ?? "null");
    return isUpstreamsInfo(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
