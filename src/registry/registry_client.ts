// This module is browser compatible.
/**
 * A client for one repository on one registry, speaking the OCI distribution spec's read API.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import { parseDigest } from "../digest/parse_digest.ts";
import { MANIFEST_ACCEPT, SCHEMA1_MANIFEST_ACCEPT } from "../manifest/media_types.ts";
import { MAX_MANIFEST_SIZE } from "../manifest/parse_manifest.ts";
import { DIGEST_PATTERN, REPOSITORY_PATTERN, TAG_PATTERN } from "../reference/patterns.ts";
import { discard, readLimited } from "./read_limited.ts";
import { createRegistryFetch } from "./create_registry_fetch.ts";
import { type Challenge, parseWwwAuthenticate } from "./parse_www_authenticate.ts";
import { registryError } from "./registry_error.ts";
import { TokenCache } from "./token_cache.ts";
import type { CredentialProvider, Credentials, FetchLike } from "./types.ts";
import { type RetryPolicy, singleAttempt } from "./retry_policy.ts";

/** Rate-limit headers a registry sent (Docker Hub: `ratelimit-limit: 100;w=21600`). */
export interface RateLimitInfo {
  /** `RateLimit-Remaining`, as sent. */
  readonly remaining?: string;
  /** `RateLimit-Limit`, as sent. */
  readonly limit?: string;
}

/** Options for {@linkcode RegistryClient}. */
export interface RegistryClientOptions {
  /** The registry's base URL, e.g. `"http://127.0.0.1:5000"` or `"https://registry-1.docker.io"`. */
  registry: string;
  /** The repository's path, e.g. `"library/alpine"`. */
  repository: string;
  /** The fetch that does the I/O (default `globalThis.fetch`). */
  fetch?: FetchLike;
  /** Fixed credentials, or a provider asked with the registry's `host[:port]`. */
  credentials?: Credentials | CredentialProvider;
  /** The `User-Agent` (default `tug/<version>`). */
  userAgent?: string;
  /** How to retry transient failures (default `DEFAULT_RETRY_POLICY`; the ping makes one attempt). */
  retry?: RetryPolicy;
  /** Wraps the fetch that does the I/O; sees every request on the wire (see `createRegistryFetch`). */
  transport?: (base: FetchLike) => FetchLike;
  /** Called with the rate-limit headers of each response that has them. */
  onRateLimit?: (info: RateLimitInfo) => void;
  /** A token cache to share with other clients (default: one of the client's own). */
  tokenCache?: TokenCache;
}

/** What {@linkcode RegistryClient.ping} found. */
export interface PingResult {
  /** The status of `GET /v2/`: 200, or 401 when the registry wants credentials. */
  readonly status: number;
  /** `Docker-Distribution-API-Version` (`registry/2.0`): the registry speaks the v2 API. */
  readonly apiVersion?: string;
  /** The challenges of a 401 answer. */
  readonly challenges: readonly Challenge[];
}

/** Options for {@linkcode RegistryClient.getManifest}. */
export interface GetManifestOptions {
  /** The media types to accept (default: OCI index and manifest, Docker list and v2, Docker schema 1). */
  accept?: readonly string[];
  /** Aborts the request. */
  signal?: AbortSignal;
  /** The most bytes a manifest may have (default 4 MiB, as containerd and distribution cap them). */
  maxBytes?: number;
}

/** A manifest as the registry sent it. */
export interface ManifestResponse {
  /** Its bytes, exactly as sent (their digest is the manifest's digest). */
  readonly bytes: Uint8Array;
  /** Its media type from `Content-Type` (parameters removed; `""` when the registry sent none). */
  readonly contentType: string;
  /** `Docker-Content-Digest`, when sent. Not verified here. */
  readonly digestHeader?: string;
}

/** What {@linkcode RegistryClient.headManifest} found. */
export interface ManifestHead {
  /** `Docker-Content-Digest`, when sent. */
  readonly digest?: string;
  /** `Content-Length`, when sent. */
  readonly size?: number;
  /** The media type from `Content-Type`, when sent. */
  readonly contentType?: string;
}

/** Options for {@linkcode RegistryClient.getBlob}. */
export interface GetBlobOptions {
  /** Resume from this byte offset (default 0), with `Range: bytes=<start>-`. */
  start?: number;
  /** Aborts the request and the body stream. */
  signal?: AbortSignal;
}

/** A blob download. */
export interface BlobResponse {
  /** The bytes from `start` on, unverified: the caller checks size and digest while it reads. */
  readonly body: ReadableStream<Uint8Array>;
  /**
   * Where `body` starts: the requested start on a `206` answer, or 0 when the registry ignored the
   * range and sent the whole blob (the caller must start over).
   */
  readonly start: number;
  /** The blob's total size when the answer says it (`Content-Range` total, or `Content-Length` of a 200). */
  readonly size?: number;
  /** The HTTP status: 200 or 206. */
  readonly status: number;
}

/** Options for {@linkcode RegistryClient.listTags}. */
export interface ListTagsOptions {
  /** Ask for at most this many tags. */
  n?: number;
  /** Continue after this tag (the previous page's `next`). */
  last?: string;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** One page of tags. */
export interface TagsPage {
  /** The tags, in the registry's (lexical) order. */
  readonly tags: string[];
  /** The `last` to pass for the next page, from the `Link: <…?last=…>; rel="next"` header, when there is one. */
  readonly next?: string;
}

/** The media types tug understands, best first (OCI image spec, Docker image manifest v2). */
export const DEFAULT_MANIFEST_ACCEPT: readonly string[] = Object.freeze([
  ...MANIFEST_ACCEPT,
  ...SCHEMA1_MANIFEST_ACCEPT,
]);

const DEFAULT_MAX_MANIFEST_BYTES = MAX_MANIFEST_SIZE;
// A page of tags is JSON strings; 16 MiB is hundreds of thousands of tags.
const MAX_TAGS_BYTES = 16 * 1024 * 1024;

function mediaType(value: string | null): string {
  return value === null ? "" : value.split(";")[0].trim();
}

function contentLength(headers: Headers): number | undefined {
  const value = headers.get("content-length");
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value);
}

/**
 * Reads one repository of one registry: ping, manifests (GET and HEAD), blobs (with resume) and tags,
 * through tug's transport (user agent, retries, auth for `repository:<name>:pull`, redirects that keep
 * credentials on the registry's origin). Failed answers reject with a `TugError` carrying the
 * registry's code and a message naming the operation and the reference, e.g.
 * `Cannot fetch manifest "127.0.0.1:5000/small:v1": registry returned 404 MANIFEST_UNKNOWN (manifest unknown)`.
 *
 * @example Fetch a manifest (from a stand-in registry)
 * ```ts
 * import { RegistryClient } from "./registry_client.ts";
 *
 * const registry = (req: Request) =>
 *   Promise.resolve(
 *     new URL(req.url).pathname === "/v2/library/alpine/manifests/3.20"
 *       ? new Response('{"schemaVersion":2}', {
 *         headers: { "content-type": "application/vnd.oci.image.index.v1+json" },
 *       })
 *       : new Response(null, { status: 404 }),
 *   );
 * const client = new RegistryClient({
 *   registry: "http://127.0.0.1:5000",
 *   repository: "library/alpine",
 *   fetch: registry,
 * });
 * const manifest = await client.getManifest("3.20");
 * console.assert(manifest.contentType === "application/vnd.oci.image.index.v1+json");
 * ```
 */
export class RegistryClient {
  /** The registry's base URL, without a trailing slash. */
  readonly registry: string;
  /** The repository's path. */
  readonly repository: string;
  /** `host[:port]` of the registry, as in references and error messages. */
  readonly host: string;
  #fetch: FetchLike;
  #plain: FetchLike;
  #tokenCache: TokenCache;
  #onRateLimit?: (info: RateLimitInfo) => void;

  /** Makes a client for one repository of one registry; throws a TypeError for a bad URL or name. */
  constructor(options: RegistryClientOptions) {
    let url: URL;
    try {
      url = new URL(options.registry);
    } catch {
      throw new TypeError(`Invalid registry URL "${options.registry}"`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`Invalid registry URL "${options.registry}": not http or https`);
    }
    if (!REPOSITORY_PATTERN.test(options.repository)) {
      throw new TypeError(`Invalid repository name "${options.repository}"`);
    }
    this.registry = url.href.replace(/\/+$/, "");
    this.repository = options.repository;
    this.host = url.host;
    this.#tokenCache = options.tokenCache ?? new TokenCache();
    const common = {
      ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
      ...(options.userAgent !== undefined ? { userAgent: options.userAgent } : {}),
      ...(options.retry !== undefined ? { retry: options.retry } : {}),
      ...(options.transport !== undefined ? { transport: options.transport } : {}),
    };
    this.#fetch = createRegistryFetch({
      ...common,
      ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
      tokenCache: this.#tokenCache,
      scope: [`repository:${options.repository}:pull`],
    });
    // The ping is one attempt, as Docker's: when it fails the pull moves on to the next endpoint
    // (https → http for an insecure registry) at once instead of backing off five times.
    this.#plain = createRegistryFetch({
      ...common,
      retry: singleAttempt(options.retry),
      anonymous: true,
    });
    if (options.onRateLimit) this.#onRateLimit = options.onRateLimit;
  }

  async #send(path: string, init: RequestInit): Promise<Response> {
    const response = await this.#fetch(new Request(`${this.registry}${path}`, init));
    if (this.#onRateLimit) {
      const remaining = response.headers.get("ratelimit-remaining");
      const limit = response.headers.get("ratelimit-limit");
      if (remaining !== null || limit !== null) {
        this.#onRateLimit({
          ...(remaining !== null ? { remaining } : {}),
          ...(limit !== null ? { limit } : {}),
        });
      }
    }
    return response;
  }

  #target(reference: string): string {
    return `${this.host}/${this.repository}${DIGEST_PATTERN.test(reference) ? "@" : ":"}${reference}`;
  }

  /**
   * `GET /v2/` without credentials (the distribution spec's version check). A `401` that carries
   * `Docker-Distribution-API-Version` also means the registry speaks v2; its challenge is remembered
   * in the token cache so the next requests authenticate up front.
   */
  async ping(signal?: AbortSignal): Promise<PingResult> {
    const response = await this.#plain(new Request(`${this.registry}/v2/`, signal ? { signal } : {}));
    discard(response);
    const apiVersion = response.headers.get("docker-distribution-api-version") ?? undefined;
    const header = response.headers.get("www-authenticate");
    const challenges = response.status === 401 && header !== null ? parseWwwAuthenticate(header) : [];
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
    const basic = challenges.find((c) => c.scheme === "basic");
    if (bearer) {
      const params = {
        realm: bearer.params.realm,
        ...(bearer.params.service ? { service: bearer.params.service } : {}),
      };
      this.#tokenCache.rememberChallenge(new URL(this.registry).origin, { scheme: "bearer", params });
    } else if (basic) {
      this.#tokenCache.rememberChallenge(new URL(this.registry).origin, { scheme: "basic", params: {} });
    }
    return { status: response.status, ...(apiVersion !== undefined ? { apiVersion } : {}), challenges };
  }

  /**
   * `GET /v2/<name>/manifests/<reference>`: the manifest's bytes, capped at `maxBytes` (default 4 MiB).
   * A `Content-Length` over the cap is refused before the body is read, and a body that grows past it
   * is cancelled; both reject with `TugError` code `MANIFEST_TOO_LARGE`.
   */
  async getManifest(reference: string, options: GetManifestOptions = {}): Promise<ManifestResponse> {
    checkReference(reference);
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    const target = this.#target(reference);
    const response = await this.#send(`/v2/${this.repository}/manifests/${reference}`, {
      headers: { accept: (options.accept ?? DEFAULT_MANIFEST_ACCEPT).join(", ") },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!response.ok) {
      throw await registryError(response, { action: "fetch manifest", target, notFound: "MANIFEST_UNKNOWN" });
    }
    const announced = contentLength(response.headers);
    if (announced !== undefined && announced > maxBytes) {
      discard(response);
      throw new TugError(
        "MANIFEST_TOO_LARGE",
        `Cannot fetch manifest "${target}": registry announced ${announced} bytes, more than the limit of ${maxBytes}`,
        { detail: { size: announced, limit: maxBytes } },
      );
    }
    const { bytes, truncated } = await readLimited(response.body, maxBytes);
    if (truncated) {
      throw new TugError(
        "MANIFEST_TOO_LARGE",
        `Cannot fetch manifest "${target}": registry sent more than the limit of ${maxBytes} bytes`,
        { detail: { limit: maxBytes } },
      );
    }
    const digestHeader = response.headers.get("docker-content-digest") ?? undefined;
    return {
      bytes,
      contentType: mediaType(response.headers.get("content-type")),
      ...(digestHeader !== undefined ? { digestHeader } : {}),
    };
  }

  /** `HEAD /v2/<name>/manifests/<reference>`: digest, size and media type without the body. */
  async headManifest(
    reference: string,
    options: Omit<GetManifestOptions, "maxBytes"> = {},
  ): Promise<ManifestHead> {
    checkReference(reference);
    const response = await this.#send(`/v2/${this.repository}/manifests/${reference}`, {
      method: "HEAD",
      headers: { accept: (options.accept ?? DEFAULT_MANIFEST_ACCEPT).join(", ") },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!response.ok) {
      throw await registryError(response, {
        action: "check manifest",
        target: this.#target(reference),
        notFound: "MANIFEST_UNKNOWN",
      });
    }
    discard(response);
    const digest = response.headers.get("docker-content-digest") ?? undefined;
    const size = contentLength(response.headers);
    const type = response.headers.get("content-type");
    return {
      ...(digest !== undefined ? { digest } : {}),
      ...(size !== undefined ? { size } : {}),
      ...(type !== null ? { contentType: mediaType(type) } : {}),
    };
  }

  /**
   * `GET /v2/<name>/blobs/<digest>`, streamed. With `start > 0` it sends `Range: bytes=<start>-` and
   * takes a `206` only when its `Content-Range` starts at `start`; a `200` means the registry ignored
   * the range, and the whole blob comes back with `start: 0`. Anything else rejects with a `TugError`.
   */
  async getBlob(digest: string, options: GetBlobOptions = {}): Promise<BlobResponse> {
    checkDigest(digest);
    const start = options.start ?? 0;
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new RangeError(`Invalid blob offset ${start}: expected a non-negative integer`);
    }
    const target = `${this.host}/${this.repository}@${digest}`;
    const headers: Record<string, string> = {};
    if (start > 0) headers.range = `bytes=${start}-`;
    const response = await this.#send(`/v2/${this.repository}/blobs/${digest}`, {
      headers,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!response.ok) {
      throw await registryError(response, { action: "fetch blob", target, notFound: "BLOB_UNKNOWN" });
    }
    const fail = (what: string): never => {
      discard(response);
      throw new TugError("UNEXPECTED_STATUS", `Cannot fetch blob "${target}": registry returned ${what}`, {
        detail: { status: response.status, errors: [] },
      });
    };
    if (response.body === null) return fail(`${response.status} without a body`);
    if (response.status === 200) {
      const size = contentLength(response.headers);
      return { body: response.body, start: 0, ...(size !== undefined ? { size } : {}), status: 200 };
    }
    if (response.status === 206) {
      // RFC 9110 §14.4: Content-Range: bytes first-last/complete-length (or "*" when unknown).
      const range = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(
        response.headers.get("content-range")?.trim() ?? "",
      );
      if (range === null) return fail(`206 with Content-Range "${response.headers.get("content-range")}"`);
      if (Number(range[1]) !== start) {
        return fail(`206 for bytes ${range[1]}-${range[2]}, asked from ${start}`);
      }
      const size = range[3] === "*" ? undefined : Number(range[3]);
      return { body: response.body, start, ...(size !== undefined ? { size } : {}), status: 206 };
    }
    return fail(String(response.status));
  }

  /**
   * `GET /v2/<name>/referrers/<digest>` (OCI distribution spec 1.1): an image index whose `manifests` are
   * the manifests whose `subject` is `digest` (signatures, SBOMs, attestations), capped like a manifest.
   * A registry without the API answers 404 (distribution 2.x does); that rejects with `detail.status`
   * 404, and the spec's fallback is the index tagged `sha256-<hex>` ({@linkcode RegistryClient.getManifest}).
   */
  async getReferrers(
    digest: string,
    options: Omit<GetManifestOptions, "accept"> = {},
  ): Promise<ManifestResponse> {
    checkDigest(digest);
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    const target = this.#target(digest);
    const response = await this.#send(`/v2/${this.repository}/referrers/${digest}`, {
      headers: { accept: "application/vnd.oci.image.index.v1+json" },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!response.ok) {
      throw await registryError(response, {
        action: "list referrers of",
        target,
        notFound: "MANIFEST_UNKNOWN",
      });
    }
    const { bytes, truncated } = await readLimited(response.body, maxBytes);
    if (truncated) {
      throw new TugError(
        "MANIFEST_TOO_LARGE",
        `Cannot list referrers of "${target}": registry sent more than the limit of ${maxBytes} bytes`,
        { detail: { limit: maxBytes } },
      );
    }
    return { bytes, contentType: mediaType(response.headers.get("content-type")) };
  }

  /**
   * `GET /v2/<name>/tags/list`, one page (`n`, `last`), with the next page's `last` from `Link`. A
   * registry that ignores `n` and `last` (distribution 2.8 does) is paged here instead, so pages look
   * the same from every registry.
   */
  async listTags(options: ListTagsOptions = {}): Promise<TagsPage> {
    const query = new URLSearchParams();
    if (options.n !== undefined) {
      if (!Number.isSafeInteger(options.n) || options.n < 0) {
        throw new RangeError(`Invalid page size ${options.n}: expected a non-negative integer`);
      }
      query.set("n", String(options.n));
    }
    if (options.last !== undefined) query.set("last", options.last);
    const search = query.size > 0 ? `?${query}` : "";
    const target = `${this.host}/${this.repository}`;
    const response = await this.#send(`/v2/${this.repository}/tags/list${search}`, {
      headers: { accept: "application/json" },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!response.ok) {
      throw await registryError(response, { action: "list tags of", target, notFound: "NAME_UNKNOWN" });
    }
    const { bytes, truncated } = await readLimited(response.body, MAX_TAGS_BYTES);
    let tags: unknown;
    try {
      if (truncated) throw new RangeError(`more than ${MAX_TAGS_BYTES} bytes`);
      tags = (JSON.parse(new TextDecoder().decode(bytes)) as { tags?: unknown })?.tags ?? [];
    } catch (err) {
      throw new TugError(
        "UNEXPECTED_STATUS",
        `Cannot list tags of "${target}": the answer is not a tag list`,
        {
          cause: err,
          detail: { status: response.status, errors: [] },
        },
      );
    }
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string")) {
      throw new TugError(
        "UNEXPECTED_STATUS",
        `Cannot list tags of "${target}": the answer is not a tag list`,
        {
          detail: { status: response.status, errors: [] },
        },
      );
    }
    let list = tags as string[];
    let next = nextFromLink(response.headers.get("link"), this.registry);
    const { n, last } = options;
    if (
      next === undefined &&
      ((n !== undefined && list.length > n) || (last !== undefined && list.some((t) => t <= last)))
    ) {
      // The registry ignored n/last (distribution 2.8 answers every tag, unsorted, without Link): page
      // here, in the lexical order the distribution spec gives paginated tag lists.
      list = list.filter((t) => last === undefined || t > last).sort();
      if (n !== undefined && list.length > n) {
        list = list.slice(0, n);
        if (n > 0) next = list[n - 1];
      }
    }
    return { tags: list, ...(next !== undefined ? { next } : {}) };
  }
}

function checkReference(reference: string): void {
  if (typeof reference === "string" && reference.includes(":")) return checkDigest(reference);
  if (typeof reference !== "string" || !TAG_PATTERN.test(reference)) {
    throw new TypeError(`Invalid manifest reference ${quote(reference)}: expected a tag or a digest`);
  }
}

/**
 * A digest must be one tug can verify (sha256 or sha512, lowercase hex of the exact length) before it
 * goes into a URL: an unknown algorithm or a malformed value is refused here, never sent.
 */
function checkDigest(digest: string): void {
  if (typeof digest !== "string" || !DIGEST_PATTERN.test(digest)) {
    throw new TypeError(`Invalid digest ${quote(digest)}`);
  }
  try {
    parseDigest(digest);
  } catch (err) {
    throw new TypeError((err as Error).message, { cause: err });
  }
}

function quote(value: unknown): string {
  const text = String(value);
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

/** The `last` of a `Link: <url>; rel="next"` header (RFC 8288; the distribution spec's tag paging). */
function nextFromLink(link: string | null, base: string): string | undefined {
  if (link === null) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (match === null || !/;\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?/i.test(match[2])) continue;
    try {
      return new URL(match[1], base).searchParams.get("last") ?? undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
