// This module is browser compatible.
/**
 * A size cap with least-recently-used eviction for an {@linkcode ObjectStore}'s bucket, shared by every
 * replica over it, that does not list the bucket on every start.
 *
 * What is where, under the store's `PREFIX/`:
 * - `usage/<ms>-<replica>-<n>.json`: a usage record. Each replica keeps in memory which blobs it served
 *   (with the time) and which it committed or deleted (with their sizes), and {@linkcode ObjectLru.flush}
 *   writes that as one small object, at most once per call (`tug serve`: once per eviction interval).
 *   Nothing is read or written per request.
 * - `index.json`: every blob's size and last use, as the last eviction pass left it. A pass reads this one
 *   object, lists `usage/` (records written since the last pass: a few per replica), folds the records
 *   in, evicts, writes the index back and deletes the records it folded. The blobs are listed only when
 *   the index is missing or damaged (a repair, paged through the bucket's listing), or on
 *   {@linkcode ObjectLru.prune}, which also adopts blobs a replica committed but never recorded.
 * - `leases/evict`: held (a conditional write, `If-None-Match: *`) while a pass runs, so two passes over
 *   one bucket do not interleave. Another pass finding it does nothing; one left by a process that died
 *   expires after `leaseMs`. Where a service ignores the condition (s3rver does) two passes may run at
 *   once: deletes are idempotent, and at worst the records one pass folded are missing from the index
 *   the other wrote (recency lost; a blob so lost is found again by the next `prune`).
 *
 * What a pass never deletes: a blob used or added within `graceMs` (by the index's knowledge), and any
 * blob that is still being written (a fill's multipart upload is no object until it completes, so it is
 * not in any listing or index). Recency a replica has not flushed yet is not known to a pass on another
 * replica: such a blob may be evicted and is then fetched upstream again on its next use.
 *
 * References are left alone by a pass: a tag whose manifest was evicted reads as a miss and is fetched
 * again, as with the file-system cap (`lruStore`). `prune()` deletes such references.
 *
 * Keys under the prefix that are not its own (a fill's lease under `leases/`, anything else) are ignored.
 *
 * @module
 */

import { afterCommit } from "./after_commit.ts";
import { TugError } from "../errors.ts";
import { readBounded } from "./_bounded_read.ts";
import { checkListedKey, listUnder } from "./_listing.ts";
import { checkDigest } from "./checks.ts";
import { OBJECT_RECORD_LIMIT, type ObjectBucket } from "./object_store.ts";
import type { BlobInfo, BlobStore, BlobWriter, ReferenceRecord, Store } from "./types.ts";

/**
 * The optional part of an {@linkcode ObjectBucket} that lists and aborts incomplete multipart uploads
 * (S3's ListMultipartUploads and AbortMultipartUpload); `prune()` uses it when the bucket has it.
 *
 * @example
 * ```ts
 * import type { ObjectUploadLister } from "./object_lru.ts";
 *
 * const none: ObjectUploadLister = {
 *   listMultipartUploads: async function* () {},
 *   abortMultipartUpload: () => Promise.resolve(),
 * };
 * console.assert(typeof none.abortMultipartUpload === "function");
 * ```
 */
export interface ObjectUploadLister {
  /** Every incomplete multipart upload whose key starts with `prefix`, with when it was started (ms). */
  listMultipartUploads(prefix: string): AsyncIterable<{ key: string; uploadId: string; initiated: number }>;
  /** Aborts one upload, freeing its parts. */
  abortMultipartUpload(key: string, uploadId: string): Promise<void>;
}

/**
 * Options for {@linkcode ObjectLru}.
 *
 * @example
 * ```ts
 * import type { ObjectLruOptions } from "./object_lru.ts";
 *
 * const options: Omit<ObjectLruOptions, "bucket"> = { prefix: "tug/cache", graceMs: 10 * 60_000 };
 * console.assert(options.prefix === "tug/cache");
 * ```
 */
export interface ObjectLruOptions {
  /** The bucket the store is in. */
  bucket: ObjectBucket & Partial<ObjectUploadLister>;
  /** The store's key prefix (as given to `ObjectStore`). */
  prefix?: string;
  /** The clock in milliseconds since the epoch (default `Date.now`). */
  now?: () => number;
  /** This replica's name in its usage records' keys: letters and digits (default: random). */
  replica?: string;
  /** A blob used or added this recently is never evicted (default 10 minutes). */
  graceMs?: number;
  /** How long a pass's `leases/evict` holds before another pass may take it (default 5 minutes). */
  leaseMs?: number;
}

/**
 * Options for one {@linkcode ObjectLru.evict} pass.
 *
 * @example
 * ```ts
 * import type { EvictOptions } from "./object_lru.ts";
 *
 * const options: EvictOptions = { maxBytes: 50 << 30, dryRun: true };
 * console.assert(options.dryRun);
 * ```
 */
export interface EvictOptions {
  /** The most blob bytes to keep. */
  maxBytes: number;
  /** Report what would be deleted; delete and write nothing. */
  dryRun?: boolean;
  /** Overrides the instance's grace period for this pass. */
  graceMs?: number;
  /** List the blobs and reconcile the index with them even when it is sound. */
  repair?: boolean;
  /** Called for each blob deleted (or, with `dryRun`, that would be), least recently used first. */
  onDelete?: (info: BlobInfo) => void;
  /**
   * A time (ms, by the instance's clock) after which the pass deletes no more blobs: it writes the index of
   * what is left and reports `timedOut`; the next pass goes on. For a runtime that stops work after a while
   * (a Cloudflare Cron Trigger), so that a long backlog of deletes never leaves the index unwritten.
   */
  deadline?: number;
}

/**
 * What an eviction pass did.
 *
 * @example
 * ```ts
 * import type { EvictReport } from "./object_lru.ts";
 *
 * const idle: EvictReport = {
 *   deleted: [], reclaimed: 0, total: 0, count: 0, listed: false, folded: 0, busy: false,
 * };
 * console.assert(idle.reclaimed === 0);
 * ```
 */
export interface EvictReport {
  /** The blobs deleted (or that would be), least recently used first. */
  deleted: BlobInfo[];
  /** Their bytes. */
  reclaimed: number;
  /** The bytes of the blobs left in the index. */
  total: number;
  /** How many blobs are left in the index. */
  count: number;
  /** Whether the blobs were listed (index missing or damaged, or `repair`). */
  listed: boolean;
  /** How many usage records were folded into the index. */
  folded: number;
  /** Another pass held the lease: this one did nothing. */
  busy: boolean;
  /** The pass reached its `deadline` with blobs still to evict. */
  timedOut?: true;
}

/**
 * Options for {@linkcode ObjectLru.prune}.
 *
 * @example
 * ```ts
 * import type { PruneBucketOptions } from "./object_lru.ts";
 *
 * const options: PruneBucketOptions = { maxBytes: 10 << 30, staleMs: 0 };
 * console.assert(options.staleMs === 0);
 * ```
 */
export interface PruneBucketOptions {
  /** Evict least recently used blobs past this many bytes (default: no cap, evict nothing). */
  maxBytes?: number;
  /** Report what would be removed; change nothing. */
  dryRun?: boolean;
  /**
   * Multipart uploads started, and leases under `leases/` last written, longer ago than this are stale
   * and removed (default 1 day; a lease of a live fill is renewed far more often). 0 also drops the
   * eviction grace period.
   */
  staleMs?: number;
  /** Called for each blob deleted (or that would be). */
  onDelete?: (info: BlobInfo) => void;
}

/** Something other than a blob that `prune()` removed. */
export interface PrunedObject {
  /** `upload`: an incomplete multipart upload; `lease`: a stale lease object. */
  kind: "upload" | "lease";
  /** Its key. */
  key: string;
}

/**
 * What {@linkcode ObjectLru.prune} did.
 *
 * @example
 * ```ts
 * import type { PruneBucketReport } from "./object_lru.ts";
 *
 * const report: Pick<PruneBucketReport, "untagged" | "removed"> = { untagged: [], removed: [] };
 * console.assert(report.removed.length === 0);
 * ```
 */
export interface PruneBucketReport extends EvictReport {
  /** References removed because their manifest blob is gone. */
  untagged: string[];
  /** Incomplete uploads aborted and stale leases removed. */
  removed: PrunedObject[];
  /** Why incomplete uploads were not looked at, when the bucket cannot list them. */
  uploadsSkipped?: string;
}

/** One blob in the index: its size and last use (ms). */
interface Entry {
  size: number;
  used: number;
}

/** A usage record as written by `flush()`. */
interface UsageRecord {
  used: Record<string, number>;
  added: Record<string, [number, number]>;
  removed: Record<string, number>;
}

const INDEX_KIND = "tug-object-lru-index";
const RECORD_KIND = "tug-object-lru-usage";
const RECORD_NAME = /^(\d{13})-([A-Za-z0-9]+)-(\d+)\.json$/;
const DEFAULT_GRACE_MS = 10 * 60_000;
const DEFAULT_LEASE_MS = 5 * 60_000;
const DEFAULT_STALE_MS = 24 * 60 * 60_000;
// A repair listing is paged by the bucket (1000 keys a page on S3); this bounds it in count.
const MAX_LISTED = 50_000_000;

function randomReplica(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Caps on what is read of each object (docs/security.md, rule 8): anyone who can write to the bucket picks
// their sizes. An index row is about 100 bytes: 128 MiB holds over a million blobs; past that the index
// reads as damaged and each pass lists the blobs instead.
const INDEX_LIMIT = 128 << 20;
const RECORD_LIMIT = 16 << 20;
const LEASE_LIMIT = 64 << 10;

/** The JSON object under `key`: undefined when absent, null when damaged or larger than `limit`. */
async function readJson(bucket: ObjectBucket, key: string, limit: number): Promise<unknown> {
  const body = await bucket.get(key);
  if (body === undefined) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = await readBounded(body, limit, `Object ${key}`);
  } catch (err) {
    if (err instanceof TugError && err.code === "STORE_CORRUPT") return null; // too large: damaged
    throw err;
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null; // present but damaged
  }
}

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

function isDigest(text: string): boolean {
  try {
    checkDigest(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Least-recently-used eviction for an object-storage store, shared by the replicas over one bucket (see
 * the module doc for the objects it keeps). {@linkcode ObjectLru.wrap} records use through a store,
 * {@linkcode ObjectLru.flush} writes the record, {@linkcode ObjectLru.evict} runs a pass and
 * {@linkcode ObjectLru.prune} a full cleanup.
 *
 * @example Cap a store in an (empty) bucket at 1 GiB
 * ```ts
 * import { ObjectLru } from "./object_lru.ts";
 * import { ObjectStore, type ObjectBucket } from "./object_store.ts";
 *
 * const written: string[] = [];
 * const bucket: ObjectBucket = {
 *   head: () => Promise.resolve(undefined),
 *   get: () => Promise.resolve(undefined),
 *   put: (key) => Promise.resolve(written.push(key) > 0),
 *   delete: () => Promise.resolve(),
 *   list: async function* () {},
 *   createMultipartUpload: () => Promise.reject(new Error("not in this example")),
 * };
 * const lru = new ObjectLru({ bucket, prefix: "tug" });
 * const store = lru.wrap(new ObjectStore({ bucket, prefix: "tug" }));
 * await lru.flush(); // in a server: once a minute; nothing was used, so nothing is written
 * const report = await lru.evict({ maxBytes: 1 << 30 });
 * console.assert(report.deleted.length === 0 && written.includes("tug/index.json"));
 * console.assert(store.capabilities?.resume === false);
 * ```
 */
export class ObjectLru {
  readonly #bucket: ObjectBucket & Partial<ObjectUploadLister>;
  readonly #root: string;
  readonly #now: () => number;
  readonly #replica: string;
  readonly #graceMs: number;
  readonly #leaseMs: number;
  #seq = 0;
  #pending: UsageRecord = { used: {}, added: {}, removed: {} };
  #pendingCount = 0;

  /**
   * Records and evicts for the store under `options.prefix` in `options.bucket`.
   *
   * @param options The bucket, the store's prefix, the clock, this replica's name and the grace period.
   * @throws {TypeError} If the prefix or the replica name has characters it may not have.
   */
  constructor(options: ObjectLruOptions) {
    const prefix = options.prefix ?? "";
    if (prefix !== "" && (!/^[A-Za-z0-9._\/-]+$/.test(prefix) || prefix.startsWith("/"))) {
      throw new TypeError(`Object store prefix ${JSON.stringify(prefix)} must be path segments`);
    }
    this.#root = prefix === "" || prefix.endsWith("/") ? prefix : prefix + "/";
    this.#replica = options.replica ?? randomReplica();
    if (!/^[A-Za-z0-9]+$/.test(this.#replica)) {
      throw new TypeError(`ObjectLru replica ${JSON.stringify(this.#replica)} must be letters and digits`);
    }
    this.#bucket = options.bucket;
    this.#now = options.now ?? Date.now;
    this.#graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  get #indexKey(): string {
    return `${this.#root}index.json`;
  }
  get #usagePrefix(): string {
    return `${this.#root}usage/`;
  }
  get #leaseKey(): string {
    return `${this.#root}leases/evict`;
  }
  #blobKey(digest: string): string {
    const d = checkDigest(digest);
    return `${this.#root}blobs/${d.algorithm}/${d.hex}`;
  }

  /** Records that `digest` was served now. */
  #used(digest: string): void {
    this.#pending.used[digest] = this.#now();
    this.#pendingCount++;
  }

  /**
   * Wraps `store` (an `ObjectStore` over this bucket and prefix) so what it serves, commits and deletes
   * is recorded for the next {@linkcode ObjectLru.flush}. Nothing extra is read or written per request.
   */
  wrap(store: Store): Store {
    const blobs = new RecordingBlobStore(store.blobs, {
      used: (digest) => this.#used(digest),
      added: (info) => {
        this.#pending.added[info.digest] = [info.size, this.#now()];
        delete this.#pending.removed[info.digest];
        this.#pendingCount++;
      },
      removed: (digest) => {
        this.#pending.removed[digest] = this.#now();
        delete this.#pending.added[digest];
        delete this.#pending.used[digest];
        this.#pendingCount++;
      },
    });
    // The store's download leases (one download per blob for every replica) pass through.
    return {
      blobs,
      references: store.references,
      ...(store.capabilities !== undefined ? { capabilities: store.capabilities } : {}),
      ...(store.leases !== undefined ? { leases: store.leases } : {}),
    };
  }

  /**
   * Writes what was recorded since the last flush as one usage record; resolves false (and writes
   * nothing) when nothing was. On a failed write the record is kept for the next call.
   */
  async flush(): Promise<boolean> {
    if (this.#pendingCount === 0) return false;
    const record = this.#pending;
    this.#pending = { used: {}, added: {}, removed: {} };
    this.#pendingCount = 0;
    const now = this.#now();
    const key = `${this.#usagePrefix}${String(now).padStart(13, "0")}-${this.#replica}-${this.#seq++}.json`;
    try {
      await this.#bucket.put(key, json({ kind: RECORD_KIND, v: 1, at: now, ...record }));
      return true;
    } catch (err) {
      // Keep what was recorded meanwhile over the older values.
      const later = this.#pending;
      this.#pending = {
        used: { ...record.used, ...later.used },
        added: { ...record.added, ...later.added },
        removed: { ...record.removed, ...later.removed },
      };
      this.#pendingCount += Object.keys(record.used).length + Object.keys(record.added).length + 1;
      throw err;
    }
  }

  /**
   * One eviction pass: folds the usage records into the index and deletes the least recently used blobs
   * until the total is at most `maxBytes`, passing over blobs used within the grace period. Flushes this
   * replica's own record first. Resolves `busy: true` and does nothing while another pass holds the lease.
   */
  async evict(options: EvictOptions): Promise<EvictReport> {
    return (await this.#pass(options)).report;
  }

  /**
   * A full cleanup of the bucket (what `tug prune --store s3://…` runs): lists the blobs and reconciles the
   * index with them (blobs nobody recorded are adopted with their last-modified time), evicts past
   * `maxBytes`, deletes references whose manifest blob is gone, aborts multipart uploads and removes
   * leases older than `staleMs`.
   */
  async prune(options: PruneBucketOptions = {}): Promise<PruneBucketReport> {
    const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
    const dryRun = options.dryRun ?? false;
    const { report, entries } = await this.#pass({
      maxBytes: options.maxBytes ?? Infinity,
      repair: true,
      dryRun,
      ...(staleMs === 0 ? { graceMs: 0 } : {}),
      ...(options.onDelete ? { onDelete: options.onDelete } : {}),
    });
    if (report.busy) return { ...report, untagged: [], removed: [] };
    const untagged = await this.#untagMissing(entries, dryRun);
    const cutoff = this.#now() - staleMs;
    const removed: PrunedObject[] = [];
    const leases = `${this.#root}leases/`;
    for await (const { key, lastModified } of listUnder(this.#bucket, leases)) {
      if (lastModified === undefined || lastModified > cutoff) continue;
      if (!dryRun) await this.#bucket.delete(key);
      removed.push({ kind: "lease", key });
    }
    let uploadsSkipped: string | undefined;
    const lister = this.#bucket;
    if (lister.listMultipartUploads && lister.abortMultipartUpload) {
      try {
        for await (const upload of lister.listMultipartUploads(this.#root)) {
          // Only an upload to one of the store's blob keys is its own (a fill's): nothing else is aborted.
          if (!checkListedKey(upload.key, this.#root) || !upload.key.startsWith(`${this.#root}blobs/`)) {
            continue;
          }
          if (upload.initiated > cutoff) continue;
          if (!dryRun) await lister.abortMultipartUpload(upload.key, upload.uploadId);
          removed.push({ kind: "upload", key: upload.key });
        }
      } catch (err) {
        uploadsSkipped = err instanceof Error ? err.message : String(err);
      }
    } else {
      uploadsSkipped = "the bucket cannot list multipart uploads";
    }
    return { ...report, untagged, removed, ...(uploadsSkipped !== undefined ? { uploadsSkipped } : {}) };
  }

  async #untagMissing(entries: Map<string, Entry>, dryRun: boolean): Promise<string[]> {
    const untagged: string[] = [];
    const refs = `${this.#root}refs/`;
    const keys: string[] = [];
    for await (const { key } of listUnder(this.#bucket, refs)) keys.push(key);
    for (const key of keys) {
      const record = await readJson(this.#bucket, key, OBJECT_RECORD_LIMIT) as
        | ReferenceRecord
        | null
        | undefined;
      const digest = record?.descriptor?.digest;
      if (typeof record?.name !== "string" || typeof digest !== "string") continue; // not ours
      if (entries.has(digest)) continue;
      if (!dryRun) await this.#bucket.delete(key);
      untagged.push(record.name);
    }
    return untagged.sort();
  }

  async #pass(options: EvictOptions): Promise<{ report: EvictReport; entries: Map<string, Entry> }> {
    const { maxBytes } = options;
    if (!(maxBytes >= 0)) throw new RangeError(`Invalid cache size ${maxBytes}: expected bytes ≥ 0`);
    const dryRun = options.dryRun ?? false;
    const idle = (busy: boolean): EvictReport => ({
      deleted: [],
      reclaimed: 0,
      total: 0,
      count: 0,
      listed: false,
      folded: 0,
      busy,
    });
    if (!dryRun) {
      await this.flush();
      if (!await this.#acquire()) return { report: idle(true), entries: new Map() };
    }
    try {
      const report = idle(false);
      // 1. The index: one object.
      const index = await readJson(this.#bucket, this.#indexKey, INDEX_LIMIT);
      let entries = this.#parseIndex(index);
      // 2. Only without a sound index (or on request), a listing of the blobs rebuilds it.
      const adopted = new Set<string>();
      if (entries === undefined || options.repair) {
        entries = await this.#reconcile(entries ?? new Map(), adopted);
        report.listed = true;
      }
      // 3. The usage records written since the last pass.
      const folded = await this.#fold(entries, adopted);
      report.folded = folded.length;
      // 4. Least recently used first, never one within the grace period.
      const now = this.#now();
      const graceMs = options.graceMs ?? this.#graceMs;
      let total = 0;
      for (const e of entries.values()) total += e.size;
      const order = [...entries].sort((a, b) => a[1].used - b[1].used || (a[0] < b[0] ? -1 : 1));
      for (const [digest, entry] of order) {
        if (total <= maxBytes) break;
        if (entry.used > now - graceMs) continue;
        if (options.deadline !== undefined && this.#now() > options.deadline) {
          report.timedOut = true;
          break;
        }
        if (!dryRun) await this.#bucket.delete(this.#blobKey(digest));
        entries.delete(digest);
        total -= entry.size;
        const info = { digest, size: entry.size };
        report.deleted.push(info);
        report.reclaimed += entry.size;
        options.onDelete?.(info);
      }
      report.total = total;
      report.count = entries.size;
      if (!dryRun) {
        // The index first, then the records it now holds: a crash in between folds them twice (harmless).
        await this.#bucket.put(this.#indexKey, this.#serialize(entries, now));
        for (const key of folded) await this.#bucket.delete(key);
      }
      return { report, entries };
    } finally {
      if (!dryRun) await this.#release();
    }
  }

  #parseIndex(value: unknown): Map<string, Entry> | undefined {
    const index = value as { kind?: unknown; blobs?: unknown } | null | undefined;
    if (index?.kind !== INDEX_KIND || !Array.isArray(index.blobs)) return undefined;
    const entries = new Map<string, Entry>();
    for (const row of index.blobs) {
      if (!Array.isArray(row) || row.length !== 3) return undefined;
      const [digest, size, used] = row;
      if (typeof digest !== "string" || !isDigest(digest)) return undefined;
      if (!Number.isSafeInteger(size) || size < 0 || !Number.isFinite(used)) return undefined;
      entries.set(digest, { size, used });
    }
    return entries;
  }

  #serialize(entries: Map<string, Entry>, now: number): Uint8Array {
    const blobs = [...entries].map(([digest, e]) => [digest, e.size, e.used]);
    return json({ kind: INDEX_KIND, v: 1, updated: now, blobs });
  }

  /**
   * Lists the blobs (paged by the bucket, bounded) and makes the index hold exactly them; those it did not
   * know go into `adopted`, dated by their last-modified time until a usage record says better.
   */
  async #reconcile(known: Map<string, Entry>, adopted: Set<string>): Promise<Map<string, Entry>> {
    const entries = new Map<string, Entry>();
    const prefix = `${this.#root}blobs/`;
    let n = 0;
    for await (const { key, size, lastModified } of listUnder(this.#bucket, prefix)) {
      if (++n > MAX_LISTED) {
        throw new TugError("STORE_IO", `Cannot index ${prefix}: more than ${MAX_LISTED} objects`);
      }
      const [algorithm, hex, ...rest] = key.slice(prefix.length).split("/");
      if (rest.length > 0 || hex === undefined) continue;
      const digest = `${algorithm}:${hex}`;
      if (!isDigest(digest)) continue; // not a blob of the store
      const was = known.get(digest);
      if (was === undefined) adopted.add(digest);
      // A blob the index did not hold counts as used when it was written.
      entries.set(digest, { size, used: was?.used ?? lastModified ?? this.#now() });
    }
    return entries;
  }

  /**
   * Folds every usage record into `entries` (a record's time replaces the listing's guess for an `adopted`
   * blob); returns the keys folded, damaged ones included.
   */
  async #fold(entries: Map<string, Entry>, adopted: Set<string>): Promise<string[]> {
    const records: { key: string; record: UsageRecord | undefined }[] = [];
    for await (const { key } of listUnder(this.#bucket, this.#usagePrefix)) {
      if (!RECORD_NAME.test(key.slice(this.#usagePrefix.length))) continue; // not ours
      const value = await readJson(this.#bucket, key, RECORD_LIMIT) as
        | (UsageRecord & { kind?: string })
        | null
        | undefined;
      if (value === undefined) continue; // gone meanwhile (another pass folded it)
      const sound = value !== null && value.kind === RECORD_KIND && typeof value.used === "object" &&
        typeof value.added === "object" && typeof value.removed === "object";
      records.push({ key, record: sound ? value : undefined });
    }
    // Keys start with the time: additions and removals apply in the order they happened.
    records.sort((a, b) => a.key < b.key ? -1 : 1);
    const used = new Map<string, number>();
    for (const { record } of records) {
      if (record === undefined) continue;
      for (const [digest, at] of Object.entries(record.removed)) {
        const e = entries.get(digest);
        if (e !== undefined && e.used <= at) entries.delete(digest);
      }
      for (const [digest, pair] of Object.entries(record.added)) {
        const [size, at] = Array.isArray(pair) ? pair : [];
        if (!isDigest(digest) || !Number.isSafeInteger(size) || !Number.isFinite(at)) continue;
        entries.set(digest, {
          size: size as number,
          used: Math.max(at as number, adopted.delete(digest) ? 0 : entries.get(digest)?.used ?? 0),
        });
      }
      for (const [digest, at] of Object.entries(record.used)) {
        if (Number.isFinite(at)) used.set(digest, Math.max(at, used.get(digest) ?? 0));
      }
    }
    // Uses last: a blob another replica added in a record folded in the same pass counts them too.
    for (const [digest, at] of used) {
      const e = entries.get(digest);
      if (e !== undefined && (adopted.delete(digest) || at > e.used)) e.used = at;
    }
    return records.map((r) => r.key);
  }

  async #acquire(): Promise<boolean> {
    const body = () => json({ owner: this.#replica, expires: this.#now() + this.#leaseMs });
    if (await this.#bucket.put(this.#leaseKey, body(), { ifNoneMatch: true })) return true;
    const held = await readJson(this.#bucket, this.#leaseKey, LEASE_LIMIT) as
      | { expires?: unknown }
      | null
      | undefined;
    if (held !== undefined && typeof held?.expires === "number" && held.expires > this.#now()) return false;
    // Expired or damaged: the pass that held it died. Take it over (once).
    await this.#bucket.delete(this.#leaseKey);
    return await this.#bucket.put(this.#leaseKey, body(), { ifNoneMatch: true });
  }

  async #release(): Promise<void> {
    try {
      const held = await readJson(this.#bucket, this.#leaseKey, LEASE_LIMIT) as
        | { owner?: unknown }
        | null
        | undefined;
      if (held?.owner === this.#replica) await this.#bucket.delete(this.#leaseKey);
    } catch {
      // It expires.
    }
  }
}

/** A blob store that reports what it serves, commits and deletes. */
interface Recorder {
  used: (digest: string) => void;
  added: (info: BlobInfo) => void;
  removed: (digest: string) => void;
}

class RecordingBlobStore implements BlobStore {
  readonly #inner: BlobStore;
  readonly #on: Recorder;
  /** The inner store's blob URLs (presigned), when it has them: handing one out is a use of the blob. */
  readonly url?: (digest: string, options: { expiresIn: number }) => Promise<string | undefined>;

  constructor(inner: BlobStore, on: Recorder) {
    this.#inner = inner;
    this.#on = on;
    if (inner.url !== undefined) {
      this.url = async (digest, options) => {
        const url = await inner.url!(digest, options);
        if (url !== undefined) on.used(digest);
        return url;
      };
    }
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    const info = await this.#inner.stat(digest);
    if (info !== undefined) this.#on.used(digest);
    return info;
  }

  async get(digest: string, range?: { start: number; end?: number }): Promise<ReadableStream<Uint8Array>> {
    const stream = await this.#inner.get(digest, range);
    this.#on.used(digest);
    return stream;
  }

  async writer(expected: BlobInfo, options?: { resume?: boolean }): Promise<BlobWriter> {
    const inner = await this.#inner.writer(expected, options);
    return afterCommit(inner, () => this.#on.added({ digest: expected.digest, size: expected.size }));
  }

  async delete(digest: string): Promise<boolean> {
    const deleted = await this.#inner.delete(digest);
    if (deleted) this.#on.removed(digest);
    return deleted;
  }

  list(): AsyncIterable<BlobInfo> {
    return this.#inner.list();
  }
}
