/**
 * The size cap of the worker's R2 cache (`BUCKET_MAX_BYTES`): `ObjectLru` over the bucket bound as `BLOBS`.
 * Each isolate records the blobs it serves and commits and writes that as a usage record in the bucket; the
 * worker's `scheduled()` handler (a Cloudflare Cron Trigger) runs one eviction pass. See
 * src/store/object_lru.ts for the objects it keeps and docs/proxy.md for the costs.
 *
 * @module
 */

import type { ExecutionContext } from "npm:hono@^4.13.19";
import { type EvictReport, ObjectLru } from "../../src/store/object_lru.ts";
import type { ObjectBucket } from "../../src/store/object_store.ts";
import type { Store } from "../../src/store/types.ts";
import { parseSize } from "../../src/parse_size.ts";

/** The bindings of the bucket cap. */
export interface BucketCapEnv {
  /** The R2 bucket binding the cap applies to. */
  BLOBS?: unknown;
  /** The most blob bytes kept in `BLOBS` (a size such as `50GB`, or bytes). */
  BUCKET_MAX_BYTES?: string;
  /** Seconds: a blob used this recently is never evicted (default 600). */
  BUCKET_EVICT_GRACE?: string;
}

/** What `BUCKET_MAX_BYTES` and `BUCKET_EVICT_GRACE` say. */
export interface BucketCap {
  maxBytes: number;
  graceMs: number;
}

/**
 * A blob used within this long is never evicted. Longer than the usage records' flush interval (a minute)
 * and than a client takes between a manifest and its layers.
 */
const DEFAULT_GRACE_SECONDS = 600;

/**
 * An isolate writes its usage record at most this often for the blobs it serves (one PUT, a Class A
 * operation, per isolate per minute while it serves, rather than one per blob request). A fill's commit is
 * written when its work ends: without that record, no pass would know the new blob.
 */
export const FLUSH_INTERVAL_MS = 60_000;

/**
 * How long one scheduled pass deletes blobs. The index is written after the deletes and the pass holds
 * its lease (`ObjectLru`'s default: 5 minutes) throughout, so a pass stops deleting well before either the
 * lease or the runtime would stop it; the next Cron Trigger goes on.
 */
export const PASS_DELETE_MS = 60_000;

/**
 * Reads the cap from the bindings: undefined without `BUCKET_MAX_BYTES`. A value the worker cannot use is
 * refused naming the binding, as the other bindings are: a deployer sees it in the worker's log.
 *
 * @param env The worker's bindings.
 * @param ownStore The deployer's entry passes its own store (the cap applies to the `BLOBS` cache only).
 */
export function bucketCapFromEnv(env: BucketCapEnv, ownStore = false): BucketCap | undefined {
  const max = env.BUCKET_MAX_BYTES;
  const grace = env.BUCKET_EVICT_GRACE;
  if (max === undefined || max === "") {
    if (grace !== undefined && grace !== "") {
      throw new TypeError(
        "BUCKET_EVICT_GRACE applies only with BUCKET_MAX_BYTES (the cap of the BLOBS bucket)",
      );
    }
    return undefined;
  }
  const maxBytes = parseSize(max);
  if (maxBytes === undefined) {
    throw new TypeError(
      `BUCKET_MAX_BYTES must be bytes or a size such as 50GB or 1TiB (powers of 1024), got ${
        JSON.stringify(max)
      }`,
    );
  }
  if (ownStore) {
    throw new TypeError(
      "BUCKET_MAX_BYTES caps the default cache in the R2 bucket bound as BLOBS, but this worker's entry passes its own store: wrap that store with ObjectLru instead",
    );
  }
  if (env.BLOBS === undefined) {
    throw new TypeError(
      "BUCKET_MAX_BYTES caps the R2 bucket bound as BLOBS, and the worker has no BLOBS binding (the in-memory cache is capped by CACHE_MAX_BYTES)",
    );
  }
  let graceSeconds = DEFAULT_GRACE_SECONDS;
  if (grace !== undefined && grace !== "") {
    if (!/^\d+$/.test(grace)) {
      throw new TypeError(`BUCKET_EVICT_GRACE must be whole seconds, got ${JSON.stringify(grace)}`);
    }
    graceSeconds = Number(grace);
  }
  return { maxBytes, graceMs: graceSeconds * 1000 };
}

/** The part of a workerd `ExecutionContext` the eviction uses. */
interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

/** Where the eviction reports (the worker's log). */
export interface EvictionLog {
  log(message: string): void;
  error(message: string): void;
}

/**
 * One isolate's part of the cap: records through {@linkcode BucketEviction.wrap}, writes its usage records
 * (throttled, in `waitUntil`), and runs the scheduled pass.
 */
export class BucketEviction {
  readonly #lru: ObjectLru;
  readonly #cap: BucketCap;
  readonly #now: () => number;
  readonly #out: EvictionLog;
  #lastFlush = -Infinity;
  #flushing: Promise<void> | undefined;

  constructor(
    bucket: ObjectBucket,
    cap: BucketCap,
    options: { prefix?: string; now?: () => number; log?: EvictionLog } = {},
  ) {
    this.#now = options.now ?? Date.now;
    this.#lru = new ObjectLru({
      bucket,
      now: this.#now,
      ...(options.prefix ? { prefix: options.prefix } : {}),
    });
    this.#cap = cap;
    this.#out = options.log ?? { log: (m) => console.log(m), error: (m) => console.error(m) };
  }

  /** `store` (over the bucket), recording what it serves, commits and deletes. */
  wrap(store: Store): Store {
    return this.#lru.wrap(store);
  }

  /**
   * The request's context for the proxy: work it keeps going after the response (a fill, which commits
   * the blob) is followed by a usage record, so the new blob is known to the next pass in any isolate.
   */
  context(ctx: ExecutionContext): ExecutionContext {
    // A new object calling the real one: workerd's methods refuse a `this` that is not their context.
    return {
      waitUntil: (work) => ctx.waitUntil(work.finally(() => this.#flush())),
      passThroughOnException: () => ctx.passThroughOnException(),
      props: ctx.props,
    };
  }

  /** After a response: writes the usage record if the last is a minute old (in `ctx.waitUntil`). */
  afterRequest(ctx: WaitUntil): void {
    if (this.#now() - this.#lastFlush < FLUSH_INTERVAL_MS) return;
    ctx.waitUntil(this.#flush());
  }

  /**
   * Writes what was recorded, after any flush under way (which took only what was recorded before it
   * started); a flush with nothing recorded writes nothing.
   */
  #flush(): Promise<void> {
    this.#lastFlush = this.#now();
    const next: Promise<void> = (this.#flushing ?? Promise.resolve()).then(() => this.#lru.flush()).then(
      () => {},
      (err) => this.#out.error(`tug: cannot write the cache's usage record: ${(err as Error).message}`),
    ).finally(() => {
      if (this.#flushing === next) this.#flushing = undefined;
    });
    this.#flushing = next;
    return next;
  }

  /** One eviction pass down to the cap, deleting for at most {@linkcode PASS_DELETE_MS}. */
  async run(): Promise<EvictReport> {
    await this.#flushing;
    const report = await this.#lru.evict({
      maxBytes: this.#cap.maxBytes,
      graceMs: this.#cap.graceMs,
      deadline: this.#now() + PASS_DELETE_MS,
    });
    if (report.busy) {
      this.#out.log("tug: cache eviction: another pass holds the bucket's lease; this one did nothing");
    } else {
      this.#out.log(
        `tug: cache eviction: deleted ${report.deleted.length} blob(s), ${report.reclaimed} bytes; ` +
          `${report.count} blob(s), ${report.total} bytes left (cap ${this.#cap.maxBytes})` +
          (report.timedOut ? "; stopped at the time limit, the next pass goes on" : ""),
      );
    }
    return report;
  }
}
