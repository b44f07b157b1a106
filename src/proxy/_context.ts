// This module is browser compatible.
/**
 * The proxy's state, built once from its options and shared by every route module: the store, the
 * upstreams, the access decisions, the downloads in flight, the counters. Nothing here lives in module
 * scope: each `createProxy()` call gets its own context. Private to the proxy.
 *
 * @module
 */

import type { HasherFactory } from "../digest/hasher.ts";
import { DOCKER_HUB_REGISTRY } from "../registry/lookup_endpoints.ts";
import type { TokenCache } from "../registry/token_cache.ts";
import type { FetchLike } from "../registry/types.ts";
import { PROXY_RETRY_POLICY, type RetryPolicy } from "../registry/retry_policy.ts";
import type { Store } from "../store/types.ts";
import { AccessCache, BoundedMap } from "./_access.ts";
import { type BlobFill, FILL_READ_TIMEOUT } from "./_blob_fill.ts";
import { publicOrigin } from "./_input.ts";
import { Metrics } from "./_metrics.ts";
import { withoutResume } from "./_pull_store.ts";
import { TokenSealer } from "./_token.ts";
import { resolveUpstreams, type Upstream, type UpstreamConfig } from "./_upstream.ts";
import { redirectSettings } from "./_redirect.ts";
import { lruStore } from "./lru_store.ts";

/** Options for {@linkcode createProxy}. */
export interface ProxyOptions {
  /** Where manifests and blobs are cached (MemoryStore, OciLayoutStore, …). */
  store: Store;
  /**
   * The upstream registries by name: a URL or an {@linkcode UpstreamConfig}. Only these are ever
   * contacted. Default: `{ "docker.io": "https://registry-1.docker.io" }`.
   */
  upstreams?: Record<string, string | UpstreamConfig>;
  /** The upstream that serves names without an upstream prefix (default: `docker.io` if configured, else the first). */
  defaultUpstream?: string;
  /** The outbound fetch (default `globalThis.fetch`); every upstream request goes through it. */
  fetch?: FetchLike;
  /**
   * Resolves a host name to its addresses, for the outbound guard: a redirect target or token realm whose
   * name resolves to a loopback, private or other non-public address is refused (the configured upstream
   * itself stays allowed). The core does no DNS; the Deno and Node entry points pass one
   * (`adapters/serve/lookup_host.ts`). Without it only the host as written is checked.
   */
  resolveHost?: (hostname: string) => Promise<readonly string[]>;
  /** The hasher that verifies blobs in flight (default: WebAssembly SHA-256; pass node:crypto's where available). */
  hasher?: HasherFactory;
  /** How long a cached tag is used before it is revalidated with a HEAD upstream, in seconds (default 60). */
  tagTtl?: number;
  /** How long an upstream's "this credential may read this repository" is remembered, in seconds (default 60). */
  accessTtl?: number;
  /** Caps the cached blob bytes, evicting the least recently used (default: no cap). */
  cacheMaxBytes?: number;
  /** Origins allowed to call the proxy from a browser (`"*"` for any); no CORS headers when absent. */
  allowOrigins?: readonly string[] | "*";
  /** The clock in milliseconds since the epoch (default `Date.now`). */
  now?: () => number;
  /** How upstream requests are retried (default `PROXY_RETRY_POLICY`: 2 attempts, 200 ms backoff). */
  retry?: RetryPolicy;
  /**
   * Wraps the upstream fetch (after the proxy's address guard) for every upstream request: to log,
   * count or trace them. It sees each retry attempt, redirect hop and token request.
   */
  transport?: (base: FetchLike) => FetchLike;
  /** The User-Agent sent upstream (default `tug-proxy`). */
  userAgent?: string;
  /** 32 bytes that seal the proxy's client tokens; share it between instances (default: random per instance). */
  tokenSecret?: Uint8Array;
  /**
   * The proxy's address as its clients reach it (`https://mirror.example`): the realm of its token
   * challenge. Default: the origin of the request URL the runtime hands the app, which `serveDeno` and
   * `serveNode` build from the listener's own address; the request's `Host` header is never used.
   */
  publicUrl?: string;
  /**
   * Milliseconds an upstream may send nothing (no answer, or no body bytes) before a blob download is
   * aborted and its clients get an error (default 30 000, Docker's read timeout; 0: none).
   */
  readTimeout?: number;
  /**
   * Free the memory of each upstream chunk of a blob download as soon as every client streaming it has read
   * past it, instead of leaving it to the garbage collector (which lets about 64 MiB of them pile up; see
   * `BlobFillOptions.release`). Set it only when every response body is read by a server that takes its
   * own reference to each chunk as it reads it: `Deno.serve` (`serveDeno`, `tug serve` on Deno) does. Not
   * when bodies are read in JavaScript (`await response.arrayBuffer()` on `app.fetch()`'s answer, Node's
   * server): such a reader would find earlier chunks emptied. Default false.
   */
  releaseChunks?: boolean;
  /**
   * Bytes of recent chunks a blob download keeps in memory for the clients that stream it (default
   * 4 MiB). Clients further behind read the store back (a store that can) or pace
   * the download (one that cannot). `tug serve` over a folder store uses 1 MiB: 8 clients on a cold 250 MB
   * blob peaked ~5 MiB lower than with 4 MiB, in the same time (docs/performance.md, "Proxy memory").
   */
  fillWindow?: number;
  /**
   * Pace a blob download whose store cannot read the blob back before its commit (an object store, a store
   * that did not take the blob) to its slowest client, so every client streams it from the download's window
   * (see `BlobFill`). Default true. `false` (the workerd entry): such a download runs at the upstream's speed,
   * clients behind its window wait for the commit and read the committed blob, and a download the store did
   * not take keeps every chunk until it ends.
   */
  paceFills?: boolean;
  /**
   * Bytes: a blob larger than this (by the upstream's Content-Length) is neither cached nor shared. Each
   * client's GET streams an upstream GET of its own straight through, verified in flight (a blob that fails
   * its check aborts that client's response), holding about one chunk; so such a blob costs one upstream GET
   * per client instead of one for all. For a proxy whose cache is its own memory (the workerd worker without
   * an R2 binding), which a shared download of a large blob would fill. Not with a store shared by processes
   * (`Store.leases`), where the one download for the fleet is the point. Default: none (every blob is shared
   * and cached).
   */
  streamThroughAbove?: number;
  /**
   * Answer a GET of a cached blob, once the access decision allowed the caller, with a 307 to a presigned
   * URL of its object (`true`: valid 20 minutes, distribution's default; `{ expiresIn }` in seconds): the
   * client fetches the bytes from the bucket, none go through the proxy. Needs a store with blob URLs
   * (`s3Store`; not an R2 binding, a folder or memory). HEAD, manifests and blobs still filling are served
   * by the proxy. Default off. See docs/proxy.md, "Redirects to the object store".
   */
  redirect?: boolean | { expiresIn?: number };
  /**
   * Told of every error the proxy answers with a 500 (the store failed, a bug): the client gets the message,
   * and whoever runs the proxy needs it too. Default: one line on the console
   * (`tug proxy: 500 for GET /v2/…: <message>`), as servers log their internal errors.
   */
  onError?: (error: unknown, request: Request) => void;
}

/** The default {@linkcode ProxyOptions.onError}: one line on the console per 500. */
function logInternalError(error: unknown, request: Request): void {
  const url = new URL(request.url);
  console.error(
    `tug proxy: 500 for ${request.method} ${url.pathname}: ${error instanceof Error ? error.message : error}`,
  );
}

/** Everything the route modules share (see createContext). */
export interface ProxyContext {
  readonly now: () => number;
  readonly metrics: Metrics;
  /** The configured upstreams by name. */
  readonly upstreams: ReadonlyMap<string, Upstream>;
  /** Upstreams by name, host and reference host (names win over hosts). */
  readonly byAlias: ReadonlyMap<string, Upstream>;
  /** The upstream of names without an upstream prefix. */
  readonly defaultUpstream: Upstream;
  /** The cache (LRU-capped when `cacheMaxBytes` is set). */
  readonly store: Store;
  /** The store the proxy's pulls write to: never resumes a partial write another upstream left. */
  readonly pullStore: Store;
  /** Milliseconds a checked tag is answered from the cache. */
  readonly tagTtl: number;
  readonly access: AccessCache;
  readonly retry: RetryPolicy;
  readonly transport?: (base: FetchLike) => FetchLike;
  readonly userAgent: string;
  readonly tokens: TokenSealer;
  /** When each `key:tag` was last checked upstream (by anyone). */
  readonly tagChecked: BoundedMap<string, number>;
  /** Token caches by upstream and caller key (see tokenCacheFor). */
  readonly tokenCaches: BoundedMap<string, TokenCache>;
  /**
   * In-flight downloads by upstream AND digest (see fillKey): bytes still unverified belong to the
   * upstream that sends them, so a client of one upstream never streams (or reads back) another
   * upstream's download. Only verified, committed blobs are shared through the content-addressed store.
   */
  readonly fills: Map<string, Promise<BlobFill>>;
  /** Milliseconds an upstream may stay silent (0: no limit). */
  readonly readTimeout: number;
  /** The configured public origin, if any. */
  readonly publicUrl?: string;
  readonly hasher?: HasherFactory;
  /** Fills free upstream chunks once their clients read past them (see ProxyOptions.releaseChunks). */
  readonly releaseChunks: boolean;
  /** Bytes a fill keeps in memory (see ProxyOptions.fillWindow); undefined: BlobFill's default. */
  readonly fillWindow?: number;
  /** Fills over a store that cannot read back are paced to their slowest client (see ProxyOptions.paceFills). */
  readonly paceFills: boolean;
  /** Blobs larger than this are streamed to each client from its own GET (see ProxyOptions.streamThroughAbove). */
  readonly streamThroughAbove?: number;
  /** Told of every error answered with a 500 (see ProxyOptions.onError). */
  readonly onError: (error: unknown, request: Request) => void;
  /** Cached blob GETs are redirected to the store's presigned URLs, valid `expiresIn` seconds (off: undefined). */
  readonly redirect?: { readonly expiresIn: number };
}

/** Builds the context of one proxy; throws a TypeError for options that cannot work. */
export function createContext(options: ProxyOptions): ProxyContext {
  const now = options.now ?? Date.now;
  const metrics = new Metrics();
  const countingFetch: FetchLike = (request) => {
    metrics.upstreamRequests++;
    return (options.fetch ?? ((r: Request) => globalThis.fetch(r)))(request);
  };
  const upstreams = resolveUpstreams(
    options.upstreams ?? { "docker.io": DOCKER_HUB_REGISTRY },
    countingFetch,
    options.resolveHost,
  );
  if (upstreams.size === 0) throw new TypeError("createProxy() needs at least one upstream");
  const defaultName = options.defaultUpstream ??
    (upstreams.has("docker.io") ? "docker.io" : [...upstreams.keys()][0]);
  const defaultUpstream = upstreams.get(defaultName);
  if (defaultUpstream === undefined) {
    throw new TypeError(`The default upstream "${defaultName}" is not one of the configured upstreams`);
  }
  const store = options.cacheMaxBytes === undefined
    ? options.store
    : lruStore(options.store, { maxBytes: options.cacheMaxBytes });
  // Checked against the store the routes read (a size cap passes the store's URLs on).
  const redirect = redirectSettings(options.redirect, store.blobs);
  const readTimeout = options.readTimeout ?? FILL_READ_TIMEOUT;
  if (!Number.isFinite(readTimeout) || readTimeout < 0) {
    throw new TypeError(`readTimeout must be a non-negative number of milliseconds, got ${readTimeout}`);
  }
  if (
    options.fillWindow !== undefined && !(Number.isSafeInteger(options.fillWindow) && options.fillWindow > 0)
  ) {
    throw new TypeError(`fillWindow must be a positive whole number of bytes, got ${options.fillWindow}`);
  }
  const publicUrl = options.publicUrl === undefined ? undefined : publicOrigin(options.publicUrl);
  const streamThroughAbove = options.streamThroughAbove;
  if (
    streamThroughAbove !== undefined && (!Number.isSafeInteger(streamThroughAbove) || streamThroughAbove < 0)
  ) {
    throw new TypeError(
      `streamThroughAbove must be a non-negative number of bytes, got ${streamThroughAbove}`,
    );
  }
  if (streamThroughAbove !== undefined && store.leases !== undefined) {
    throw new TypeError(
      "streamThroughAbove is for a store of one process: over a store shared by processes (leases), every " +
        "blob is downloaded once for all of them",
    );
  }
  const byAlias = new Map<string, Upstream>();
  for (const u of upstreams.values()) {
    byAlias.set(u.host, u);
    byAlias.set(u.refHost, u);
  }
  for (const u of upstreams.values()) byAlias.set(u.name, u);
  return {
    now,
    metrics,
    upstreams,
    byAlias,
    defaultUpstream,
    store,
    pullStore: withoutResume(store),
    tagTtl: (options.tagTtl ?? 60) * 1000,
    access: new AccessCache((options.accessTtl ?? 60) * 1000, now),
    retry: options.retry ?? PROXY_RETRY_POLICY,
    ...(options.transport !== undefined ? { transport: options.transport } : {}),
    userAgent: options.userAgent ?? "tug-proxy",
    tokens: new TokenSealer(now, 15 * 60 * 1000, options.tokenSecret),
    tagChecked: new BoundedMap<string, number>(100_000),
    tokenCaches: new BoundedMap<string, TokenCache>(10_000),
    fills: new Map(),
    readTimeout,
    ...(publicUrl !== undefined ? { publicUrl } : {}),
    ...(options.hasher ? { hasher: options.hasher } : {}),
    releaseChunks: options.releaseChunks ?? false,
    ...(options.fillWindow !== undefined ? { fillWindow: options.fillWindow } : {}),
    paceFills: options.paceFills ?? true,
    ...(streamThroughAbove !== undefined ? { streamThroughAbove } : {}),
    onError: options.onError ?? logInternalError,
    ...(redirect !== undefined ? { redirect } : {}),
  };
}

/** The proxy's token challenge: its realm is the configured public URL, else the request URL's origin. */
export function challengeFor(ctx: ProxyContext, request: Request): string {
  // The request URL's origin is built by the runtime adapters from the listener's address, never from the
  // client's Host header (a hostile Host would pick the realm the client sends its credentials to).
  const origin = ctx.publicUrl ?? new URL(request.url).origin;
  return `Bearer realm="${origin}/token",service="tug-proxy"`;
}

/**
 * A body for a client, counted in the metrics. With a known length its bytes are counted up front: no
 * extra stream stage on the hot path.
 */
export function clientBody(
  ctx: ProxyContext,
  stream: ReadableStream<Uint8Array>,
  length?: number,
): ReadableStream<Uint8Array> {
  if (length === undefined) return stream.pipeThrough(ctx.metrics.countClientBytes());
  ctx.metrics.clientBytes += length;
  return stream;
}
