/**
 * The proxy on workerd (Cloudflare's runtime; the npm `workerd` package runs it locally). Bundle this
 * module with `buildWorker()` (adapters/serve/build_workerd.ts) and start workerd with a config from
 * `workerdConfig()` (adapters/serve/workerd_config.ts).
 *
 * Configuration comes from text bindings: `UPSTREAMS` (JSON, `{"name": "url" | {url, …}}`),
 * `DEFAULT_UPSTREAM`, `TAG_TTL` (seconds), `CACHE_MAX_BYTES`, `ALLOW_ORIGINS` (comma separated, or `*`),
 * `PUBLIC_URL` (the token realm's origin; without it, the request URL's origin, i.e. the route's host),
 * `REDIRECT` (`true` or seconds: cached blobs by redirect to presigned URLs; not with an R2 binding).
 * `TOKEN_SECRET` (64 hex digits shared by every isolate, so each opens the client tokens the others issued).
 * `BUCKET_MAX_BYTES` caps the R2 bucket `BLOBS` (`ObjectLru`): isolates record what they serve in the bucket,
 * and the worker's `scheduled()` handler (a Cron Trigger) runs one eviction pass.
 * The cache is the store the deployer passes (`createWorker({ store })` in their own entry module, bundled
 * with `buildWorker(outfile, { entry })`), else the R2 bucket bound as `BLOBS` (under `R2_PREFIX`) behind a
 * small in-memory front (`CACHE_MAX_BYTES`, default 32 MiB, for manifests and configs), else in memory, per
 * isolate, capped by `CACHE_MAX_BYTES` (default 32 MiB), where a blob larger than `STREAM_THROUGH_ABOVE`
 * (default a quarter of the cap) is neither cached nor shared: each client streams it from an upstream GET of
 * its own, so the isolate stays within its 128 MB: the default export is `createWorker()`. Hashing uses
 * node:crypto, so the worker needs the `nodejs_compat` compatibility flag (workers may not compile
 * WebAssembly at run time, which the portable hasher would need).
 *
 * @module
 */

import type { ExecutionContext } from "npm:hono@^4.13.19";
import { createProxy } from "../../src/proxy/create_proxy.ts";
import type { ProxyApp, UpstreamConfig } from "../../src/proxy/create_proxy.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";
import type { Store } from "../../src/store/types.ts";
import { DOCKER_HUB_REGISTRY } from "../../src/registry/lookup_endpoints.ts";
import { nodeHasher } from "../crypto/node_hasher.ts";
import type { R2BucketBinding } from "../r2/r2_bucket.ts";
import { r2Store } from "../r2/r2_store.ts";
import { frontedStore } from "../../src/store/front_store.ts";
import { parseSize } from "../../src/parse_size.ts";
import { tokenSecretFromHex } from "./token_secret.ts";
import { bucketCapFromEnv, BucketEviction } from "./_workerd_evict.ts";
import { R2Bucket } from "../r2/r2_bucket.ts";

/** The bindings the worker reads. */
export interface WorkerEnv {
  /** JSON: upstream name → URL or `UpstreamConfig`. */
  UPSTREAMS?: string;
  /** The upstream for names without a prefix. */
  DEFAULT_UPSTREAM?: string;
  /** Seconds a cached tag is used before a HEAD upstream revalidates it. */
  TAG_TTL?: string;
  /**
   * The most bytes the in-memory cache keeps (default 32 MiB); with `BLOBS`, the bytes of the small
   * in-memory front before the bucket (default 32 MiB).
   */
  CACHE_MAX_BYTES?: string;
  /**
   * Without `BLOBS` (the cache in the isolate's memory): a blob larger than this (bytes, or a size such as
   * `8MB`) is neither cached nor shared; each client's GET streams an upstream GET of its own, verified in
   * flight, so one upstream GET per client for such blobs (`createProxy`'s `streamThroughAbove`). Default: a
   * quarter of `CACHE_MAX_BYTES` (8 MiB), so a few downloads at once and the cache fit in an isolate's 128 MB.
   * Not read with `BLOBS` (the bucket holds every blob, downloaded once for the fleet) or a deployer's store.
   */
  STREAM_THROUGH_ABOVE?: string;
  /**
   * An R2 bucket binding: the cache lives there, shared by every isolate and location, with only a small
   * in-memory front for manifests and configs. Objects go under `R2_PREFIX` (default none).
   */
  BLOBS?: R2BucketBinding;
  /** The key prefix (folder) of the cache in `BLOBS`. */
  R2_PREFIX?: string;
  /**
   * Seconds an isolate's download lease in `BLOBS` lives unless renewed (default 30): isolates over one
   * bucket download a blob once, and one that dies mid-download holds it up for this long.
   */
  LEASE_TTL?: string;
  /** Origins allowed by CORS, comma separated, or `*`. */
  ALLOW_ORIGINS?: string;
  /** The worker's public URL (`https://mirror.example`): the realm of its token challenge. */
  PUBLIC_URL?: string;
  /**
   * `true`, or the seconds a URL is valid: cached blob GETs are answered with a 307 to a presigned URL of
   * their object (`createProxy`'s `redirect`). Needs a store with blob URLs: an `s3Store` (over R2's S3
   * endpoint) passed as `store`. An R2 binding (`BLOBS`) has no credentials to sign with: the worker then
   * fails at start.
   */
  REDIRECT?: string;
  /**
   * 64 hex digits (`openssl rand -hex 32`, a secret binding): the key of the client tokens, so that every
   * isolate opens the tokens the others issued (default: a random key per isolate).
   */
  TOKEN_SECRET?: string;
  /**
   * The most blob bytes kept in `BLOBS` (bytes, or a size such as `50GB`; powers of 1024): the least
   * recently used are evicted by the worker's `scheduled()` handler, run by a Cron Trigger. Needs `BLOBS`.
   */
  BUCKET_MAX_BYTES?: string;
  /** Seconds: with `BUCKET_MAX_BYTES`, a blob used this recently is never evicted (default 600). */
  BUCKET_EVICT_GRACE?: string;
}

/** `REDIRECT`: `true`, whole seconds, or off (`false`, empty, absent). */
function redirectFromEnv(value: string | undefined): boolean | { expiresIn: number } {
  if (value === undefined || value === "" || value === "false") return false;
  if (value === "true") return true;
  if (/^\d+$/.test(value) && Number(value) > 0) return { expiresIn: Number(value) };
  throw new TypeError(`REDIRECT must be true, false or a number of seconds, got ${JSON.stringify(value)}`);
}

/**
 * `CACHE_MAX_BYTES`, `STREAM_THROUGH_ABOVE`: bytes or a size as Docker reads one (`32MB`, `1GiB`), else
 * `fallback`. A value that is neither is refused naming the variable: a deployer sees it in the worker's
 * log, not a store's message.
 */
function cacheMaxBytes(value: string | undefined, fallback: number, name = "CACHE_MAX_BYTES"): number {
  if (value === undefined || value === "") return fallback;
  const bytes = parseSize(value);
  if (bytes === undefined) {
    throw new TypeError(
      `${name} must be bytes or a size such as 32MB or 1GiB (powers of 1024), got ${JSON.stringify(value)}`,
    );
  }
  return bytes;
}

/** `TAG_TTL`, `LEASE_TTL`: whole seconds (a `5m` would otherwise become NaN and silently change behaviour). */
function secondsFromEnv(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^\d+$/.test(value)) {
    throw new TypeError(`${name} must be whole seconds, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** `UPSTREAMS`: a JSON object of upstream name → URL or `UpstreamConfig`. */
function upstreamsFromEnv(value: string | undefined): Record<string, string | UpstreamConfig> {
  if (value === undefined || value === "") return { "docker.io": DOCKER_HUB_REGISTRY };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new TypeError(
      `UPSTREAMS must be a JSON object such as {"docker.io":"https://registry-1.docker.io"}, got ${
        JSON.stringify(value.slice(0, 100))
      }`,
    );
  }
  return parsed as Record<string, string | UpstreamConfig>;
}

/** Options for {@linkcode createWorker} and {@linkcode proxyFromEnv}. */
export interface WorkerOptions<Env extends WorkerEnv = WorkerEnv> {
  /**
   * Makes the proxy's store from the worker's bindings (e.g. an R2 bucket binding), once per isolate.
   * Default: a MemoryStore capped by `CACHE_MAX_BYTES`. A store that cannot read a blob back while it is
   * written declares it (`capabilities.readWhileWriting: false`); the proxy's fills stay bounded with it.
   */
  store?: (env: Env) => Store;
}

/**
 * The cache without a deployer's store: the R2 bucket `BLOBS` behind a small front, else memory. With
 * `eviction`, what the store serves and commits (front included) is recorded for the bucket's cap.
 */
function defaultStore(env: WorkerEnv, eviction?: BucketEviction): Store {
  if (env.BLOBS) {
    const leaseTtl = secondsFromEnv("LEASE_TTL", env.LEASE_TTL);
    const bucket = r2Store(env.BLOBS, {
      hasher: nodeHasher,
      ...(env.R2_PREFIX ? { prefix: env.R2_PREFIX } : {}),
      ...(leaseTtl !== undefined ? { leases: { ttl: leaseTtl * 1000 } } : {}),
    });
    const store = frontedStore(bucket, { maxBytes: cacheMaxBytes(env.CACHE_MAX_BYTES, 32 * 1024 * 1024) });
    return eviction ? eviction.wrap(store) : store;
  }
  return new MemoryStore({ maxBytes: memoryCacheBytes(env) });
}

/** The in-memory cache's cap without `BLOBS` (default 32 MiB: an isolate has 128 MB in all). */
function memoryCacheBytes(env: WorkerEnv): number {
  return cacheMaxBytes(env.CACHE_MAX_BYTES, 32 * 1024 * 1024);
}

/**
 * `STREAM_THROUGH_ABOVE` for the in-memory cache (no `BLOBS`, no deployer's store): the largest blob one
 * download shares and the cache takes. A shared download of a blob keeps all of it in memory until it is
 * committed (the memory store holds the blob it writes, and its late clients read it back from there), and
 * pacing it to its slowest client instead means waking one request's upstream reads from another's
 * requests, which workerd forbids ("Cannot perform I/O on behalf of a different request"); so a large blob
 * goes to each client from a GET of its own. Default a quarter of the cap: a few blobs downloading at once,
 * each held whole, plus the cache, fit in the isolate.
 */
function streamThroughAbove(env: WorkerEnv): number {
  return cacheMaxBytes(
    env.STREAM_THROUGH_ABOVE,
    Math.floor(memoryCacheBytes(env) / 4),
    "STREAM_THROUGH_ABOVE",
  );
}

/**
 * Builds the proxy app from the worker's bindings (exported for tests; the worker calls it once per isolate).
 *
 * @example
 * ```ts
 * import { proxyFromEnv } from "./workerd.ts";
 *
 * const app = proxyFromEnv({ UPSTREAMS: '{"hub":"https://registry.example"}' });
 * const res = await app.fetch(new Request("http://worker.test/healthz"));
 * console.assert((await res.text()) === "ok");
 * ```
 */
export function proxyFromEnv<Env extends WorkerEnv>(env: Env, options: WorkerOptions<Env> = {}): ProxyApp {
  return isolateFromEnv(env, options).app;
}

/** What an isolate keeps: the app, and the bucket cap's recorder when `BUCKET_MAX_BYTES` is set. */
interface Isolate {
  app: ProxyApp;
  eviction?: BucketEviction;
}

function isolateFromEnv<Env extends WorkerEnv>(env: Env, options: WorkerOptions<Env>): Isolate {
  const cap = bucketCapFromEnv(env, options.store !== undefined);
  const eviction = cap && env.BLOBS
    ? new BucketEviction(new R2Bucket(env.BLOBS), cap, env.R2_PREFIX ? { prefix: env.R2_PREFIX } : {})
    : undefined;
  const upstreams = upstreamsFromEnv(env.UPSTREAMS);
  const tagTtl = secondsFromEnv("TAG_TTL", env.TAG_TTL);
  const origins = env.ALLOW_ORIGINS?.split(",").map((o) => o.trim()).filter(Boolean);
  const redirect = redirectFromEnv(env.REDIRECT);
  const tokenSecret = tokenSecretFromHex(env.TOKEN_SECRET, "TOKEN_SECRET");
  const inMemory = options.store === undefined && !env.BLOBS;
  const app = createProxy({
    store: options.store?.(env) ?? defaultStore(env, eviction),
    ...(inMemory ? { streamThroughAbove: streamThroughAbove(env) } : {}),
    upstreams,
    hasher: nodeHasher,
    // Not paced: a paced download waits for its slowest client on a timer, and measured on workerd (8 curls,
    // a 250 MB blob streamed through, 2026-12-03) that ran 8-15x slower than distribution, and one run of two
    // hung in its second batch; see docs/performance.md.
    paceFills: false,
    ...(env.DEFAULT_UPSTREAM ? { defaultUpstream: env.DEFAULT_UPSTREAM } : {}),
    ...(env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {}),
    ...(tokenSecret ? { tokenSecret } : {}),
    ...(tagTtl !== undefined ? { tagTtl } : {}),
    ...(redirect !== false ? { redirect } : {}),
    ...(origins && origins.length > 0
      ? { allowOrigins: origins.includes("*") ? "*" as const : origins }
      : {}),
  });
  return { app, ...(eviction ? { eviction } : {}) };
}

/** A workerd module worker: the handler object a module exports as its default. */
export interface ProxyWorker<Env extends WorkerEnv = WorkerEnv> {
  /** Answers one request (the app is built from `env` on the first). */
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>;
  /**
   * A Cron Trigger's event: with `BUCKET_MAX_BYTES`, one eviction pass over `BLOBS` (in `ctx.waitUntil`);
   * without it, nothing (said once in the log).
   */
  scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void>;
}

/** The part of workerd's `ScheduledController` the worker reads. */
export interface ScheduledController {
  /** The Cron Trigger's expression (`"0 * * * *"`). */
  readonly cron: string;
  /** When the event was scheduled (ms since the epoch). */
  readonly scheduledTime: number;
}

/**
 * A worker whose proxy takes its store from `options.store` (default: in memory). A deployer's entry
 * module exports it as its default and is bundled with `buildWorker(outfile, { entry })`.
 *
 * @example A worker over a store of the deployer's choosing
 * ```ts
 * import { createWorker } from "./workerd.ts";
 * import { MemoryStore } from "../../src/store/memory_store.ts";
 *
 * // Stand-in for an R2-backed store made from a bucket binding.
 * const worker = createWorker({ store: () => new MemoryStore({ maxBytes: 64 << 20 }) });
 * const res = await worker.fetch(new Request("http://worker.test/healthz"), {}, {
 *   waitUntil: () => {},
 *   passThroughOnException: () => {},
 *   props: {},
 * });
 * console.assert(res.status === 200);
 * ```
 */
export function createWorker<Env extends WorkerEnv = WorkerEnv>(
  options: WorkerOptions<Env> = {},
): ProxyWorker<Env> {
  // One app per isolate, built on the first request: it holds the cache, the single-flight table of blob
  // downloads and the upstream grants, which must outlive a request. Nothing request-scoped lives here.
  let isolate: Isolate | undefined;
  let saidIdle = false;
  return {
    fetch(request, env, ctx) {
      isolate ??= isolateFromEnv(env, options);
      const { app, eviction } = isolate;
      if (!eviction) return app.fetch(request, env, ctx);
      // With the bucket cap: what the request served is recorded, written to the bucket after the response.
      return Promise.resolve(app.fetch(request, env, eviction.context(ctx))).finally(() =>
        eviction.afterRequest(ctx)
      );
    },
    scheduled(_controller, env, ctx) {
      isolate ??= isolateFromEnv(env, options);
      const { eviction } = isolate;
      if (!eviction) {
        if (!saidIdle) {
          saidIdle = true;
          console.log(
            "tug: scheduled event: nothing to evict (BUCKET_MAX_BYTES is not set: the cache has no cap to keep)",
          );
        }
        return Promise.resolve();
      }
      const pass = eviction.run().then(() => {}, (err) => {
        console.error(`tug: cache eviction failed: ${(err as Error).message}`);
        throw err;
      });
      // Workers keep a scheduled event's work going through waitUntil; the handler's promise is the same
      // pass, so a failed one is reported as the event's outcome too.
      ctx.waitUntil(pass);
      return pass;
    },
  };
}

/**
 * The worker with the default store (in memory). workerd's module format requires the handler object as
 * the module's default export.
 *
 * @example
 * ```ts
 * import worker from "./workerd.ts";
 *
 * const res = await worker.fetch(new Request("http://worker.test/healthz"), {}, {
 *   waitUntil: () => {},
 *   passThroughOnException: () => {},
 *   props: {},
 * });
 * console.assert(res.status === 200);
 * ```
 */
const worker: ProxyWorker = createWorker();
export default worker;
