// This module is browser compatible.
/**
 * An {@linkcode ObjectBucket} over the S3 API (AWS S3, MinIO, Ceph radosgw, R2's S3 endpoint, …) with
 * `fetch` only: requests are signed with AWS Signature V4 by aws4fetch, so it runs in Deno, Node, workerd
 * and browsers. No node: module.
 *
 * @module
 */

import { AwsClient } from "npm:aws4fetch@^1.0.20";
import { TugError } from "../../src/errors.ts";
import { describeNetworkError } from "../../src/registry/describe_network_error.ts";
import { withIdleLimit } from "../../src/streams/idle_timer.ts";
import type { ObjectBucket, ObjectMultipartUpload, ObjectPart } from "../../src/store/object_store.ts";

/** AWS credentials (from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). */
export interface S3Credentials {
  /** The access key id. */
  accessKeyId: string;
  /** The secret access key. */
  secretAccessKey: string;
  /** A session token, for temporary credentials. */
  sessionToken?: string;
}

/**
 * Where a bucket is and how to reach it.
 *
 * @example MinIO on this machine
 * ```ts
 * import type { S3BucketOptions } from "./s3_bucket.ts";
 *
 * const options: S3BucketOptions = {
 *   bucket: "cache",
 *   endpoint: "http://127.0.0.1:9000",
 *   pathStyle: true,
 *   credentials: { accessKeyId: "minio", secretAccessKey: "minio123" },
 * };
 * console.assert(options.region === undefined);
 * ```
 */
export interface S3BucketOptions {
  /** The bucket name. */
  bucket: string;
  /** The service's base URL (default `https://s3.<region>.amazonaws.com`). */
  endpoint?: string;
  /** The signing region (default `us-east-1`; R2 takes `auto`). */
  region?: string;
  /**
   * `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key` (default: true with a custom
   * endpoint, as MinIO, Ceph and local servers need, and for a bucket name with dots; else false for AWS).
   */
  pathStyle?: boolean;
  /** The credentials requests are signed with. */
  credentials: S3Credentials;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** The clock presigned URLs are dated by, in milliseconds since the epoch (default `Date.now`). */
  now?: () => number;
  /** How requests that fail in transit or with a 5xx are retried (default {@linkcode S3_RETRY}). */
  retry?: S3RetryOptions;
  /**
   * Milliseconds an attempt waits for the bucket's answer, plus one for every 128 bytes of its body (a slow
   * link still sends an 8 MiB part within the limit), and the longest a read of an object's body waits for
   * bytes (default {@linkcode S3_TIMEOUT}; 0: no limit). An attempt that gets no answer in time is
   * cancelled and sent again, like a lost answer ({@linkcode S3RetryOptions}); a body that stops fails with
   * `TIMEOUT`.
   */
  timeout?: number;
}

/**
 * The default {@linkcode S3BucketOptions.timeout}: 60 s. A bucket that accepts a connection and never answers
 * (a stuck gateway, a half-open connection) would otherwise hold each request, and everything waiting on it,
 * forever: a proxy's fill waits for its part uploads, so one stuck upload would stop every client of a blob.
 *
 * @example
 * ```ts
 * import { S3_TIMEOUT } from "./s3_bucket.ts";
 *
 * console.assert(S3_TIMEOUT === 60_000);
 * ```
 */
export const S3_TIMEOUT: number = 60_000;

/** Bytes of a request body that add one millisecond to an attempt's time limit (128 KB/s). */
const BODY_BYTES_PER_MS = 128;

/**
 * How {@linkcode S3Bucket} retries a request that got no answer (a network error) or a transient one: 500
 * InternalError, 502, 503 SlowDown, 504, 429. Amazon S3 asks clients to retry those ("Error responses":
 * InternalError, SlowDown), every AWS SDK does (its "standard" retry mode), and some services answer them
 * while they are fine: s3rver writes an object in place, so a read that meets a write of the same key is a
 * 500. Every request tug sends has its whole body in memory, so every one can be sent again; a retry is
 * signed anew. Other statuses (403, 404, 412, …) are answers, never retried.
 *
 * @example Fewer, quicker retries
 * ```ts
 * import { S3Bucket } from "./s3_bucket.ts";
 *
 * const bucket = new S3Bucket({
 *   bucket: "cache",
 *   endpoint: "http://127.0.0.1:9000",
 *   credentials: { accessKeyId: "id", secretAccessKey: "secret" },
 *   retry: { attempts: 2, baseDelayMs: 50 },
 * });
 * console.assert(bucket.url("k").endsWith("/cache/k"));
 * ```
 */
export interface S3RetryOptions {
  /** Attempts in all, the first included (default 4; 1 sends each request once). */
  attempts?: number;
  /** The wait before the first retry; it doubles for each next one, with jitter (default 100 ms). */
  baseDelayMs?: number;
  /** The longest wait between two attempts (default 2000 ms). */
  maxDelayMs?: number;
  /** Waits `ms` milliseconds (default: a timer); tests inject one that records the waits. */
  sleep?: (ms: number) => Promise<void>;
}

/** The retry defaults: 4 attempts, waits from 100 ms doubling up to 2 s: at most about 0.7 s in all. */
export const S3_RETRY: Readonly<Required<Omit<S3RetryOptions, "sleep">>> = Object.freeze({
  attempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 2000,
});

/** Statuses that say "try again", not "no": S3's InternalError and SlowDown, gateways, rate limits. */
const TRANSIENT = new Set([429, 500, 502, 503, 504]);

/** The longest a SigV4 presigned URL may be valid: 7 days (Amazon S3's limit, also R2's and MinIO's). */
export const PRESIGN_MAX_SECONDS: number = 7 * 24 * 3600;

// Every body is read with a cap (docs/security.md, rule 8), so a hostile endpoint cannot fill memory.
// Error bodies are small XML documents.
const ERROR_BODY_LIMIT = 64 * 1024;
// A listing page holds at most 1000 keys of at most 1024 bytes each, with their markup: under 2 MiB.
const XML_BODY_LIMIT = 16 << 20;
// Truncated pages without a key (S3 may send some) in a row before a listing is given up as endless.
const MAX_EMPTY_PAGES = 100;

function xmlText(value: string): string {
  return value.replace(/&(lt|gt|quot|apos|amp|#(\d+)|#x([0-9a-fA-F]+));/g, (_m, name, dec, hex) => {
    if (dec || hex) {
      const code = dec ? Number(dec) : parseInt(hex, 16);
      // A reference to no character (past U+10FFFF) is no text: it stays as it was.
      return code <= 0x10ffff ? String.fromCodePoint(code) : _m;
    }
    return { lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" }[name as string] ?? "";
  });
}

const utf8 = new TextEncoder();

/** S3 lists keys in UTF-8 binary order ("ListObjectsV2": "returned in UTF-8 binary order"). */
function utf8Compare(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < x.length && i < y.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** Passes exactly `length` bytes on; more, or fewer by the end, fail the stream (STORE_IO). */
function exactLength(length: number, what: string): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  const wrong = () =>
    new TugError("STORE_IO", `${what} answered ${seen} bytes where ${length} were asked for`);
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.length;
      if (seen > length) throw wrong();
      controller.enqueue(chunk);
    },
    flush() {
      if (seen !== length) throw wrong();
    },
  });
}

/** The body's bytes, read with a cap: a body over `limit` bytes fails (STORE_IO) and is not read on. */
async function boundedBytes(res: Response, limit: number, what: string): Promise<Uint8Array> {
  const reader = res.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > limit) {
      await reader.cancel().catch(() => {});
      throw new TugError("STORE_IO", `${what} answered more than ${limit} bytes: not read`);
    }
    chunks.push(value);
  }
  return new Uint8Array(await new Blob(chunks as BlobPart[]).arrayBuffer());
}

/** The body's text, read with a cap (see {@linkcode boundedBytes}). */
async function boundedText(res: Response, limit: number, what: string): Promise<string> {
  return new TextDecoder().decode(await boundedBytes(res, limit, what));
}

function xmlEscape(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll(
    '"',
    "&quot;",
  );
}

/** The text of every `<tag>…</tag>` in `xml` (S3's responses are flat enough for this). */
function xmlAll(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g");
  for (const m of xml.matchAll(re)) out.push(xmlText(m[1]));
  return out;
}

function xmlOne(xml: string, tag: string): string | undefined {
  return xmlAll(xml, tag)[0];
}

async function errorText(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length < ERROR_BODY_LIMIT) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  await reader.cancel().catch(() => {});
  const text = new TextDecoder().decode(await new Blob(chunks as BlobPart[]).arrayBuffer());
  const code = xmlOne(text, "Code");
  const message = xmlOne(text, "Message");
  return code ? `${code}${message ? `: ${message}` : ""}` : text.slice(0, 200);
}

/**
 * A bucket reached over the S3 API. {@linkcode s3Store} wraps one in an `ObjectStore`.
 *
 * @example
 * ```ts
 * import { S3Bucket } from "./s3_bucket.ts";
 *
 * const bucket = new S3Bucket({
 *   bucket: "cache",
 *   endpoint: "http://127.0.0.1:9000",
 *   credentials: { accessKeyId: "id", secretAccessKey: "secret" },
 * });
 * console.assert(bucket.url("blobs/x") === "http://127.0.0.1:9000/cache/blobs/x");
 * ```
 */
export class S3Bucket implements ObjectBucket {
  readonly #client: AwsClient;
  readonly #base: string;
  readonly #fetch: typeof fetch;
  readonly #name: string;
  readonly #now: () => number;
  readonly #retry: Required<S3RetryOptions>;
  readonly #timeout: number;
  // How many attempts a response took, for the error that names it.
  readonly #attempts = new WeakMap<Response, number>();

  /**
   * Addresses a bucket (no request is made until a method is called).
   *
   * @param options The bucket, endpoint, region, addressing style and credentials.
   * @throws {TypeError} If the endpoint is not an http(s) URL or the bucket name is empty.
   */
  constructor(options: S3BucketOptions) {
    const region = options.region ?? "us-east-1";
    if (typeof options.bucket !== "string" || !/^[A-Za-z0-9._-]+$/.test(options.bucket)) {
      throw new TypeError(`S3 bucket name ${JSON.stringify(options.bucket)} is not a bucket name`);
    }
    const endpoint = new URL(options.endpoint ?? `https://s3.${region}.amazonaws.com`);
    if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") {
      throw new TypeError(`S3 endpoint ${endpoint.href} is not an http(s) URL`);
    }
    // A name with dots, virtual-hosted over https, is a host its TLS wildcard (*.s3.REGION.amazonaws.com) does
    // not cover: path-style, as the AWS SDKs (botocore's addressing style "auto") pick for it.
    const pathStyle = options.pathStyle ?? (options.endpoint !== undefined || options.bucket.includes("."));
    const root = endpoint.pathname.replace(/\/+$/, "");
    this.#base = pathStyle
      ? `${endpoint.protocol}//${endpoint.host}${root}/${options.bucket}/`
      : `${endpoint.protocol}//${options.bucket}.${endpoint.host}${root}/`;
    this.#name = options.bucket;
    // aws4fetch's own retries are off: #send retries, on a clear rule, and re-signs each attempt.
    this.#client = new AwsClient({ ...options.credentials, service: "s3", region, retries: 0 });
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#now = options.now ?? Date.now;
    const retry = { ...S3_RETRY, ...options.retry };
    if (!Number.isSafeInteger(retry.attempts) || retry.attempts < 1 || retry.attempts > 20) {
      throw new RangeError(`S3 retry attempts must be a whole number from 1 to 20, got ${retry.attempts}`);
    }
    const timeout = options.timeout ?? S3_TIMEOUT;
    if (!Number.isSafeInteger(timeout) || timeout < 0) {
      throw new RangeError(`S3 timeout must be a whole number of milliseconds (0: none), got ${timeout}`);
    }
    this.#timeout = timeout;
    this.#retry = {
      ...retry,
      sleep: options.retry?.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    };
  }

  /**
   * A presigned URL (AWS Signature V4 in the query string) to GET the object under `key` for `expiresIn`
   * seconds. Only `host` is signed, so the holder may add a `Range` header; the signature covers the
   * method, this key and the expiry, so the URL opens nothing else. It holds the access key id and, with
   * temporary credentials, the session token (as every presigned URL does), never the secret key. Made
   * locally: no request.
   *
   * @throws {RangeError} If `expiresIn` is not a whole number of seconds from 1 to 7 days.
   */
  async presign(key: string, options: { expiresIn: number }): Promise<string> {
    const { expiresIn } = options;
    if (!Number.isSafeInteger(expiresIn) || expiresIn < 1 || expiresIn > PRESIGN_MAX_SECONDS) {
      throw new RangeError(
        `Presigned URL expiresIn must be whole seconds from 1 to ${PRESIGN_MAX_SECONDS}, got ${expiresIn}`,
      );
    }
    const url = new URL(this.url(key));
    // aws4fetch's default is a day: the expiry is always set here.
    url.searchParams.set("X-Amz-Expires", String(expiresIn));
    const datetime = new Date(this.#now()).toISOString().replace(/[:-]|\.\d{3}/g, "");
    const signed = await this.#client.sign(url.href, { method: "GET", aws: { signQuery: true, datetime } });
    return signed.url;
  }

  /**
   * The URL of the object under `key` (each segment percent-encoded).
   *
   * @throws {TugError} `STORE_IO` for a key with a `.` or `..` segment: URL parsing removes dot segments
   * (`%2e%2e` too), so `leases/../refs/x` would address `refs/x`; no request is ever made for one.
   */
  url(key: string): string {
    const segments = key.split("/");
    if (segments.some((s) => s === "." || s === "..")) {
      throw new TugError("STORE_IO", `S3 key ${JSON.stringify(key)} has a . or .. segment: not addressed`);
    }
    return this.#base + segments.map(encodeURIComponent).join("/");
  }

  /**
   * Sends one request, again after a network error or a transient status (see {@linkcode S3RetryOptions}),
   * and answers the last response. Redirects are never followed.
   */
  async #send(
    method: string,
    url: string,
    init: { headers?: Record<string, string>; body?: Uint8Array | string } = {},
  ): Promise<Response> {
    const { attempts, baseDelayMs, maxDelayMs, sleep } = this.#retry;
    for (let attempt = 1;; attempt++) {
      const res = await this.#sendOnce(method, url, init);
      const transient = res instanceof TugError || TRANSIENT.has(res.status);
      if (!transient || attempt >= attempts) {
        if (res instanceof TugError) {
          if (attempt > 1) res.message += ` (after ${attempt} attempts)`;
          throw res;
        }
        this.#attempts.set(res, attempt);
        return res;
      }
      if (!(res instanceof TugError)) await res.body?.cancel().catch(() => {});
      // Exponential backoff with jitter (half fixed, half random), so replicas that failed together do
      // not retry together.
      const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      await sleep(ceiling / 2 + Math.random() * (ceiling / 2));
    }
  }

  /** How many attempts `res` took (1 unless it came after retries). */
  #attemptsOf(res: Response): number {
    return this.#attempts.get(res) ?? 1;
  }

  /** One signed attempt: the response, or the error of a request that got none (network, refused, reset). */
  async #sendOnce(
    method: string,
    url: string,
    init: { headers?: Record<string, string>; body?: Uint8Array | string },
  ): Promise<Response | TugError> {
    // Signed without the body: the S3 signer sends `X-Amz-Content-Sha256: UNSIGNED-PAYLOAD` (aws4fetch's
    // default for S3; every attempt was so before too), so the body plays no part in the signature. The body
    // is then handed to fetch as it is, never wrapped in a Request here: a Request copies a byte body (the
    // Fetch standard's "extract a body"; Deno and undici both do), and an 8 MiB part copied per attempt is
    // garbage that V8 frees only after ~64 MiB more of it (docs/performance.md, "Proxy memory"). A fetch that
    // sends the caller's bytes as they are (`nodeBodyFetch`) then makes no copy at all.
    const signed = await this.#client.sign(url, {
      method,
      ...(init.headers ? { headers: init.headers } : {}),
    });
    let res: Response;
    // No answer in time: the attempt is cancelled (the signal also ends its body, which nobody has yet).
    const bodyBytes = typeof init.body === "string" ? init.body.length : init.body?.byteLength ?? 0;
    const limit = this.#timeout === 0 ? 0 : this.#timeout + Math.ceil(bodyBytes / BODY_BYTES_PER_MS);
    const controller = limit > 0 ? new AbortController() : undefined;
    const timer = controller && setTimeout(() => controller.abort(), limit);
    try {
      // Never followed (docs/security.md, rule 8): the request carries the signature, the session token and
      // the body (a blob, a reference), and fetch would resend the token and the body to whatever host a
      // 3xx names (Deno and Node drop only `Authorization` across origins). Every request goes to the
      // endpoint the operator configured, or nowhere.
      res = await this.#fetch(signed.url, {
        method,
        headers: signed.headers,
        ...(init.body !== undefined ? { body: init.body as BodyInit } : {}),
        redirect: "manual",
        ...(controller ? { signal: controller.signal } : {}),
      });
    } catch (cause) {
      const why = controller?.signal.aborted ? `no answer within ${limit} ms` : describeNetworkError(cause);
      return new TugError("STORE_IO", `S3 ${method} ${url} failed: ${why}`, { cause });
    } finally {
      clearTimeout(timer);
    }
    if (res.type === "opaqueredirect" || (res.status >= 300 && res.status < 400)) {
      await res.body?.cancel();
      const location = res.headers.get("location");
      let to = "elsewhere";
      try {
        if (location !== null) to = new URL(location, url).origin;
      } catch { /* not a URL */ }
      throw new TugError(
        "STORE_IO",
        `S3 ${method} ${url} (bucket ${this.#name}) answered ${
          res.status === 0 ? "a 3xx" : res.status
        }: a redirect to ${to}, not ` +
          `followed (the store sends requests only to its endpoint; check the endpoint, region and path-style)`,
        { detail: { status: res.status } },
      );
    }
    if (res.body === null || this.#timeout === 0) return res;
    // Every answer's body (an object, a listing page, an error document) fails with TIMEOUT when the bucket
    // stops sending it: only a pending read counts, so a reader that takes its time never trips it.
    const body = withIdleLimit(
      res.body,
      this.#timeout,
      `S3 ${method} ${url}`,
      () => new TugError("TIMEOUT", `S3 ${method} ${url}: the bucket sent nothing for ${this.#timeout} ms`),
    );
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  }

  async #fail(method: string, url: string, res: Response): Promise<never> {
    const attempts = this.#attemptsOf(res);
    throw new TugError(
      "STORE_IO",
      `S3 ${method} ${url} (bucket ${this.#name}) answered ${res.status}: ${await errorText(res)}` +
        (attempts > 1 ? ` (after ${attempts} attempts)` : ""),
      { detail: { status: res.status } },
    );
  }

  /** The object's size, or undefined when it is absent. */
  async head(key: string): Promise<{ size: number } | undefined> {
    const url = this.url(key);
    const res = await this.#send("HEAD", url);
    if (res.status === 404) return undefined;
    if (!res.ok) return await this.#fail("HEAD", url, res);
    const size = Number(res.headers.get("content-length"));
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new TugError("STORE_IO", `S3 HEAD ${url} answered without a Content-Length`);
    }
    return { size };
  }

  /** The object's bytes `[start, end)` (all without `range`), or undefined when it is absent. */
  async get(
    key: string,
    range?: { start: number; end: number },
  ): Promise<ReadableStream<Uint8Array> | undefined> {
    const url = this.url(key);
    const headers: Record<string, string> = range ? { range: `bytes=${range.start}-${range.end - 1}` } : {};
    const res = await this.#send("GET", url, { headers });
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status !== (range ? 206 : 200)) return await this.#fail("GET", url, res);
    const body = res.body ?? new ReadableStream({ start: (c) => c.close() });
    if (range === undefined) return body;
    // A range cannot be verified by digest: it must at least be the range asked for, byte for byte in
    // count (the rule of forwarded ranges, docs/security.md rule 6), or the stream fails.
    const expected = range.end - range.start;
    const contentRange = res.headers.get("content-range");
    const match = contentRange?.match(/^bytes (\d+)-(\d+)\/(\d+|\*)$/);
    if (!match || Number(match[1]) !== range.start || Number(match[2]) !== range.end - 1) {
      await body.cancel();
      throw new TugError(
        "STORE_IO",
        `S3 GET ${url} for bytes ${range.start}-${range.end - 1} answered Content-Range ${contentRange}`,
      );
    }
    return body.pipeThrough(exactLength(expected, `S3 GET ${url} (bytes ${range.start}-${range.end - 1})`));
  }

  /** Writes a whole object; with `ifNoneMatch`, only when none exists (false when one did). */
  async put(key: string, body: Uint8Array, options: { ifNoneMatch?: boolean } = {}): Promise<boolean> {
    const url = this.url(key);
    const headers: Record<string, string> = options.ifNoneMatch ? { "if-none-match": "*" } : {};
    const res = await this.#send("PUT", url, { headers, body });
    // 412: an object exists; 409: another conditional write to the key is in progress (S3 docs).
    if (options.ifNoneMatch && (res.status === 412 || res.status === 409)) {
      await res.body?.cancel();
      // After a retry, the object that exists may be this very write: an attempt the bucket applied whose
      // answer was lost (a 500 after the write, a reset connection). It won if the object holds its bytes
      // (a lease names its holder and expiry, so another writer's bytes differ).
      return this.#attemptsOf(res) > 1 && await this.#holds(key, body);
    }
    if (!res.ok) return await this.#fail("PUT", url, res);
    await res.body?.cancel();
    return true;
  }

  /** Whether the object under `key` holds exactly `bytes` (read with a cap: one byte more than they are). */
  async #holds(key: string, bytes: Uint8Array): Promise<boolean> {
    const url = this.url(key);
    const res = await this.#send("GET", url);
    if (res.status !== 200) {
      await res.body?.cancel();
      return false;
    }
    let held: Uint8Array;
    try {
      held = await boundedBytes(res, bytes.length, `S3 GET ${url}`);
    } catch (err) {
      if (err instanceof TugError) return false; // longer than `bytes`
      throw err;
    }
    return held.length === bytes.length && held.every((b, i) => b === bytes[i]);
  }

  /** Removes the object (no error when it is absent). */
  async delete(key: string): Promise<void> {
    const url = this.url(key);
    const res = await this.#send("DELETE", url);
    if (!res.ok && res.status !== 404) return await this.#fail("DELETE", url, res);
    await res.body?.cancel();
  }

  /** Every object under `prefix`, with its size and last-modified time (ListObjectsV2, 1000 a page). */
  async *list(prefix: string): AsyncIterable<{ key: string; size: number; lastModified?: number }> {
    let token: string | undefined;
    // Every key must come after the one before (S3 lists in UTF-8 binary order): a listing that repeats
    // itself, whatever its continuation tokens say, ends with an error instead of going round forever.
    let last: string | undefined;
    let empty = 0;
    // Bounded: a million pages are a billion objects.
    for (let page = 0; page < 1_000_000; page++) {
      const query = new URLSearchParams({ "list-type": "2", prefix });
      if (token !== undefined) query.set("continuation-token", token);
      const url = `${this.#base}?${query}`;
      const res = await this.#send("GET", url);
      if (!res.ok) return await this.#fail("GET", url, res);
      const xml = await boundedText(res, XML_BODY_LIMIT, `S3 GET ${url}`);
      let keys = 0;
      for (const contents of xmlAll(xml, "Contents")) {
        const key = xmlOne(contents, "Key");
        const size = Number(xmlOne(contents, "Size"));
        const lastModified = Date.parse(xmlOne(contents, "LastModified") ?? "");
        if (key === undefined || !Number.isSafeInteger(size) || size < 0) continue;
        if (!key.startsWith(prefix) || (last !== undefined && utf8Compare(key, last) <= 0)) {
          throw new TugError(
            "STORE_IO",
            `S3 GET ${url} listed ${JSON.stringify(key)}` +
              (key.startsWith(prefix)
                ? ` after ${JSON.stringify(last)} (out of order, or a repeated page)`
                : `, not under the prefix`) +
              `: the listing is not used`,
          );
        }
        last = key;
        keys++;
        yield Number.isFinite(lastModified) ? { key, size, lastModified } : { key, size };
      }
      const next = xmlOne(xml, "NextContinuationToken");
      if (xmlOne(xml, "IsTruncated") !== "true" || next === undefined) return;
      empty = keys === 0 ? empty + 1 : 0;
      if (next === token || empty > MAX_EMPTY_PAGES) {
        throw new TugError(
          "STORE_IO",
          `S3 GET ${url} keeps answering pages that list nothing new: not followed`,
        );
      }
      token = next;
    }
    throw new TugError(
      "STORE_IO",
      `S3 listing of ${prefix} in bucket ${this.#name} has more than a million pages`,
    );
  }

  /**
   * Every incomplete multipart upload under `prefix`, with when it was started (ListMultipartUploads,
   * 1000 a page). Services without it (s3rver) answer 501, thrown as a TugError `STORE_IO`.
   */
  async *listMultipartUploads(
    prefix: string,
  ): AsyncIterable<{ key: string; uploadId: string; initiated: number }> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    let lastKey: string | undefined;
    let empty = 0;
    // Bounded: a million pages are a billion uploads.
    for (let page = 0; page < 1_000_000; page++) {
      const query = new URLSearchParams({ uploads: "", prefix });
      if (keyMarker !== undefined) query.set("key-marker", keyMarker);
      if (uploadIdMarker !== undefined) query.set("upload-id-marker", uploadIdMarker);
      const url = `${this.#base}?${query}`;
      const res = await this.#send("GET", url);
      if (!res.ok) return await this.#fail("GET", url, res);
      const xml = await boundedText(res, XML_BODY_LIMIT, `S3 GET ${url}`);
      let uploads = 0;
      for (const upload of xmlAll(xml, "Upload")) {
        const key = xmlOne(upload, "Key");
        const uploadId = xmlOne(upload, "UploadId");
        const initiated = Date.parse(xmlOne(upload, "Initiated") ?? "");
        if (key !== undefined && uploadId !== undefined && Number.isFinite(initiated)) {
          if (!key.startsWith(prefix)) {
            throw new TugError(
              "STORE_IO",
              `S3 GET ${url} listed an upload to ${JSON.stringify(key)}, not under the prefix: not used`,
            );
          }
          // Uploads come in key order (several to one key in a row): a key before the last one listed
          // means the pages go round.
          if (lastKey !== undefined && utf8Compare(key, lastKey) < 0) {
            throw new TugError(
              "STORE_IO",
              `S3 GET ${url} listed an upload to ${JSON.stringify(key)} after ${JSON.stringify(lastKey)} ` +
                `(out of order, or a repeated page): not used`,
            );
          }
          lastKey = key;
          uploads++;
          yield { key, uploadId, initiated };
        }
      }
      const nextKey = xmlOne(xml, "NextKeyMarker");
      const nextId = xmlOne(xml, "NextUploadIdMarker");
      if (xmlOne(xml, "IsTruncated") !== "true" || !nextKey) return;
      // The markers must move on (they name the last upload listed): the same pair again is a loop.
      empty = uploads === 0 ? empty + 1 : 0;
      if ((nextKey === keyMarker && nextId === uploadIdMarker) || empty > MAX_EMPTY_PAGES) {
        throw new TugError(
          "STORE_IO",
          `S3 GET ${url} keeps answering pages that list nothing new: not followed`,
        );
      }
      keyMarker = nextKey;
      uploadIdMarker = nextId;
    }
    throw new TugError(
      "STORE_IO",
      `S3 upload listing of ${prefix} in bucket ${this.#name} has more than a million pages`,
    );
  }

  /** Aborts the multipart upload `uploadId` to `key`, freeing its parts (AbortMultipartUpload). */
  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    const url = `${this.url(key)}?${new URLSearchParams({ uploadId })}`;
    const res = await this.#send("DELETE", url);
    if (!res.ok && res.status !== 404) return await this.#fail("DELETE", url, res);
    await res.body?.cancel();
  }

  /** Starts a multipart upload (CreateMultipartUpload). */
  async createMultipartUpload(key: string): Promise<ObjectMultipartUpload> {
    const url = this.url(key);
    const res = await this.#send("POST", `${url}?uploads`);
    if (!res.ok) return await this.#fail("POST", `${url}?uploads`, res);
    const uploadId = xmlOne(await boundedText(res, ERROR_BODY_LIMIT, `S3 POST ${url}?uploads`), "UploadId");
    if (!uploadId) throw new TugError("STORE_IO", `S3 POST ${url}?uploads answered without an UploadId`);
    const at = (query: Record<string, string>) => `${url}?${new URLSearchParams({ ...query, uploadId })}`;
    return {
      uploadPart: async (partNumber: number, body: Uint8Array): Promise<ObjectPart> => {
        const partUrl = at({ partNumber: String(partNumber) });
        const res = await this.#send("PUT", partUrl, { body });
        if (!res.ok) return await this.#fail("PUT", partUrl, res);
        await res.body?.cancel();
        const etag = res.headers.get("etag");
        if (!etag) throw new TugError("STORE_IO", `S3 PUT ${partUrl} answered without an ETag`);
        return { partNumber, etag };
      },
      complete: async (parts: readonly ObjectPart[]): Promise<void> => {
        const body = "<CompleteMultipartUpload>" +
          parts.map((p) =>
            `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${xmlEscape(p.etag)}</ETag></Part>`
          ).join("") + "</CompleteMultipartUpload>";
        const doneUrl = at({});
        const res = await this.#send("POST", doneUrl, {
          body,
          headers: { "content-type": "application/xml" },
        });
        // After a retry, a failure may mean an earlier attempt completed the upload and its answer was lost:
        // the upload is then gone (S3 and radosgw answer 404 NoSuchUpload, s3rver a 500). Done if the object
        // is there: the caller verified these parts, and the only multipart objects are blobs, whose key
        // names their bytes.
        if (!res.ok && this.#attemptsOf(res) > 1 && await this.head(key) !== undefined) {
          await res.body?.cancel();
          return;
        }
        if (!res.ok) return await this.#fail("POST", doneUrl, res);
        // S3 may answer 200 and report the failure in the body ("CompleteMultipartUpload", Amazon S3 API).
        const text = await boundedText(res, ERROR_BODY_LIMIT, `S3 POST ${doneUrl}`);
        if (/<Error>/.test(text)) {
          throw new TugError(
            "STORE_IO",
            `S3 POST ${doneUrl} failed: ${xmlOne(text, "Code") ?? text.slice(0, 200)}`,
          );
        }
      },
      abort: async (): Promise<void> => {
        const abortUrl = at({});
        const res = await this.#send("DELETE", abortUrl);
        if (!res.ok && res.status !== 404) return await this.#fail("DELETE", abortUrl, res);
        await res.body?.cancel();
      },
    };
  }
}
