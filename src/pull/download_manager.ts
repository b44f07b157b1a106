// This module is browser compatible.
/**
 * Shared blob downloads: a concurrency limit across every pull that uses the same manager, one download
 * per digest no matter how many layers or concurrent pulls want it, resume with `Range` after a broken
 * body, and in-flight verification before anything is committed.
 *
 * The parts, one file each: the job table (`_job_table.ts`: one job per store and digest, shared by its
 * callers), the resumable download (`_resumable_download.ts`), the reused read buffers
 * (`_read_buffers.ts`) and the idle timer (`../streams/idle_timer.ts`).
 *
 * @module
 */

import type { HasherFactory } from "../digest/hasher.ts";
import { wasmHasher } from "../digest/wasm_hasher.ts";
import type { Descriptor } from "../manifest/types.ts";
import type { BlobStore } from "../store/types.ts";
import { layerEvent, type LayerStatus, type ProgressHandler, retryEvent } from "./events.ts";
import { Semaphore } from "./_semaphore.ts";
import { JobTable } from "./_job_table.ts";
import {
  type BlobSource,
  type ResumableDownload,
  resumableDownload,
  timerSleep,
} from "./_resumable_download.ts";

export type { BlobSource } from "./_resumable_download.ts";

/** Options for {@linkcode DownloadManager}. */
export interface DownloadManagerOptions {
  /** Downloads running at once across every pull sharing this manager (Docker's default: 3). */
  maxConcurrentDownloads?: number;
  /** Hasher used to verify blobs in flight. */
  hasher?: HasherFactory;
  /**
   * Attempts per blob download, the first included (default 5, as dockerd's `--max-download-attempts`).
   * A failed attempt (unreachable registry, 5xx, broken or stalled body) is followed by a wait of 5, 10,
   * 15, 20 … seconds, counted down in `Retrying in N seconds` events, and resumes from the bytes held.
   */
  maxDownloadAttempts?: number;
  /**
   * Waits `ms` milliseconds between attempts, ending early when `signal` fires (default: a timer). Tests
   * and impatient callers inject a shorter one; the countdown events stay those of Docker's schedule.
   */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Idle read timeout in milliseconds (default 30 000; 0 turns it off): when neither the answer nor
   * the next body bytes arrive for this long, the request is cancelled and the download resumes from
   * the last byte received, as after a broken connection. A registry or a network that stalls mid-body
   * otherwise hangs a pull forever: fetch has no read timeout of its own.
   */
  readTimeout?: number;
}

/** Options for one {@linkcode DownloadManager.download}. */
export interface DownloadOptions {
  /** Receives Waiting / Downloading / Verifying Checksum / Download complete events for this blob. */
  onProgress?: ProgressHandler;
  /** Cancels this caller's interest; the download stops when no caller is left. */
  signal?: AbortSignal;
  /** Whether to report progress for this blob (config blobs are silent, as in Docker). */
  silent?: boolean;
  /**
   * Whether the download waits for one of the `maxConcurrentDownloads` slots (default true). Docker
   * fetches the image config outside its download manager, so the config never holds a layer back.
   */
  queued?: boolean;
  /**
   * Attempts for this blob (default: the manager's `maxDownloadAttempts`). Docker fetches the image
   * config once, outside its download manager's retries: the puller passes 1 for it.
   */
  maxAttempts?: number;
}

/** How a blob came to be in the store. */
export type DownloadOutcome = "downloaded" | "exists";

/** The 12-hex short id Docker shows for a layer. */
export function shortId(digest: string): string {
  const hex = digest.slice(digest.indexOf(":") + 1);
  return hex.slice(0, 12);
}

/**
 * Downloads blobs into a store with a shared concurrency limit, deduplication and resume.
 *
 * @example
 * ```ts
 * import { DownloadManager } from "./download_manager.ts";
 *
 * const downloads = new DownloadManager({ maxConcurrentDownloads: 3 });
 * console.assert(downloads.maxConcurrentDownloads === 3);
 * ```
 */
export class DownloadManager {
  readonly #slots: Semaphore;
  readonly #hasher: HasherFactory;
  readonly #maxAttempts: number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #readTimeout: number;
  readonly #jobs = new JobTable<DownloadOutcome>();
  readonly #stores = new WeakMap<BlobStore, number>();
  #nextStoreId = 0;
  /** The concurrency limit. */
  readonly maxConcurrentDownloads: number;

  /** Makes a manager; see {@linkcode DownloadManagerOptions} for the limits and timeouts. */
  constructor(options: DownloadManagerOptions = {}) {
    const max = options.maxConcurrentDownloads ?? 3;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxConcurrentDownloads must be a positive integer, got ${max}`);
    }
    this.maxConcurrentDownloads = max;
    this.#slots = new Semaphore(max);
    this.#hasher = options.hasher ?? wasmHasher;
    const attempts = options.maxDownloadAttempts ?? 5;
    if (!Number.isInteger(attempts) || attempts < 1) {
      throw new RangeError(`maxDownloadAttempts must be a positive integer, got ${attempts}`);
    }
    this.#maxAttempts = attempts;
    this.#sleep = options.sleep ?? timerSleep;
    const readTimeout = options.readTimeout ?? 30_000;
    if (!Number.isFinite(readTimeout) || readTimeout < 0) {
      throw new RangeError(`readTimeout must be a non-negative number of milliseconds, got ${readTimeout}`);
    }
    this.#readTimeout = readTimeout;
  }

  #storeId(store: BlobStore): number {
    let id = this.#stores.get(store);
    if (id === undefined) {
      id = this.#nextStoreId++;
      this.#stores.set(store, id);
    }
    return id;
  }

  /**
   * Makes sure `descriptor`'s blob is in `store`, downloading it from `source` when it is not.
   * Concurrent calls for the same blob and store share one download.
   */
  download(
    source: BlobSource,
    store: BlobStore,
    descriptor: Descriptor,
    options: DownloadOptions = {},
  ): Promise<DownloadOutcome> {
    const key = `${this.#storeId(store)}\0${descriptor.digest}`;
    return this.#jobs.join(key, (signal, emitEvent) => {
      const id = shortId(descriptor.digest);
      const emit = (status: LayerStatus, current?: number, total?: number) =>
        emitEvent(layerEvent(id, status, { digest: descriptor.digest, current, total }));
      const emitRetry = (seconds: number) => emitEvent(retryEvent(id, seconds, descriptor.digest));
      return this.#run(
        { source, store, descriptor, signal, emit, emitRetry },
        options.queued ?? true,
        options.maxAttempts ?? this.#maxAttempts,
      );
    }, { signal: options.signal, onProgress: options.silent ? undefined : options.onProgress });
  }

  async #run(
    job: Pick<ResumableDownload, "source" | "store" | "descriptor" | "signal" | "emit" | "emitRetry">,
    queued: boolean,
    maxAttempts: number,
  ): Promise<DownloadOutcome> {
    const { store, descriptor, signal, emit } = job;
    // The place in line is taken now, in the order the puller asked, as Docker's transfer manager
    // queues layers; the store lookup below must not let a later layer overtake an earlier one.
    const place = queued ? this.#slots.enqueue(signal) : unqueued;
    let existing;
    try {
      existing = await store.stat(descriptor.digest);
    } catch (error) {
      place.cancel();
      throw error;
    }
    if (existing && existing.size === descriptor.size) {
      place.cancel();
      return "exists";
    }
    if (!place.granted) emit("Waiting");
    const release = await place.ready;
    try {
      return await resumableDownload({
        ...job,
        hasher: this.#hasher,
        maxAttempts,
        sleep: this.#sleep,
        readTimeout: this.#readTimeout,
      });
    } finally {
      release();
    }
  }
}

/** The place of a download that takes no slot: granted at once, nothing to give back. */
const unqueued = { granted: true, ready: Promise.resolve(() => {}), cancel: () => {} };
