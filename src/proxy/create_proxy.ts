// This module is browser compatible.
/**
 * tug's pull-through registry proxy: a Hono app (`Request → Response`) with its storage and its outbound
 * fetch injected, so the same app runs on Deno, Node and edge runtimes.
 *
 * @module
 */

import { Hono } from "hono";
import { cors } from "hono/cors";
import { TugError } from "../errors.ts";
import { digestBytes } from "../digest/digest_bytes.ts";
import type { DigestAlgorithm, HasherFactory } from "../digest/hasher.ts";
import type { Descriptor } from "../manifest/types.ts";
import { DEFAULT_MANIFEST_ACCEPT, RegistryClient } from "../registry/registry_client.ts";
import { createRegistryFetch } from "../registry/create_registry_fetch.ts";
import { TokenCache } from "../registry/token_cache.ts";
import type { Credentials, FetchLike } from "../registry/types.ts";
import type { RetryOptions } from "../registry/with_retry.ts";
import type { Store } from "../store/types.ts";
import { pull } from "../pull/pull.ts";
import { AccessCache, BoundedMap, type ReadScope } from "./_access.ts";
import { BlobFill, FILL_READ_TIMEOUT } from "./_blob_fill.ts";
import { answerWithin } from "./_deadline.ts";
import { withIdleLimit } from "../streams/idle_timer.ts";
import {
  checkBlobDigest,
  checkManifestReference,
  digestProblem,
  publicOrigin,
  tagProblem,
} from "./_input.ts";
import { Metrics } from "./_metrics.ts";
import { withoutResume } from "./_pull_store.ts";
import {
  checkRangeAnswer,
  exactLength,
  type OpenRange,
  parseOpenRange,
  parseRange,
  rangeHeader,
} from "./_range.ts";
import {
  API_VERSION_HEADER,
  clientInputResponse,
  errorResponse,
  isUpstreamDown,
  statusOf,
  upstreamErrorResponse,
} from "./_responses.ts";
import { TokenSealer } from "./_token.ts";
import { resolveUpstreams, type Upstream, type UpstreamConfig } from "./_upstream.ts";
import { lruStore } from "./lru_store.ts";

export type { UpstreamConfig } from "./_upstream.ts";

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
  /** How upstream requests are retried (default: 2 attempts, 200 ms backoff). */
  retry?: RetryOptions;
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
}

/** Where a /v2/ request goes. */
interface Target {
  readonly upstream: Upstream;
  /** The repository upstream, e.g. `library/alpine`. */
  readonly repo: string;
  /** `refHost/repo`: the canonical name, the key of references, grants and membership. */
  readonly key: string;
}

/** Who asks: the credentials sent upstream and a key that identifies them without holding them. */
interface Caller {
  readonly credentials?: Credentials;
  readonly key: string;
}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
// A Range on a miss that starts this close to the beginning (or, while a fill runs, to the bytes it has
// received) is served from the fill (its bytes come soon); further in, it is forwarded upstream so the
// client does not wait for the bytes before it.
const RANGE_FROM_FILL = 4 * 1024 * 1024;
const STALE_WARNING = '110 tug "Response is Stale"';
const EXPOSED_HEADERS = [
  "Docker-Content-Digest",
  "WWW-Authenticate",
  "Content-Range",
  "Content-Length",
  "Link",
  "Docker-Distribution-Api-Version",
  "Warning",
];

const hex = (bytes: ArrayBuffer) =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

function mediaTypeOf(bytes: Uint8Array): string | undefined {
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as {
      mediaType?: unknown;
      schemaVersion?: unknown;
    };
    if (typeof json.mediaType === "string") return json.mediaType;
    if (json.schemaVersion === 1) return "application/vnd.docker.distribution.manifest.v1+prettyjws";
  } catch {
    // not JSON: no media type to find
  }
  return undefined;
}

function acceptList(header: string | null): readonly string[] {
  if (header === null || header.trim() === "") return DEFAULT_MANIFEST_ACCEPT;
  const types = header.split(",").map((t) => t.split(";")[0].trim()).filter(Boolean);
  return types.length > 0 ? types : DEFAULT_MANIFEST_ACCEPT;
}

/** Whether a cached manifest of `mediaType` may answer a request with this `Accept`. */
function acceptable(header: string | null, mediaType: string): boolean {
  if (header === null || header.trim() === "") return true;
  const types = acceptList(header);
  return types.includes(mediaType) || types.includes("*/*");
}

/**
 * Creates the proxy app. It answers the OCI distribution spec's read API under `/v2/` from its store,
 * filling it from the configured upstreams, plus `/token` (its own token endpoint), `POST /images/create`
 * (Docker Engine's pull, streaming jsonmessage lines), `/healthz` and `/metrics` (Prometheus text).
 *
 * Names: `/v2/<name>/…` goes to the default upstream (Docker Hub gets `library/` for single names);
 * `/v2/<upstream-name-or-host>/<repo>/…` and containerd's `?ns=<host>` pick another configured upstream.
 * A name that starts with an unconfigured host is refused before any connection.
 *
 * Caching: manifests by digest and blobs are kept; tags are revalidated with a HEAD upstream after
 * `tagTtl`, and served stale (with a `Warning`) when the upstream is down. A blob missing from the store
 * is fetched upstream once however many clients ask; every client streams from that one download as its
 * bytes arrive, verified in flight and committed only when its digest matched.
 *
 * Verification: no client receives a complete blob that failed its digest check. A download is shared
 * only by clients of the same upstream, holds its last chunk back until verified, errors (never ends
 * cleanly) when the check fails, and is aborted when the upstream sends nothing for `readTimeout`. A
 * Range far into an uncached blob is forwarded and relayed only as the 206 of exactly that range; an
 * upstream that answers it with the whole blob (200) has it filled and verified like any other.
 *
 * Privacy: content is served from the cache only after the upstream confirmed that this client's
 * credentials (or anonymous access) may read the repository and that the content belongs to it.
 *
 * All state (fills, grants, counters, tokens) lives in the returned app, never in module scope.
 *
 * @example A proxy in front of a stand-in upstream, in memory
 * ```ts
 * import { createProxy } from "./create_proxy.ts";
 * import { MemoryStore } from "../store/memory_store.ts";
 *
 * const app = createProxy({
 *   store: new MemoryStore(),
 *   upstreams: { hub: "https://registry.example" },
 *   fetch: () => Promise.resolve(new Response(null, { status: 404 })),
 * });
 * const res = await app.fetch(new Request("http://proxy.test/healthz"));
 * console.assert((await res.text()) === "ok");
 * const refused = await app.fetch(new Request("http://proxy.test/v2/evil.example/x/manifests/latest"));
 * console.assert(refused.status === 403);
 * await refused.body?.cancel();
 * ```
 */
export function createProxy(options: ProxyOptions): Hono {
  const now = options.now ?? Date.now;
  const metrics = new Metrics();
  const countingFetch: FetchLike = (request) => {
    metrics.upstreamRequests++;
    return (options.fetch ?? ((r: Request) => globalThis.fetch(r)))(request);
  };
  const upstreams = resolveUpstreams(
    options.upstreams ?? { "docker.io": "https://registry-1.docker.io" },
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
  const tagTtl = (options.tagTtl ?? 60) * 1000;
  const access = new AccessCache((options.accessTtl ?? 60) * 1000, now);
  const retry: RetryOptions = options.retry ?? { attempts: 2, baseDelay: 200 };
  const userAgent = options.userAgent ?? "tug-proxy";
  const tokens = new TokenSealer(now, 15 * 60 * 1000, options.tokenSecret);
  const tagChecked = new BoundedMap<string, number>(100_000);
  const tokenCaches = new BoundedMap<string, TokenCache>(10_000);
  // In-flight downloads by upstream AND digest: bytes still unverified belong to the upstream that sends
  // them, so a client of one upstream never streams (or reads back) another upstream's download. Only
  // verified, committed blobs are shared through the content-addressed store.
  const fills = new Map<string, Promise<BlobFill>>();
  const fillKey = (target: Target, digest: string) => `${target.upstream.name}\n${digest}`;
  // The proxy's pulls never resume a partial write another upstream (or a dead process) left.
  const pullStore = withoutResume(store);
  const readTimeout = options.readTimeout ?? FILL_READ_TIMEOUT;
  if (!Number.isFinite(readTimeout) || readTimeout < 0) {
    throw new TypeError(`readTimeout must be a non-negative number of milliseconds, got ${readTimeout}`);
  }
  const publicUrl = options.publicUrl === undefined ? undefined : publicOrigin(options.publicUrl);
  const byAlias = new Map<string, Upstream>();
  for (const u of upstreams.values()) {
    byAlias.set(u.host, u);
    byAlias.set(u.refHost, u);
  }
  for (const u of upstreams.values()) byAlias.set(u.name, u);

  // ---- helpers -------------------------------------------------------------------------------------

  const challengeFor = (request: Request): string => {
    // The configured public URL, else the request URL's origin: the runtime adapters build it from the
    // listener's address, never from the client's Host header (a hostile Host would pick the realm the
    // client sends its credentials to).
    const origin = publicUrl ?? new URL(request.url).origin;
    return `Bearer realm="${origin}/token",service="tug-proxy"`;
  };

  const refuse = (host: string): Response => {
    metrics.refused++;
    return errorResponse(
      403,
      "DENIED",
      `The upstream "${host}" is not configured on this proxy; configured: ${
        [...upstreams.keys()].join(", ")
      }`,
    );
  };

  /** Finds the upstream and repository of a /v2/ name (see createProxy's doc). */
  const resolveTarget = (name: string, ns: string | null): Target | Response => {
    let upstream: Upstream | undefined;
    let repo = name;
    if (ns !== null) {
      upstream = byAlias.get(ns);
      if (upstream === undefined) return refuse(ns);
    } else {
      const slash = name.indexOf("/");
      const first = slash < 0 ? "" : name.slice(0, slash);
      const named = first === "" ? undefined : byAlias.get(first);
      if (named !== undefined) {
        upstream = named;
        repo = name.slice(slash + 1);
      } else if (first.includes(".") || first.includes(":") || first === "localhost") {
        // Docker's rule: a first component with a dot or a port, or localhost, names a registry host.
        return refuse(first);
      } else {
        upstream = defaultUpstream;
      }
    }
    if (upstream.library && !repo.includes("/")) repo = `library/${repo}`;
    if (!REPOSITORY.test(repo) || repo.length > 255) {
      return errorResponse(400, "NAME_INVALID", `Invalid repository name "${repo}"`);
    }
    return { upstream, repo, key: `${upstream.refHost}/${repo}` };
  };

  /** The caller's credentials: a proxy token, Basic credentials, the upstream's own, or anonymous. */
  const callerOf = async (request: Request, upstream: Upstream | undefined): Promise<Caller | Response> => {
    const header = request.headers.get("authorization");
    let credentials: { username: string; password: string } | undefined;
    if (header !== null && /^basic /i.test(header)) {
      let decoded: string;
      try {
        decoded = new TextDecoder().decode(
          Uint8Array.from(atob(header.slice(6).trim()), (c) => c.charCodeAt(0)),
        );
      } catch {
        return errorResponse(401, "UNAUTHORIZED", "Malformed Basic credentials", {
          "www-authenticate": challengeFor(request),
        });
      }
      const colon = decoded.indexOf(":");
      const username = colon < 0 ? decoded : decoded.slice(0, colon);
      const password = colon < 0 ? "" : decoded.slice(colon + 1);
      if (username !== "") credentials = { username, password };
    } else if (header !== null && /^bearer /i.test(header)) {
      const opened = await tokens.open(header.slice(7).trim());
      if (opened === undefined) {
        return errorResponse(401, "UNAUTHORIZED", "The token is invalid or expired", {
          "www-authenticate": challengeFor(request),
        });
      }
      if (opened !== null && "username" in opened) credentials = opened;
    }
    if (credentials !== undefined) {
      const digest = await crypto.subtle.digest(
        "SHA-256",
        new TextEncoder().encode(`${credentials.username}\0${credentials.password}`),
      );
      return { credentials, key: `basic:${hex(digest)}` };
    }
    if (upstream?.credentials !== undefined) return { credentials: upstream.credentials, key: "operator" };
    return { key: "anonymous" };
  };

  const tokenCacheFor = (upstream: Upstream, caller: Caller): TokenCache => {
    // One token cache per (upstream, credentials): tokens of different callers never mix, even for one user
    // name sent with different passwords.
    const key = `${upstream.name}\n${caller.key}`;
    let cache = tokenCaches.get(key);
    if (cache === undefined) {
      cache = new TokenCache({ now });
      tokenCaches.set(key, cache);
    }
    return cache;
  };

  const clientFor = (target: Target, caller: Caller): RegistryClient =>
    new RegistryClient({
      registry: target.upstream.url,
      repository: target.repo,
      fetch: target.upstream.fetch,
      ...(caller.credentials !== undefined ? { credentials: caller.credentials } : {}),
      tokenCache: tokenCacheFor(target.upstream, caller),
      retry,
      userAgent,
    });

  /** The upstream's fetch with auth, retries and user agent, for requests the RegistryClient does not make. */
  const transportFor = (target: Target, caller: Caller) =>
    createRegistryFetch({
      fetch: target.upstream.fetch,
      ...(caller.credentials !== undefined ? { credentials: caller.credentials } : {}),
      tokenCache: tokenCacheFor(target.upstream, caller),
      retry,
      userAgent,
    });

  /** Who reads where: the key of every access decision (see AccessCache). */
  const scopeOf = (target: Target, caller: Caller): ReadScope => ({
    caller: caller.key,
    repository: target.key,
  });

  /**
   * Records an upstream refusal of this caller and turns the error into the client's answer. A 401/403 (or a
   * 404 for a tag or the repository) ends the caller's grant and every confirmation under it; a 404 for
   * `digest`, the upstream's own answer for this repository's content, ends every caller's confirmation of
   * that digest there (GHSA-f2g3-hh2r-cwgc) and leaves the caller's other confirmations alone.
   */
  const refused = (
    err: unknown,
    request: Request,
    target: Target,
    caller: Caller,
    digest?: string,
  ): Response => {
    const status = statusOf(err);
    if (
      status === 401 || status === 403 || (status === 404 && digest === undefined) ||
      (err instanceof TugError && err.code === "AUTH_FAILED")
    ) {
      access.revoke(scopeOf(target, caller));
    }
    if (status === 404 && digest !== undefined) access.gone(target.key, digest);
    return upstreamErrorResponse(err, challengeFor(request));
  };

  const v2Headers = (extra: Record<string, string>): Headers => {
    const headers = new Headers(extra);
    headers.set(API_VERSION_HEADER, "registry/2.0");
    return headers;
  };

  // With a known length the answer's bytes are counted up front: no extra stream stage on the hot path.
  const body = (stream: ReadableStream<Uint8Array>, length?: number): ReadableStream<Uint8Array> => {
    if (length === undefined) return stream.pipeThrough(metrics.countClientBytes());
    metrics.clientBytes += length;
    return stream;
  };

  // ---- manifests -----------------------------------------------------------------------------------

  const serveManifest = async (
    descriptor: Descriptor,
    head: boolean,
    extra: Record<string, string> = {},
  ): Promise<Response> => {
    const headers = v2Headers({
      "content-type": descriptor.mediaType,
      "content-length": String(descriptor.size),
      "docker-content-digest": descriptor.digest,
      etag: `"${descriptor.digest}"`,
      ...extra,
    });
    if (head) return new Response(null, { headers });
    const stream = await store.blobs.get(descriptor.digest);
    return new Response(body(stream, descriptor.size), { headers });
  };

  const cachedManifest = async (name: string, accept: string | null): Promise<Descriptor | undefined> => {
    const descriptor = await store.references.get(name);
    if (descriptor === undefined || !acceptable(accept, descriptor.mediaType)) return undefined;
    return (await store.blobs.stat(descriptor.digest)) === undefined ? undefined : descriptor;
  };

  /** A cached manifest's bytes (capped when stored), for the confirmations its typed fields carry. */
  const storedManifest = async (descriptor: Descriptor): Promise<Uint8Array | undefined> => {
    try {
      return new Uint8Array(await new Response(await store.blobs.get(descriptor.digest)).arrayBuffer());
    } catch {
      return undefined; // evicted meanwhile: the children are confirmed one by one when asked for
    }
  };

  /** The upstream confirmed the cached manifest `descriptor` for the caller: it and its typed children. */
  const confirmStored = async (target: Target, caller: Caller, descriptor: Descriptor) => {
    const bytes = await storedManifest(descriptor);
    if (bytes === undefined) access.confirm(scopeOf(target, caller), descriptor.digest);
    else access.confirmManifest(scopeOf(target, caller), descriptor.digest, bytes);
  };

  /** GET of a manifest upstream: verified, stored (blob, digest reference, tag reference), answered. */
  const fetchManifest = async (
    request: Request,
    target: Target,
    caller: Caller,
    reference: string,
  ): Promise<Response> => {
    const accept = request.headers.get("accept");
    const client = clientFor(target, caller);
    let manifest;
    try {
      manifest = await client.getManifest(reference, { accept: acceptList(accept) });
    } catch (err) {
      return refused(err, request, target, caller, DIGEST.test(reference) ? reference : undefined);
    }
    access.grant(scopeOf(target, caller));
    metrics.cacheMisses.manifest++;
    const isDigest = DIGEST.test(reference);
    const algorithm = (isDigest ? reference.split(":")[0] : "sha256") as DigestAlgorithm;
    let digest: string;
    try {
      digest = await digestBytes(manifest.bytes, algorithm);
    } catch {
      return errorResponse(400, "DIGEST_INVALID", `Unsupported digest "${reference}"`);
    }
    const announced = manifest.digestHeader;
    if (
      (isDigest && digest !== reference) ||
      (!isDigest && announced?.startsWith("sha256:") && announced !== digest)
    ) {
      return errorResponse(
        502,
        "MANIFEST_UNVERIFIED",
        `The upstream's manifest for "${target.key}" hashes to ${digest}, not ${
          isDigest ? reference : announced
        }`,
      );
    }
    const mediaType = manifest.contentType || mediaTypeOf(manifest.bytes) ||
      "application/vnd.docker.distribution.manifest.v1+prettyjws";
    const descriptor: Descriptor = { mediaType, digest, size: manifest.bytes.byteLength };
    // Served to this caller from this repository: the manifest and its typed children are confirmed.
    access.confirmManifest(scopeOf(target, caller), digest, manifest.bytes);
    try {
      if ((await store.blobs.stat(digest)) === undefined) {
        const writer = await store.blobs.writer({ digest, size: manifest.bytes.byteLength });
        await writer.write(manifest.bytes);
        await writer.commit();
      }
      await store.references.set(`${target.key}@${digest}`, descriptor);
      if (!isDigest) {
        await store.references.set(`${target.key}:${reference}`, descriptor);
        tagChecked.set(`${target.key}:${reference}`, now());
      }
    } catch {
      // A concurrent writer of the same manifest, or a full store: the answer does not depend on it.
    }
    const headers = v2Headers({
      "content-type": mediaType,
      "content-length": String(manifest.bytes.byteLength),
      "docker-content-digest": digest,
      etag: `"${digest}"`,
    });
    if (request.method === "HEAD") return new Response(null, { headers });
    metrics.clientBytes += manifest.bytes.byteLength;
    return new Response(manifest.bytes as Uint8Array<ArrayBuffer>, { headers });
  };

  const manifests = async (request: Request, target: Target, caller: Caller, reference: string) => {
    const invalid = checkManifestReference(reference);
    if (invalid) return invalid;
    const head = request.method === "HEAD";
    const accept = request.headers.get("accept");
    const client = clientFor(target, caller);
    if (DIGEST.test(reference)) {
      const cached = await cachedManifest(`${target.key}@${reference}`, accept);
      if (cached === undefined) return fetchManifest(request, target, caller, reference);
      // Content by digest never changes: with the upstream down, a caller confirmed before still gets it.
      const decision = await access.authorize(
        scopeOf(target, caller),
        reference,
        async () => {
          await client.headManifest(reference, { accept: acceptList(accept) });
          return await storedManifest(cached);
        },
        isUpstreamDown,
      );
      if (!decision.ok) return refused(decision.error, request, target, caller, reference);
      metrics.cacheHits.manifest++;
      return serveManifest(cached, head);
    }
    if (!TAG.test(reference)) return errorResponse(400, "TAG_INVALID", `Invalid tag "${reference}"`);
    const tagName = `${target.key}:${reference}`;
    const cached = await cachedManifest(tagName, accept);
    const checked = tagChecked.get(tagName);
    // A tag is answered from the cache only while the tag was checked recently (by anyone) and this caller
    // holds a fresh confirmation of the manifest it names; else the upstream is asked with its credentials.
    if (
      cached !== undefined && checked !== undefined && now() - checked < tagTtl &&
      access.mayRead(scopeOf(target, caller), cached.digest)
    ) {
      metrics.cacheHits.manifest++;
      return serveManifest(cached, head);
    }
    // Revalidate with a HEAD: Docker Hub does not count HEAD requests against the pull limit.
    let found;
    try {
      found = await client.headManifest(reference, { accept: acceptList(accept) });
    } catch (err) {
      if (
        isUpstreamDown(err) && cached !== undefined &&
        access.mayRead(scopeOf(target, caller), cached.digest, true)
      ) {
        metrics.staleServed++;
        metrics.cacheHits.manifest++;
        return serveManifest(cached, head, { warning: STALE_WARNING });
      }
      return refused(err, request, target, caller);
    }
    access.grant(scopeOf(target, caller));
    if (found.digest !== undefined) {
      if (cached !== undefined && cached.digest === found.digest) {
        tagChecked.set(tagName, now());
        await confirmStored(target, caller, cached);
        metrics.cacheHits.manifest++;
        return serveManifest(cached, head);
      }
      const byDigest = await cachedManifest(`${target.key}@${found.digest}`, accept);
      if (byDigest !== undefined) {
        await store.references.set(tagName, byDigest).catch(() => {});
        tagChecked.set(tagName, now());
        await confirmStored(target, caller, byDigest);
        metrics.cacheHits.manifest++;
        return serveManifest(byDigest, head);
      }
      if (head && found.contentType !== undefined && found.size !== undefined) {
        // A HEAD on a miss is answered from the upstream's HEAD; the GET by digest that follows fills.
        access.confirm(scopeOf(target, caller), found.digest);
        return new Response(null, {
          headers: v2Headers({
            "content-type": found.contentType,
            "content-length": String(found.size),
            "docker-content-digest": found.digest,
          }),
        });
      }
    }
    return fetchManifest(request, target, caller, reference);
  };

  // ---- blobs ---------------------------------------------------------------------------------------

  const blobHeaders = (digest: string, size: number, range?: { start: number; end: number }) =>
    v2Headers({
      "content-type": "application/octet-stream",
      "docker-content-digest": digest,
      "accept-ranges": "bytes",
      etag: `"${digest}"`,
      "content-length": String(range ? range.end - range.start : size),
      ...(range ? { "content-range": `bytes ${range.start}-${range.end - 1}/${size}` } : {}),
    });

  /** Answers a blob request from a source that can read any range once the size is known. */
  const serveBlob = async (
    request: Request,
    digest: string,
    size: number,
    read: (
      range?: { start: number; end: number },
    ) => ReadableStream<Uint8Array> | Promise<ReadableStream<Uint8Array>>,
  ): Promise<Response> => {
    const range = parseRange(request.headers.get("range"), size);
    if (range === "unsatisfiable") {
      return errorResponse(416, "BLOB_UNKNOWN", `Range not satisfiable for a blob of ${size} bytes`, {
        "content-range": `bytes */${size}`,
      });
    }
    const headers = blobHeaders(digest, size, range);
    if (request.method === "HEAD") return new Response(null, { status: range ? 206 : 200, headers });
    return new Response(body(await read(range), range ? range.end - range.start : size), {
      status: range ? 206 : 200,
      headers,
    });
  };

  /** An upstream answer within `readTimeout` (see answerWithin). */
  const answeredWithin = <T>(
    what: string,
    send: (signal?: AbortSignal) => Promise<T>,
    discard: (late: T) => void,
  ) => answerWithin(readTimeout, what, send, discard);

  /**
   * Starts the one download of a blob from this target's upstream (`opened`: its whole-blob answer, when
   * one already came). Fills are keyed by upstream and digest (see `fills`).
   */
  const startFill = (
    target: Target,
    caller: Caller,
    digest: string,
    opened?: { body: ReadableStream<Uint8Array>; size?: number },
  ): Promise<BlobFill> => {
    const key = fillKey(target, digest);
    const pending = (async () => {
      const blob = opened ??
        await answeredWithin(
          `Cannot fetch blob "${target.key}@${digest}"`,
          async (signal) => {
            const answer = await clientFor(target, caller).getBlob(digest, signal ? { signal } : {});
            if (answer.status !== 200) {
              // Nothing but the whole blob can be filled (a 206 here answers a request without a Range).
              answer.body.cancel().catch(() => {});
              throw new TugError(
                "UNEXPECTED_STATUS",
                `The upstream answered a request for the whole blob "${digest}" with ${answer.status}`,
                { detail: { status: 502, errors: [] } },
              );
            }
            return answer;
          },
          (late) => late.body.cancel().catch(() => {}),
        );
      if (blob.size === undefined) {
        blob.body.cancel().catch(() => {});
        throw new TugError(
          "UNEXPECTED_STATUS",
          `The upstream sent blob "${digest}" without a Content-Length`,
          {
            detail: { status: 502, errors: [] },
          },
        );
      }
      access.confirm(scopeOf(target, caller), digest);
      metrics.cacheMisses.blob++;
      metrics.fillsInFlight++;
      const fill = BlobFill.start({
        digest,
        size: blob.size,
        body: blob.body,
        blobs: store.blobs,
        ...(options.hasher ? { hasher: options.hasher } : {}),
        onBytes: (n) => metrics.upstreamBytes += n,
        readTimeout,
      });
      fill.done.then(
        () => {},
        () => metrics.fillsFailed++,
      ).finally(() => {
        metrics.fillsInFlight--;
        if (fills.get(key) === pending) fills.delete(key);
      });
      return fill;
    })();
    fills.set(key, pending);
    pending.catch(() => {
      if (fills.get(key) === pending) fills.delete(key);
    });
    return pending;
  };

  const blobs = async (
    request: Request,
    target: Target,
    caller: Caller,
    digest: string,
    defer: (work: Promise<unknown>) => void,
  ) => {
    const invalid = checkBlobDigest(digest);
    if (invalid) return invalid;
    /** The access decision (a HEAD upstream with the caller's credentials unless confirmed); undefined: serve. */
    const check = async (allowIfDown: boolean): Promise<Response | undefined> => {
      const decision = await access.authorize(
        scopeOf(target, caller),
        digest,
        () => headBlob(target, caller, digest).then(() => {}),
        (err) => allowIfDown && isUpstreamDown(err),
      );
      return decision.ok ? undefined : refused(decision.error, request, target, caller, digest);
    };

    const key = fillKey(target, digest);
    let pending = fills.get(key);
    if (pending === undefined) {
      const info = await store.blobs.stat(digest);
      if (info !== undefined) {
        const denied = await check(true);
        if (denied) return denied;
        metrics.cacheHits.blob++;
        return serveBlob(
          request,
          digest,
          info.size,
          (range) => store.blobs.get(digest, range && { start: range.start, end: range.end }),
        );
      }
      pending = fills.get(key);
    }
    const wanted = parseOpenRange(request.headers.get("range"));
    if (request.method === "HEAD" && pending === undefined) {
      // A HEAD on a miss: the upstream's answer is relayed; nothing to fill yet.
      try {
        const info = await headBlob(target, caller, digest);
        access.confirm(scopeOf(target, caller), digest);
        return new Response(null, { headers: blobHeaders(digest, info.size) });
      } catch (err) {
        return refused(err, request, target, caller, digest);
      }
    }
    if (pending === undefined && wanted !== undefined && wanted.start >= RANGE_FROM_FILL) {
      // Far into a blob nobody is downloading: forward the range, and fill the cache alongside (unless the
      // upstream's answer to the range already started the fill).
      const forwarded = await forwardRange(request, target, caller, digest, wanted, defer);
      if (forwarded.status === 206 && !fills.has(key)) {
        defer(startFill(target, caller, digest).then((fill) => fill.done).catch(() => {}));
      }
      return forwarded;
    }
    let joined = false;
    if (pending === undefined) {
      pending = startFill(target, caller, digest);
      joined = true;
    }
    let fill: BlobFill;
    try {
      fill = await pending;
    } catch (err) {
      // The error of a fill another request started (maybe through another repository) says nothing about
      // this digest in this repository: only the starter's own 404 marks it gone.
      return refused(err, request, target, caller, joined ? digest : undefined);
    }
    // On workerd, a fill must outlive the response that started it (the other clients, the cache).
    defer(fill.done.catch(() => {}));
    if (
      !joined && request.method === "GET" && wanted !== undefined && fill.running &&
      (wanted.start >= fill.received + RANGE_FROM_FILL || !fill.canServe(wanted.start))
    ) {
      // Far beyond the bytes the fill has (or before those it still has, if its store failed): forwarded,
      // with the caller's credentials, so the client does not wait. Any offset the fill already passed is
      // served from it (read back from the store).
      return await forwardRange(request, target, caller, digest, wanted, defer);
    }
    if (!joined) {
      const denied = await check(false);
      if (denied) return denied;
    }
    if (!fill.running && fill.cached) {
      // Finished meanwhile: read from the store.
      return serveBlob(request, digest, fill.size, (range) => store.blobs.get(digest, range));
    }
    metrics.cacheHits.blob += joined ? 0 : 1;
    return serveBlob(request, digest, fill.size, (range) => fill.subscribe(range?.start, range?.end));
  };

  /** HEAD of a blob upstream with the caller's credentials: its size, or a TugError. */
  const headBlob = async (target: Target, caller: Caller, digest: string): Promise<{ size: number }> => {
    const transport = transportFor(target, caller);
    const response = await transport(
      new Request(`${target.upstream.url}/v2/${target.repo}/blobs/${digest}`, { method: "HEAD" }),
    );
    await response.body?.cancel();
    if (!response.ok) {
      throw new TugError(
        response.status === 404
          ? "BLOB_UNKNOWN"
          : response.status === 401
          ? "UNAUTHORIZED"
          : "UNEXPECTED_STATUS",
        `Cannot check blob "${target.key}@${digest}": registry returned ${response.status}`,
        { detail: { status: response.status, errors: [] } },
      );
    }
    // The size is relayed to the client as Content-Length: only a plain number passes.
    const length = response.headers.get("content-length")?.trim();
    if (length === undefined || !/^\d+$/.test(length) || !Number.isSafeInteger(Number(length))) {
      throw new TugError(
        "UNEXPECTED_STATUS",
        `Cannot check blob "${target.key}@${digest}": the upstream sent Content-Length ${
          JSON.stringify(length ?? null)
        }`,
        { detail: { status: 502, errors: [] } },
      );
    }
    return { size: Number(length) };
  };

  /**
   * Forwards a range upstream with the caller's credentials. Upstream bytes reach the client unverified
   * only as the 206 of exactly the range asked for (Content-Range and Content-Length checked, the body
   * counted: it errors on a byte more or less). A 200 (the range ignored) is a whole blob: it becomes the
   * fill, verified in flight, and the client's range is served from it, never relayed as it came.
   */
  const forwardRange = async (
    request: Request,
    target: Target,
    caller: Caller,
    digest: string,
    wanted: OpenRange,
    defer: (work: Promise<unknown>) => void,
  ): Promise<Response> => {
    const transport = transportFor(target, caller);
    const what = `Cannot fetch a range of blob "${target.key}@${digest}"`;
    let response: Response;
    try {
      response = await answeredWithin(
        what,
        (signal) =>
          transport(
            new Request(`${target.upstream.url}/v2/${target.repo}/blobs/${digest}`, {
              // Rebuilt from the parsed range: the client's header text never goes upstream.
              headers: { range: rangeHeader(wanted) },
              ...(signal ? { signal } : {}),
            }),
          ),
        (late) => late.body?.cancel().catch(() => {}),
      );
    } catch (err) {
      return refused(err, request, target, caller, digest);
    }
    if (response.status === 416) {
      // The client's range starts past the blob: its answer, with the size when the upstream says it.
      await response.body?.cancel();
      const size = /^bytes \*\/(\d+)$/.exec(response.headers.get("content-range")?.trim() ?? "")?.[1];
      return errorResponse(416, "BLOB_UNKNOWN", `${what}: range not satisfiable`, {
        ...(size !== undefined ? { "content-range": `bytes */${size}` } : {}),
      });
    }
    if (!response.ok) {
      await response.body?.cancel();
      return refused(
        new TugError(
          "UNEXPECTED_STATUS",
          `Cannot fetch blob "${target.key}@${digest}": registry returned ${response.status}`,
          {
            detail: { status: response.status, errors: [] },
          },
        ),
        request,
        target,
        caller,
        digest,
      );
    }
    access.confirm(scopeOf(target, caller), digest);
    if (response.status === 200 && response.body !== null) {
      const length = response.headers.get("content-length");
      const key = fillKey(target, digest);
      let pending = fills.get(key);
      if (pending === undefined) {
        pending = startFill(target, caller, digest, {
          body: response.body,
          ...(length !== null && /^\d+$/.test(length) ? { size: Number(length) } : {}),
        });
      } else {
        await response.body.cancel();
      }
      let fill: BlobFill;
      try {
        fill = await pending;
      } catch (err) {
        return refused(err, request, target, caller, digest);
      }
      defer(fill.done.catch(() => {}));
      return serveBlob(request, digest, fill.size, (range) => fill.subscribe(range?.start, range?.end));
    }
    const served = response.status === 206
      ? checkRangeAnswer(
        wanted,
        response.headers.get("content-range"),
        response.headers.get("content-length"),
      )
      : `status ${response.status}`;
    if (typeof served === "string" || response.body === null) {
      await response.body?.cancel();
      return errorResponse(
        502,
        "UNKNOWN",
        `${what}: the upstream answered ${typeof served === "string" ? served : "without a body"}`,
      );
    }
    const length = served.end - served.start;
    const headers = v2Headers({
      "content-type": "application/octet-stream",
      "docker-content-digest": digest,
      "accept-ranges": "bytes",
      "content-length": String(length),
      "content-range": `bytes ${served.start}-${served.end - 1}/${served.size}`,
    });
    const relayed = withIdleLimit(response.body, readTimeout, what).pipeThrough(exactLength(length, what));
    return new Response(body(relayed, length), {
      status: 206,
      headers,
    });
  };

  // ---- tags ----------------------------------------------------------------------------------------

  const tagsList = async (request: Request, target: Target, caller: Caller, name: string) => {
    const url = new URL(request.url);
    const nParam = url.searchParams.get("n");
    const last = url.searchParams.get("last") ?? undefined;
    let n: number | undefined;
    if (nParam !== null) {
      n = Number(nParam);
      if (!/^\d+$/.test(nParam) || !Number.isSafeInteger(n)) {
        return errorResponse(400, "PAGINATION_NUMBER_INVALID", `Invalid page size n=${nParam}`);
      }
    }
    let page;
    try {
      page = await clientFor(target, caller).listTags({
        ...(n !== undefined ? { n } : {}),
        ...(last !== undefined ? { last } : {}),
      });
    } catch (err) {
      return refused(err, request, target, caller);
    }
    access.grant(scopeOf(target, caller));
    const headers = v2Headers({ "content-type": "application/json; charset=utf-8" });
    if (page.next !== undefined) {
      const next = new URLSearchParams();
      if (n !== undefined) next.set("n", String(n));
      next.set("last", page.next);
      const ns = url.searchParams.get("ns");
      if (ns !== null) next.set("ns", ns);
      headers.set("link", `</v2/${name}/tags/list?${next}>; rel="next"`);
    }
    const text = JSON.stringify({ name, tags: page.tags });
    if (request.method === "HEAD") return new Response(null, { headers });
    return new Response(text, { headers });
  };

  // ---- the app -------------------------------------------------------------------------------------

  const app = new Hono();
  app.use("*", async (_c, next) => {
    metrics.requests++;
    await next();
  });
  if (options.allowOrigins !== undefined) {
    const origins = options.allowOrigins;
    app.use(
      "*",
      cors({
        origin: origins === "*" ? "*" : [...origins],
        allowMethods: ["GET", "HEAD", "POST", "OPTIONS"],
        allowHeaders: ["Authorization", "Accept", "Range", "Content-Type", "If-None-Match"],
        exposeHeaders: EXPOSED_HEADERS,
        maxAge: 600,
      }),
    );
  }

  app.get("/healthz", (c) => c.text("ok"));
  app.get(
    "/metrics",
    () =>
      new Response(metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      }),
  );

  app.get("/token", async (c) => {
    const caller = await callerOf(c.req.raw, undefined);
    if (caller instanceof Response) return caller;
    const token = await tokens.seal(
      caller.credentials !== undefined && "username" in caller.credentials ? caller.credentials : undefined,
    );
    return c.json({
      token,
      access_token: token,
      expires_in: tokens.lifetimeSeconds,
      issued_at: new Date(now()).toISOString(),
    });
  });

  app.post("/images/create", (c) => imagesCreate(c.req.raw));

  app.all("/v2/*", async (c) => {
    const request = c.req.raw;
    const url = new URL(request.url);
    const path = url.pathname;
    const method = request.method;
    if (method !== "GET" && method !== "HEAD") {
      return errorResponse(405, "UNSUPPORTED", `The proxy is read-only: ${method} ${path} is not supported`, {
        allow: "GET, HEAD",
      });
    }
    if (path === "/v2/" || path === "/v2") {
      // The version check. Without credentials, the answer points at the proxy's token endpoint, so that
      // clients with credentials for private repositories send them (Docker's token flow); clients
      // without credentials get an anonymous token and go on.
      const header = request.headers.get("authorization");
      const caller = header === null ? undefined : await callerOf(request, undefined);
      if (caller instanceof Response) return caller;
      if (caller === undefined) {
        return errorResponse(401, "UNAUTHORIZED", "authentication required", {
          "www-authenticate": challengeFor(request),
        });
      }
      return new Response(method === "HEAD" ? null : "{}", {
        headers: v2Headers({ "content-type": "application/json; charset=utf-8" }),
      });
    }
    const match = /^\/v2\/(.+)\/(manifests|blobs|tags)\/([^/]+)$/.exec(path);
    if (match === null || path.includes("/blobs/uploads")) {
      if (path.includes("/blobs/uploads")) {
        return errorResponse(
          405,
          "UNSUPPORTED",
          `The proxy is read-only: ${method} ${path} is not supported`,
        );
      }
      return errorResponse(404, "NAME_UNKNOWN", `No such route: ${path}`);
    }
    const [, name, kind, reference] = match;
    if (kind === "tags" && reference !== "list") {
      return errorResponse(404, "NAME_UNKNOWN", `No such route: ${path}`);
    }
    const target = resolveTarget(name, url.searchParams.get("ns"));
    if (target instanceof Response) return target;
    const caller = await callerOf(request, target.upstream);
    if (caller instanceof Response) return caller;
    try {
      if (kind === "manifests") return await manifests(request, target, caller, reference);
      if (kind === "blobs") {
        const defer = (work: Promise<unknown>) => {
          try {
            c.executionCtx.waitUntil(work);
          } catch {
            // No execution context (Deno, Node): promises run to the end on their own.
          }
        };
        return await blobs(request, target, caller, reference, defer);
      }
      return await tagsList(request, target, caller, name);
    } catch (err) {
      if (err instanceof TugError && err.code === "NOT_FOUND") {
        return errorResponse(404, kind === "blobs" ? "BLOB_UNKNOWN" : "MANIFEST_UNKNOWN", err.message);
      }
      const clientError = clientInputResponse(err);
      if (clientError) return clientError;
      return errorResponse(
        500,
        "UNKNOWN",
        `Internal error: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  });

  // ---- Docker Engine's pull ------------------------------------------------------------------------

  const imagesCreate = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const fromImage = url.searchParams.get("fromImage");
    if (fromImage === null || fromImage === "") {
      return Response.json({ message: "fromImage is required" }, { status: 400 });
    }
    let name = fromImage;
    let tag = url.searchParams.get("tag") || undefined;
    let digest: string | undefined;
    const at = name.indexOf("@");
    if (at >= 0) {
      digest = name.slice(at + 1);
      name = name.slice(0, at);
    } else {
      const colon = name.lastIndexOf(":");
      if (colon > name.lastIndexOf("/")) {
        tag ??= name.slice(colon + 1);
        name = name.slice(0, colon);
      }
    }
    if (tag !== undefined && tag.includes(":")) {
      digest = tag;
      tag = undefined;
    }
    const problem = digest !== undefined
      ? digestProblem(digest)
      : tag !== undefined
      ? tagProblem(tag)
      : undefined;
    if (problem !== undefined) return Response.json({ message: problem }, { status: 400 });
    const target = resolveTarget(name, null);
    if (target instanceof Response) {
      const text = await target.text();
      return Response.json({ message: JSON.parse(text).errors[0].message }, { status: target.status });
    }
    const caller = await callerOf(request, target.upstream);
    if (caller instanceof Response) return Response.json({ message: "unauthorized" }, { status: 401 });
    const upstream = target.upstream;
    const reference = `${upstream.refHost}/${target.repo}${digest ? `@${digest}` : `:${tag ?? "latest"}`}`;
    const encoder = new TextEncoder();
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const line = (value: unknown) =>
      writer.write(encoder.encode(JSON.stringify(value) + "\r\n")).catch(() => {});
    const done = (async () => {
      try {
        const result = await pull(reference, {
          store: pullStore,
          fetch: upstream.fetch,
          ...(caller.credentials !== undefined ? { credentials: caller.credentials } : {}),
          ...(options.hasher ? { hasher: options.hasher } : {}),
          insecureRegistries: upstream.url.startsWith("http:") ? [upstream.host] : [],
          ...(upstream.refHost === "docker.io" && upstream.host !== "registry-1.docker.io"
            ? { mirrors: [upstream.url] }
            : {}),
          userAgent,
          readTimeout,
          retry: { attempts: retry.attempts ?? 2 },
          onProgress: (event) => {
            const message: Record<string, unknown> = { status: event.status };
            if (event.current !== undefined || event.total !== undefined) {
              message.progressDetail = {
                ...(event.current !== undefined ? { current: event.current } : {}),
                ...(event.total !== undefined ? { total: event.total } : {}),
              };
            } else if (event.id !== undefined) message.progressDetail = {};
            if (event.id !== undefined) message.id = event.id;
            void line(message);
          },
        });
        // pull() fetched these manifests upstream with the caller's credentials: the same confirmations as
        // a GET through /v2/ (their typed children only).
        const scope = scopeOf(target, caller);
        for (const image of result.images) {
          access.confirmManifest(scope, image.descriptor.digest, image.manifest);
        }
        access.confirm(scope, result.digest);
        if (tag !== undefined || digest === undefined) {
          tagChecked.set(`${target.key}:${tag ?? "latest"}`, now());
        }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        await line({ errorDetail: { message }, error: message });
      } finally {
        await writer.close().catch(() => {});
      }
    })();
    void done;
    return new Response(readable, { headers: { "content-type": "application/json" } });
  };

  return app;
}
