// This module is browser compatible.
/**
 * Leases on blob downloads over an object-storage bucket ({@linkcode ObjectLeases}): how replicas of the
 * proxy that share one bucket download each blob from the upstream once for the whole fleet.
 *
 * A lease is a small JSON object under `PREFIX/leases/<algorithm>/<hex>`, created with a conditional
 * write (`If-None-Match: *`, which S3, R2, MinIO and Ceph radosgw honour): of the processes that try at
 * once, exactly one creates it. Its body names the holder (a random id), the blob's size once the
 * upstream announced it, and an expiry. The holder rewrites it every third of the lease's time to live
 * while its download runs, and deletes it after the commit (or the failure). The others wait, polling with
 * a bounded backoff, until the blob object is committed (then they read it), or until the lease is gone
 * without a blob (its holder failed) or has lapsed (its holder died): then they take it.
 *
 * What this does not guarantee, honestly:
 * - Taking over a lapsed lease is a delete and a conditional create; two processes that both saw it lapse
 *   can both end up downloading (one deletes the lease the other just created). A renewal that finds
 *   another holder stops renewing but lets its download finish. At worst the blob is downloaded twice;
 *   it is never wrong, as every download is verified against its digest before it becomes an object, and
 *   two commits of one digest write the same bytes.
 * - The expiry is the holder's clock: the time to live must exceed the clock skew between replicas.
 * - A bucket that ignores `If-None-Match` (s3rver does) lets every process "create" the lease: each then
 *   downloads on its own, as without leases; the results stay correct.
 *
 * @module
 */

import { parseDigest } from "../digest/parse_digest.ts";
import { TugError } from "../errors.ts";
import { readBounded } from "./_bounded_read.ts";
import type { ObjectBucket } from "./object_store.ts";
import type { BlobLeaseOutcome, BlobLeaseRecord, BlobLeases, HeldBlobLease } from "./types.ts";

/** The default time to live of a lease, in milliseconds. */
export const LEASE_TTL: number = 30_000;

/** The default longest wait for another holder, in milliseconds (then the process downloads alone). */
export const LEASE_MAX_WAIT: number = 15 * 60_000;

/** Sleeps `ms` milliseconds; rejects with the signal's reason when it aborts. */
export type LeaseSleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * Options for {@linkcode ObjectLeases}.
 *
 * @example
 * ```ts
 * import type { ObjectLeasesOptions } from "./object_lease.ts";
 *
 * const options: Partial<ObjectLeasesOptions> = { ttl: 10_000, pollMax: 500 };
 * console.assert(options.ttl! > options.pollMax!);
 * ```
 */
export interface ObjectLeasesOptions {
  /** The bucket. */
  bucket: ObjectBucket;
  /** The store's key prefix, empty or ending in `/` (leases go under `PREFIX/leases/`). */
  root: string;
  /** The key of a committed blob (its object is what waiters look for). */
  blobKey: (digest: string) => string;
  /** Milliseconds a lease lives unless renewed (default {@linkcode LEASE_TTL}); renewed every third. */
  ttl?: number;
  /** The longest wait for another holder, in ms (default {@linkcode LEASE_MAX_WAIT}). */
  maxWait?: number;
  /** The first poll delay of a wait, in ms, doubled up to `pollMax` (default 50). */
  pollMin?: number;
  /** The longest poll delay, in ms (default 1000, at most a quarter of `ttl`). */
  pollMax?: number;
  /** The clock, in ms since the epoch (default `Date.now`). */
  now?: () => number;
  /** Waits (default: a timer cleared on abort). */
  sleep?: LeaseSleep;
  /** Jitter of the poll delays, in [0, 1) (default `Math.random`). */
  random?: () => number;
}

/**
 * The default {@linkcode LeaseSleep}: a timer that a signal clears (an aborted wait leaves no timer behind).
 *
 * @param ms Milliseconds to wait.
 * @param signal Ends the wait early, rejecting with its reason.
 * @returns A promise that resolves after `ms`.
 *
 * @example
 * ```ts
 * import { defaultLeaseSleep } from "./object_lease.ts";
 *
 * const controller = new AbortController();
 * const waiting = defaultLeaseSleep(60_000, controller.signal);
 * controller.abort(new Error("no longer needed"));
 * await waiting.catch((err) => console.assert(err.message === "no longer needed"));
 * ```
 */
export function defaultLeaseSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function checkMs(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) {
    throw new RangeError(`Lease option ${name} must be a number of milliseconds ≥ ${min}, got ${value}`);
  }
  return value;
}

class Held implements HeldBlobLease {
  readonly holder: string;
  readonly #leases: ObjectLeases;
  readonly #key: string;
  #size: number | undefined;
  #released = false;
  readonly #stop = new AbortController();
  readonly #renewing: Promise<void>;

  constructor(leases: ObjectLeases, key: string, holder: string) {
    this.holder = holder;
    this.#leases = leases;
    this.#key = key;
    this.#renewing = this.#renew();
  }

  record(): BlobLeaseRecord {
    return {
      holder: this.holder,
      ...(this.#size !== undefined ? { size: this.#size } : {}),
      expires: this.#leases.now() + this.#leases.ttl,
    };
  }

  async #renew(): Promise<void> {
    // Bounded by the download it belongs to: release() stops it. The iteration cap is a backstop.
    for (let i = 0; i < 10_000_000; i++) {
      try {
        await this.#leases.sleep(this.#leases.ttl / 3, this.#stop.signal);
      } catch {
        return; // released
      }
      if (this.#released) return;
      try {
        const current = await this.#leases.read(this.#key);
        // Taken over (this process was too slow to renew): the other holder downloads too; stop here.
        if (current !== undefined && current.holder !== this.holder) return;
        await this.#leases.write(this.#key, this.record());
      } catch {
        // A failed renewal is retried at the next tick; the lease may lapse meanwhile (then at worst
        // another process downloads too).
      }
    }
  }

  async describe(size: number): Promise<void> {
    this.#size = size;
    if (this.#released) return;
    try {
      await this.#leases.write(this.#key, this.record());
    } catch {
      // Waiters see no size yet and keep polling; the next renewal writes it.
    }
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#stop.abort();
    await this.#renewing;
    try {
      const current = await this.#leases.read(this.#key);
      // Another process's lease (it took this one over) stays.
      if (current?.holder === this.holder) await this.#leases.bucket.delete(this.#key);
    } catch {
      // Left behind, it lapses after the time to live.
    }
  }
}

// A lease record is a small JSON object: a bigger one is planted, and read as lapsed (docs/security.md, rule 8).
const LEASE_RECORD_LIMIT = 64 << 10;

/**
 * {@linkcode BlobLeases} over an {@linkcode ObjectBucket}: see the module doc. `ObjectStore` makes one
 * (`store.leases`); the proxy takes a lease before it downloads a blob.
 *
 * @example Two processes over one bucket (here a bucket in memory that honours `If-None-Match`)
 * ```ts
 * import { ObjectLeases } from "./object_lease.ts";
 * import type { ObjectBucket } from "./object_store.ts";
 *
 * const objects = new Map<string, Uint8Array<ArrayBuffer>>();
 * const bucket = {
 *   head: (key: string) => Promise.resolve(objects.has(key) ? { size: objects.get(key)!.length } : undefined),
 *   get: (key: string) => Promise.resolve(objects.has(key) ? new Response(objects.get(key)!).body! : undefined),
 *   put: (key: string, body: Uint8Array, options?: { ifNoneMatch?: boolean }) => {
 *     if (options?.ifNoneMatch && objects.has(key)) return Promise.resolve(false);
 *     objects.set(key, body.slice());
 *     return Promise.resolve(true);
 *   },
 *   delete: (key: string) => Promise.resolve(void objects.delete(key)),
 * } as unknown as ObjectBucket;
 * const digest = "sha256:" + "a".repeat(64);
 * const options = { bucket, root: "", blobKey: (d: string) => `blobs/${d.replace(":", "/")}` };
 * const one = new ObjectLeases(options);
 * const two = new ObjectLeases(options);
 *
 * const first = await one.claim(digest);
 * console.assert(first.kind === "lease");
 * if (first.kind === "lease") {
 *   await first.lease.describe(1234);
 *   const second = await two.claim(digest);
 *   console.assert(second.kind === "held" && second.record.size === 1234);
 *   await first.lease.release();
 * }
 * ```
 */
export class ObjectLeases implements BlobLeases {
  /** The bucket. */
  readonly bucket: ObjectBucket;
  /** A lease's time to live, in ms. */
  readonly ttl: number;
  /** The clock. */
  readonly now: () => number;
  /** The sleep. */
  readonly sleep: LeaseSleep;
  readonly #root: string;
  readonly #blobKey: (digest: string) => string;
  readonly #maxWait: number;
  readonly #pollMin: number;
  readonly #pollMax: number;
  readonly #random: () => number;

  /**
   * Leases over `options.bucket`.
   *
   * @param options The bucket, where blobs and leases are, the time to live, the clock.
   * @throws {RangeError} If a duration is not a positive number of milliseconds.
   */
  constructor(options: ObjectLeasesOptions) {
    this.bucket = options.bucket;
    this.#root = options.root;
    this.#blobKey = options.blobKey;
    this.ttl = checkMs("ttl", options.ttl ?? LEASE_TTL, 3);
    this.#maxWait = checkMs("maxWait", options.maxWait ?? LEASE_MAX_WAIT, 0);
    this.#pollMin = checkMs("pollMin", options.pollMin ?? 50, 1);
    this.#pollMax = Math.max(
      this.#pollMin,
      checkMs("pollMax", options.pollMax ?? Math.min(1000, this.ttl / 4), 1),
    );
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultLeaseSleep;
    this.#random = options.random ?? Math.random;
  }

  /** The lease object's key for `digest`. */
  key(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return `${this.#root}leases/${algorithm}/${hex}`;
  }

  /** The lease record under `key`, or undefined. A body that is no record reads as lapsed. */
  async read(key: string): Promise<BlobLeaseRecord | undefined> {
    const body = await this.bucket.get(key);
    if (body === undefined) return undefined;
    // With a cap (docs/security.md, rule 8): a record is a few dozen bytes; whoever can write to the bucket
    // picks its size. A larger body is no record.
    let text: string;
    try {
      text = new TextDecoder().decode(await readBounded(body, LEASE_RECORD_LIMIT, `Lease ${key}`));
    } catch (err) {
      if (err instanceof TugError && err.code === "STORE_CORRUPT") return { holder: "", expires: 0 };
      throw err;
    }
    try {
      const record = JSON.parse(text) as BlobLeaseRecord;
      if (typeof record?.holder !== "string" || typeof record.expires !== "number") throw new Error("shape");
      if (record.size !== undefined && !Number.isSafeInteger(record.size)) throw new Error("size");
      return record;
    } catch {
      return { holder: "", expires: 0 };
    }
  }

  /** Writes a record (unconditionally: the holder's renewal). */
  async write(key: string, record: BlobLeaseRecord): Promise<void> {
    await this.bucket.put(key, new TextEncoder().encode(JSON.stringify(record)));
  }

  async #committed(digest: string): Promise<number | undefined> {
    return (await this.bucket.head(this.#blobKey(digest)))?.size;
  }

  /** Creates the lease if none exists; the held lease, or undefined when another process has one. */
  async #create(key: string): Promise<HeldBlobLease | undefined> {
    const holder = randomId();
    const body = new TextEncoder().encode(
      JSON.stringify({ holder, expires: this.now() + this.ttl } satisfies BlobLeaseRecord),
    );
    if (!await this.bucket.put(key, body, { ifNoneMatch: true })) return undefined;
    return new Held(this, key, holder);
  }

  /**
   * One look: the blob committed, else the lease taken (free, or lapsed: taken over), else the holder's
   * record. A lease taken is checked against the blob once more: its holder may have committed and
   * released it between the two looks.
   */
  async #look(digest: string, key: string): Promise<
    BlobLeaseOutcome | { kind: "waiting"; record: BlobLeaseRecord }
  > {
    const size = await this.#committed(digest);
    if (size !== undefined) return { kind: "committed", size };
    let record = await this.read(key);
    let takeover = false;
    if (record !== undefined && record.expires <= this.now()) {
      // Lapsed: its holder died (or stopped renewing). Remove it and race for a new one. Read once more
      // first: a process that took it over just now has written its own record, which stays (this
      // narrows the takeover race; it cannot close it without a conditional delete).
      const again = await this.read(key);
      if (again !== undefined && again.holder !== record.holder) {
        return { kind: "waiting", record: again };
      }
      await this.bucket.delete(key);
      record = undefined;
      takeover = true;
    }
    if (record === undefined) {
      const lease = await this.#create(key);
      if (lease === undefined) {
        return { kind: "waiting", record: await this.read(key) ?? { holder: "", expires: this.now() } };
      }
      const after = await this.#committed(digest);
      if (after !== undefined) {
        await lease.release();
        return { kind: "committed", size: after };
      }
      return { kind: "lease", lease, takeover };
    }
    return { kind: "waiting", record };
  }

  async #poll(
    digest: string,
    signal: AbortSignal | undefined,
    done: (record: BlobLeaseRecord) => boolean,
  ): Promise<BlobLeaseOutcome> {
    const key = this.key(digest);
    const start = this.now();
    let delay = this.#pollMin;
    // Bounded by maxWait on the clock; the iteration cap is a backstop for a clock that stands still.
    for (let i = 0; i < 1_000_000; i++) {
      signal?.throwIfAborted();
      const seen = await this.#look(digest, key);
      if (seen.kind !== "waiting") return seen;
      if (done(seen.record)) {
        return { kind: "held", record: seen.record as BlobLeaseRecord & { size: number } };
      }
      if (this.now() - start >= this.#maxWait) break;
      // Jittered, so that replicas waiting on one lease do not all look (and take over) at once.
      await this.sleep(Math.round(delay * (0.75 + 0.5 * this.#random())), signal);
      delay = Math.min(this.#pollMax, delay * 2);
    }
    return { kind: "timeout" };
  }

  /**
   * Takes the lease of `digest` (from a lapsed holder too: `takeover`), or finds the blob committed, or
   * another holder's record once it names the size (it is polled until then).
   *
   * @param digest The blob.
   * @param options A signal that ends the wait (rejecting with its reason).
   * @returns What was found.
   */
  claim(digest: string, options: { signal?: AbortSignal } = {}): Promise<BlobLeaseOutcome> {
    return this.#poll(digest, options.signal, (record) => record.size !== undefined);
  }

  /**
   * Waits while another process holds the lease of `digest`: until the blob is committed, or the lease
   * is free (released without a commit) or lapsed, and this process took it; `timeout` after `maxWait`.
   *
   * @param digest The blob.
   * @param options A signal that ends the wait (rejecting with its reason).
   * @returns What was found.
   */
  async wait(
    digest: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<Exclude<BlobLeaseOutcome, { kind: "held" }>> {
    const outcome = await this.#poll(digest, options.signal, () => false);
    if (outcome.kind === "held") throw new Error("unreachable: wait() never stops at a held lease");
    return outcome;
  }
}
