// This module is browser compatible.
/**
 * One blob download into a store that survives a broken or stalled body: verified in flight by a
 * {@linkcode DigestVerifier}, resumed with `Range` from the last byte received (a bounded number of
 * times), restarted from zero when the registry ignores the range, and committed only after the digest
 * and size check. A partial download is kept for a later resume only when it was cut short by a cancel,
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
  /** Reports Downloading / Retrying / Verifying Checksum / Download complete. */
  readonly emit: (status: LayerStatus, current?: number, total?: number) => void;
  readonly hasher: HasherFactory;
  /** How many times a broken body is resumed before the download fails. */
  readonly maxResumes: number;
  /** Idle read timeout in milliseconds; 0: none. */
  readonly readTimeout: number;
}

/**
 * Fetches `download.descriptor`'s blob into `download.store`, verified, resuming after broken bodies.
 * Resolves to "exists" when the blob turned up in the store while the writer was being opened: a store
 * shared by processes (the OCI layout store's blob lock) makes the writer wait for another process writing
 * the same blob, which then finds it committed and downloads nothing.
 */
export async function resumableDownload(download: ResumableDownload): Promise<"downloaded" | "exists"> {
  const { source, store, descriptor, signal, emit, hasher, maxResumes, readTimeout } = download;
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
    let resumes = 0;
    let lastEmit = 0;
    // Two 512 KiB read buffers per download, reused for every chunk of the body (see readChunks()).
    const buffer = readBuffers(descriptor.size);
    emit("Downloading", verifier.bytes, descriptor.size);
    while (verifier.bytes < descriptor.size || descriptor.size === 0) {
      if (signal.aborted) throw abortError(signal);
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
          await writer.abort();
          writer = await store.writer(expected);
          verifier = await DigestVerifier.create(expected, { hasher: hasher });
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
        if (++resumes > maxResumes) {
          throw new TugError(
            timedOut ? "TIMEOUT" : "NETWORK",
            `Cannot download blob ${descriptor.digest}: ` +
              (timedOut ? `no data arrived for ${readTimeout} ms` : `the connection broke ${resumes} times`) +
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
        if (++resumes > maxResumes) break; // verify() below reports the short size
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
    return "downloaded";
  } finally {
    if (!committed) {
      // Keep a partial download for a later resume only when it was cut short, never bad bytes.
      await writer.abort({ keepPartial: signal.aborted }).catch(() => {});
    }
  }
}
