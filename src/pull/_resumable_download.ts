// This module is browser compatible.
/**
 * One blob download into a store that survives an unreachable registry and a broken or stalled body:
 * verified in flight by a {@linkcode DigestVerifier}, attempted again after Docker's waits (5, 10, 15,
 * 20 s), resumed with `Range` from the last byte received, restarted from zero when the registry ignores
 * the range, and committed only after the digest and size check. A partial download is kept for a later resume only when it was cut short by a cancel,
 * never with bad bytes. Private to src/pull/.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import type { HasherFactory } from "../digest/hasher.ts";
import { DigestVerifier } from "../digest/digest_verifier.ts";
import type { Descriptor } from "../manifest/types.ts";
import type { BlobStore, BlobWriter } from "../store/types.ts";
import { IdleTimer } from "../streams/idle_timer.ts";
import type { LayerStatus } from "./events.ts";
import { abortError } from "./_abort_error.ts";
import { readBuffers, readChunks } from "./_read_buffers.ts";
import { sleep } from "../streams/sleep.ts";

/** Where a blob comes from: the part of a registry client the download manager needs. */
export interface BlobSource {
  /** Opens the blob body from byte `start` (see RegistryClient.getBlob). */
  getBlob(
    digest: string,
    options?: { start?: number; signal?: AbortSignal },
  ): Promise<{ body: ReadableStream<Uint8Array>; start: number; size?: number }>;
}

/** One download: what to fetch from where into where, and the manager's settings. */
export interface ResumableDownload {
  readonly source: BlobSource;
  readonly store: BlobStore;
  readonly descriptor: Descriptor;
  /** Stops the download (the job's signal: aborted when its last caller left). */
  readonly signal: AbortSignal;
  /** Reports Downloading / Verifying Checksum / Download complete. */
  readonly emit: (status: LayerStatus, current?: number, total?: number) => void;
  /** Reports one second of the wait before the next attempt: `Retrying in <seconds> second(s)`. */
  readonly emitRetry: (seconds: number) => void;
  readonly hasher: HasherFactory;
  /** Attempts in all, the first included (dockerd's `--max-download-attempts`, default 5). */
  readonly maxAttempts: number;
  /** Waits `ms` milliseconds, ending early when `signal` fires (tests inject one that does not wait). */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Idle read timeout in milliseconds; 0: none. */
  readonly readTimeout: number;
}

/**
 * The wait before attempt `failed + 1`, in whole seconds: 5, 10, 15, 20 … (moby distribution/xfer/
 * download.go: `delay := retries * 5`).
 *
 * @example
 * ```ts
 * import { retryDelaySeconds } from "./_resumable_download.ts";
 *
 * console.assert(retryDelaySeconds(1) === 5 && retryDelaySeconds(4) === 20);
 * ```
 */
export function retryDelaySeconds(failed: number): number {
  return failed * 5;
}

/** Waits `ms` on a timer; ends early (without throwing) when `signal` fires. */
export const timerSleep: (ms: number, signal?: AbortSignal) => Promise<void> = sleep;

/**
 * Whether a failed attempt is worth another, as Docker's `retryOnError` judges a layer download: a
 * network failure, a broken or stalled body and a 5xx are; a 4xx answer (401, 403, 404 `BLOB_UNKNOWN`,
 * 429), a store error and oversized content are not.
 */
function retryable(err: unknown): boolean {
  if (!(err instanceof TugError)) return true; // a broken body (the stream's own error), fetch's TypeError
  if (err.code === "NETWORK" || err.code === "TIMEOUT") return true;
  const status = (err.detail as { status?: unknown } | undefined)?.status;
  return typeof status === "number" && (status === 408 || (status >= 500 && status <= 599));
}

/**
 * Fetches `download.descriptor`'s blob into `download.store`, verified, as Docker's download manager
 * does: up to `maxAttempts` attempts, each resuming from the bytes already held, with waits of 5, 10, 15,
 * 20 s between them counted down second by second (`Retrying in 5 seconds` … `Retrying in 1 second`). A
 * digest mismatch after a resumed attempt throws the bytes away and starts the blob again from zero (a
 * mismatch of a download from zero is final). The final error names the blob.
 *
 * Resolves to "exists" when the blob turned up in the store while the writer was being opened: a store
 * shared by processes (the OCI layout store's blob lock) makes the writer wait for another process writing
 * the same blob, which then finds it committed and downloads nothing.
 */
export async function resumableDownload(download: ResumableDownload): Promise<"downloaded" | "exists"> {
  const { source, store, descriptor, signal, emit, emitRetry, hasher, maxAttempts, sleep, readTimeout } =
    download;
  const expected = { digest: descriptor.digest, size: descriptor.size };
  let writer: BlobWriter;
  try {
    writer = await store.writer(expected, { resume: true, signal });
  } catch (err) {
    if (signal.aborted) throw abortError(signal);
    throw err;
  }
  if ((await store.stat(descriptor.digest).catch(() => undefined))?.size === descriptor.size) {
    await writer.abort().catch(() => {});
    return "exists";
  }
  let verifier = await DigestVerifier.create(expected, { hasher: hasher });
  let committed = false;
  const restart = async () => {
    await writer.abort();
    writer = await store.writer(expected);
    verifier = await DigestVerifier.create(expected, { hasher: hasher });
  };
  try {
    if (writer.offset > 0) {
      if (writer.offset > descriptor.size) {
        await writer.abort();
        writer = await store.writer(expected);
      } else {
        // A download interrupted earlier (even in another process): hash what is there and go on.
        for await (const chunk of readChunks(writer.readPartial())) verifier.update(chunk);
      }
    }
    let lastEmit = 0;
    // The byte count last reported: a count is reported once (Docker's progress reader reports reads).
    let reported = 0;
    const downloading = () => {
      if (verifier.bytes === reported) return;
      reported = verifier.bytes;
      emit("Downloading", verifier.bytes, descriptor.size);
    };
    // Two 512 KiB read buffers per download, reused for every chunk of the body (see readChunks()).
    const buffer = readBuffers(descriptor.size);
    // Docker's progress reader reports bytes as they are read: no "Downloading" line at 0 B.
    downloading();
    for (let attemptNo = 1;; attemptNo++) {
      if (signal.aborted) throw abortError(signal);
      const startedAt = verifier.bytes;
      let failure: unknown = undefined;
      // One controller per request, so an idle timeout cancels this request only, not the download.
      const attempt = new AbortController();
      const idle = readTimeout > 0
        ? new IdleTimer(readTimeout, () => attempt.abort(new TugError("TIMEOUT", "read timeout")))
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
          await restart();
          idle?.touch();
          opened = await source.getBlob(descriptor.digest, { signal: requestSignal });
        }
        for await (const chunk of readChunks(opened.body, requestSignal, buffer)) {
          idle?.touch();
          verifier.update(chunk); // throws SIZE_MISMATCH as soon as too many bytes arrive
          // One write at a time, and a chunk's buffer is read into again only after its write settled
          // (readChunks() alternates two buffers).
          if (inflight !== undefined) await inflight;
          inflight = writer.write(chunk);
          inflight.catch(() => {}); // awaited at the next chunk or below
          const now = Date.now();
          if (now - lastEmit >= 50) {
            lastEmit = now;
            downloading();
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
        if (!timedOut && !retryable(err)) throw err;
        failure = timedOut
          ? new TugError("TIMEOUT", `no data arrived for ${readTimeout} ms`, { cause: err })
          : err;
      } finally {
        idle?.stop();
      }
      if (failure !== undefined && descriptor.size > 0 && verifier.bytes === descriptor.size) {
        // Every byte arrived before the connection broke (a Content-Length longer than the body):
        // nothing is left to fetch, the digest check decides.
        failure = undefined;
      }
      if (failure === undefined && verifier.bytes < descriptor.size) {
        // The body ended early without an error: a broken connection, resumed like one.
        failure = new TugError(
          "SIZE_MISMATCH",
          `the body ended at byte ${verifier.bytes} of ${descriptor.size}`,
        );
      }
      if (failure === undefined) {
        downloading();
        emit("Verifying Checksum");
        try {
          verifier.verify();
        } catch (err) {
          // pull_v2.go Download: "Allow a retry if this digest verification error happened after a
          // resumed download" — the bytes are dropped and the next attempt starts from zero, so a second
          // mismatch is final.
          if (startedAt === 0 || !(err instanceof TugError) || err.code !== "DIGEST_MISMATCH") throw err;
          await restart();
          failure = err;
        }
      }
      if (failure === undefined) {
        await writer.commit();
        committed = true;
        emit("Download complete");
        return "downloaded";
      }
      if (attemptNo >= maxAttempts) throw finalError(descriptor, failure, attemptNo, verifier.bytes);
      // xfer/download.go: "Retrying in N seconds", sent again every second as the wait counts down.
      for (let seconds = retryDelaySeconds(attemptNo); seconds > 0; seconds--) {
        emitRetry(seconds);
        await sleep(1000, signal);
        if (signal.aborted) throw abortError(signal);
      }
    }
  } finally {
    if (!committed) {
      // Keep a partial download for a later resume only when it was cut short, never bad bytes.
      await writer.abort({ keepPartial: signal.aborted }).catch(() => {});
    }
  }
}

/** The error after the last attempt: it names the blob, the attempts and the last failure. */
function finalError(descriptor: Descriptor, failure: unknown, attempts: number, bytes: number): TugError {
  const reason = failure instanceof Error ? failure.message : String(failure);
  const code = failure instanceof TugError ? failure.code : "NETWORK";
  return new TugError(
    code,
    `Cannot download blob ${descriptor.digest}: ${reason} (gave up after ${attempts} attempt${
      attempts === 1 ? "" : "s"
    }, at byte ${bytes} of ${descriptor.size})`,
    {
      cause: failure,
      ...(failure instanceof TugError && failure.detail !== undefined ? { detail: failure.detail } : {}),
    },
  );
}
