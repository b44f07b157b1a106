// This module is browser compatible.
/**
 * Shared blob downloads: a concurrency limit across every pull that uses the same manager, one download
 * per digest no matter how many layers or concurrent pulls want it, resume with `Range` after a broken
 * body, and in-flight verification before anything is committed.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import type { HasherFactory } from "../digest/hasher.ts";
import { DigestVerifier } from "../digest/digest_verifier.ts";
import { wasmHasher } from "../digest/wasm_hasher.ts";
import type { Descriptor } from "../manifest/types.ts";
import type { BlobStore, BlobWriter } from "../store/types.ts";
import type { LayerStatus, ProgressHandler } from "./events.ts";
import { Semaphore } from "./_semaphore.ts";
import { IdleTimer } from "../streams/idle_timer.ts";

/** Where a blob comes from: the part of a registry client the download manager needs. */
export interface BlobSource {
  /** Opens the blob body from byte `start` (see RegistryClient.getBlob). */
  getBlob(
    digest: string,
    options?: { start?: number; signal?: AbortSignal },
  ): Promise<{ body: ReadableStream<Uint8Array>; start: number; size?: number }>;
}

/** Options for {@linkcode DownloadManager}. */
export interface DownloadManagerOptions {
  /** Downloads running at once across every pull sharing this manager (Docker's default: 3). */
  maxConcurrentDownloads?: number;
  /** Hasher used to verify blobs in flight. */
  hasher?: HasherFactory;
  /** How many times a broken body is resumed before the download fails (default 5). */
  maxResumes?: number;
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
}

/** How a blob came to be in the store. */
export type DownloadOutcome = "downloaded" | "exists";

interface Job {
  promise: Promise<DownloadOutcome>;
  controller: AbortController;
  waiters: number;
  listeners: Set<ProgressHandler>;
}

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
  readonly #maxResumes: number;
  readonly #readTimeout: number;
  readonly #jobs = new Map<string, Job>();
  readonly #stores = new WeakMap<BlobStore, number>();
  #nextStoreId = 0;
  /** The concurrency limit. */
  readonly maxConcurrentDownloads: number;

  constructor(options: DownloadManagerOptions = {}) {
    const max = options.maxConcurrentDownloads ?? 3;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxConcurrentDownloads must be a positive integer, got ${max}`);
    }
    this.maxConcurrentDownloads = max;
    this.#slots = new Semaphore(max);
    this.#hasher = options.hasher ?? wasmHasher;
    this.#maxResumes = options.maxResumes ?? 5;
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
    let job = this.#jobs.get(key);
    if (!job) {
      const controller = new AbortController();
      const listeners = new Set<ProgressHandler>();
      const emit = (status: LayerStatus, current?: number, total?: number) => {
        const event = {
          status,
          id: shortId(descriptor.digest),
          digest: descriptor.digest,
          ...(current === undefined ? {} : { current, total }),
        };
        for (const listener of listeners) listener(event);
      };
      const created: Job = {
        controller,
        listeners,
        waiters: 0,
        promise: this.#run(source, store, descriptor, controller.signal, emit).finally(() => {
          this.#jobs.delete(key);
        }),
      };
      this.#jobs.set(key, created);
      job = created;
    }
    return this.#attach(job, options);
  }

  #attach(job: Job, options: DownloadOptions): Promise<DownloadOutcome> {
    const { signal, onProgress } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    job.waiters++;
    const listener = onProgress && !options.silent ? onProgress : undefined;
    if (listener) job.listeners.add(listener);
    return new Promise<DownloadOutcome>((resolve, reject) => {
      let done = false;
      const finish = () => {
        if (done) return false;
        done = true;
        job.waiters--;
        if (listener) job.listeners.delete(listener);
        signal?.removeEventListener("abort", onAbort);
        return true;
      };
      const onAbort = () => {
        if (!finish()) return;
        // The last caller gone: stop the download itself.
        if (job.waiters === 0) job.controller.abort(signal!.reason);
        reject(abortError(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      job.promise.then(
        (outcome) => finish() && resolve(outcome),
        (err) => finish() && reject(err),
      );
    });
  }

  async #run(
    source: BlobSource,
    store: BlobStore,
    descriptor: Descriptor,
    signal: AbortSignal,
    emit: (status: LayerStatus, current?: number, total?: number) => void,
  ): Promise<DownloadOutcome> {
    const existing = await store.stat(descriptor.digest);
    if (existing && existing.size === descriptor.size) return "exists";

    let release: (() => void) | undefined;
    if (!this.#slots.tryAcquire()) {
      emit("Waiting");
      release = await this.#slots.acquire(signal);
    } else {
      release = () => this.#slots.release();
    }
    try {
      await this.#fetchInto(source, store, descriptor, signal, emit);
      return "downloaded";
    } finally {
      release();
    }
  }

  async #fetchInto(
    source: BlobSource,
    store: BlobStore,
    descriptor: Descriptor,
    signal: AbortSignal,
    emit: (status: LayerStatus, current?: number, total?: number) => void,
  ): Promise<void> {
    const expected = { digest: descriptor.digest, size: descriptor.size };
    let writer: BlobWriter = await store.writer(expected, { resume: true });
    let verifier = await DigestVerifier.create(expected, { hasher: this.#hasher });
    let committed = false;
    try {
      if (writer.offset > 0) {
        if (writer.offset > descriptor.size) {
          await writer.abort();
          writer = await store.writer(expected);
        } else {
          // A download interrupted earlier (even in another process): hash what is there and go on.
          for await (const chunk of iterate(writer.readPartial())) verifier.update(chunk);
        }
      }
      let resumes = 0;
      let lastEmit = 0;
      // Two 512 KiB read buffers per download, reused for every chunk of the body (see iterate()).
      const buffer: ReadBuffers = {
        bytes: new Uint8Array(Math.min(READ_BUFFER, Math.max(descriptor.size, 1))),
      };
      emit("Downloading", verifier.bytes, descriptor.size);
      while (verifier.bytes < descriptor.size || descriptor.size === 0) {
        if (signal.aborted) throw abortError(signal);
        // One controller per request, so an idle timeout cancels this request only, not the download.
        const attempt = new AbortController();
        const idle = this.#readTimeout > 0
          ? new IdleTimer(this.#readTimeout, () => attempt.abort(new TugError("TIMEOUT", "read timeout")))
          : undefined;
        const requestSignal = idle ? AbortSignal.any([signal, attempt.signal]) : signal;
        // The write of the previous chunk: it goes on while the next chunk is read and hashed.
        let inflight: Promise<void> | undefined;
        try {
          let opened = await source.getBlob(descriptor.digest, {
            start: verifier.bytes,
            signal: requestSignal,
          });
          if (opened.start !== verifier.bytes) {
            // The registry ignored the range (answered 200): start again from zero.
            await opened.body.cancel().catch(() => {});
            await writer.abort();
            writer = await store.writer(expected);
            verifier = await DigestVerifier.create(expected, { hasher: this.#hasher });
            idle?.touch();
            opened = await source.getBlob(descriptor.digest, { signal: requestSignal });
          }
          for await (const chunk of iterate(opened.body, requestSignal, buffer)) {
            idle?.touch();
            verifier.update(chunk); // throws SIZE_MISMATCH as soon as too many bytes arrive
            // One write at a time, and a chunk's buffer is read into again only after its write settled
            // (iterate() alternates two buffers).
            if (inflight !== undefined) await inflight;
            inflight = writer.write(chunk);
            inflight.catch(() => {}); // awaited at the next chunk or below
            const now = Date.now();
            if (now - lastEmit >= 50) {
              lastEmit = now;
              emit("Downloading", verifier.bytes, descriptor.size);
            }
          }
          if (inflight !== undefined) await inflight;
          inflight = undefined;
          // A cancel on abort ends the loop like a finished body; report it as the abort it was.
          requestSignal.throwIfAborted();
        } catch (err) {
          // A write still going when the body broke: its failure is the one to report (a store error is
          // not retried).
          if (inflight !== undefined) await inflight;
          if (signal.aborted) throw abortError(signal);
          const timedOut = attempt.signal.aborted;
          if (err instanceof TugError && !timedOut) throw err;
          // A broken or stalled body: resume from what arrived, a bounded number of times.
          if (++resumes > this.#maxResumes) {
            throw new TugError(
              timedOut ? "TIMEOUT" : "NETWORK",
              `Cannot download blob ${descriptor.digest}: ` +
                (timedOut
                  ? `no data arrived for ${this.#readTimeout} ms`
                  : `the connection broke ${resumes} times`) +
                ` (last at byte ${verifier.bytes} of ${descriptor.size}, after ${resumes} attempts)`,
              { cause: err },
            );
          }
          emit("Retrying", verifier.bytes, descriptor.size);
          continue;
        } finally {
          idle?.stop();
        }
        if (verifier.bytes < descriptor.size) {
          // The body ended early without an error: treat as a broken connection and resume.
          if (++resumes > this.#maxResumes) break; // verify() below reports the short size
          continue;
        }
        break;
      }
      emit("Downloading", verifier.bytes, descriptor.size);
      emit("Verifying Checksum");
      verifier.verify();
      await writer.commit();
      committed = true;
      emit("Download complete");
    } finally {
      if (!committed) {
        // Keep a partial download for a later resume only when it was cut short, never bad bytes.
        await writer.abort({ keepPartial: signal.aborted }).catch(() => {});
      }
    }
  }
}

function abortError(signal: AbortSignal): TugError {
  const reason = signal.reason;
  if (reason instanceof TugError) return reason;
  return new TugError("ABORTED", "The pull was cancelled", { cause: reason });
}

/**
 * Size of each buffer a download reads its body into. Deno's fetch fills at most ~496 KiB per BYOB read
 * (measured), so a larger buffer would only cost memory.
 */
const READ_BUFFER = 512 << 10;

/** The buffer the next read goes into, and the one the caller may still be writing. */
interface ReadBuffers {
  bytes: Uint8Array;
  spare?: Uint8Array;
}

/**
 * Reads `stream` chunk by chunk. When `signal` aborts, the read in progress ends at once: the body is
 * cancelled here rather than trusting the fetch to do it, because the signal a fetch sees follows ours
 * through `new Request(…)` copies, and runtimes drop that link once the copies are garbage collected
 * (a 64 MiB download went on to the end after Ctrl-C).
 *
 * With `buffer`, a byte stream (fetch bodies in Deno and browsers) is read with a BYOB reader into two
 * buffers in turn: each chunk yielded is a view of one of them, valid until the loop asks for the chunk
 * after next. So the caller may write a chunk while the next one is read and hashed, as long as it awaits
 * that write before it writes the next (writers copy what they keep once a write settles).
 * Measured on a 683 MB, 5-layer pull from a local registry: fetch's own chunks average 59 KiB, one fresh
 * allocation each, and the garbage lifts the process's peak RSS by 60–90 MB; the BYOB reads average
 * 150–450 KiB into memory that is never freed, at a flat RSS and ~1.5× the read throughput. Other streams
 * (and runtimes without BYOB on fetch) use the default reader.
 */
async function* iterate(
  stream: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
  buffer?: ReadBuffers,
): AsyncGenerator<Uint8Array> {
  let byob: ReadableStreamBYOBReader | undefined;
  if (buffer) {
    try {
      byob = stream.getReader({ mode: "byob" });
    } catch {
      // Not a byte stream: read its own chunks.
    }
  }
  const reader = byob ?? stream.getReader();
  const onAbort = () => void reader.cancel(signal!.reason).catch(() => {});
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (byob && buffer) {
      while (true) {
        // A read that failed or was cancelled keeps the buffer it was given: start a new one.
        if (buffer.bytes.buffer.byteLength === 0) buffer.bytes = new Uint8Array(READ_BUFFER);
        const bytes = buffer.bytes;
        const { done, value } = await byob.read(
          new Uint8Array(bytes.buffer as ArrayBuffer, 0, bytes.buffer.byteLength),
        );
        // A read transfers the buffer: keep the one it came back in for the next read.
        if (value) buffer.bytes = new Uint8Array(value.buffer);
        if (done) return;
        if (value.byteLength > 0) {
          // The next read goes into the other buffer: this one's bytes may still be on their way to disk.
          [buffer.bytes, buffer.spare] = [buffer.spare ?? new Uint8Array(bytes.byteLength), buffer.bytes];
          yield value;
        }
      }
    }
    const plain = reader as ReadableStreamDefaultReader<Uint8Array>;
    while (true) {
      const { done, value } = await plain.read();
      if (done) return;
      yield value;
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
    // Cancel a body we stop reading early so the connection is released.
    stream.cancel().catch(() => {});
  }
}
