// This module is browser compatible.
/**
 * One upstream download of a blob shared by every client that asks for it while it runs (single flight).
 * Private to the proxy.
 *
 * @module
 */

import { DigestVerifier } from "../digest/digest_verifier.ts";
import type { HasherFactory } from "../digest/hasher.ts";
import type { BlobStore, BlobWriter } from "../store/types.ts";

/** Options for {@linkcode BlobFill.start}. */
export interface BlobFillOptions {
  /** The blob's digest. */
  digest: string;
  /** The blob's size, as the upstream announced it (the digest check is what makes it trusted). */
  size: number;
  /** The upstream body, from byte 0. */
  body: ReadableStream<Uint8Array>;
  /** Where the verified blob is committed. */
  blobs: BlobStore;
  /** The hasher used to verify in flight. */
  hasher?: HasherFactory;
  /** Called with the length of every chunk read from upstream. */
  onBytes?: (n: number) => void;
}

/**
 * Reads one upstream body, verifies it in flight, writes it to the store and lets any number of
 * subscribers stream it while it arrives. The chunks read so far are kept until the fill ends, so a
 * client that joins late (or asks for a range) starts at once from the bytes already there.
 *
 * The last chunk received is held back from subscribers until the whole blob has been verified: a client never receives all `size` bytes of a blob that failed its digest check, so a
 * failure always shows as a truncated (aborted) response, never as a complete one.
 */
export class BlobFill {
  readonly digest: string;
  readonly size: number;
  /** Settles when the fill ends: resolves after the commit, rejects with the verification or read error. */
  readonly done: Promise<void>;
  #chunks: Uint8Array[] = [];
  #starts: number[] = [];
  #received = 0;
  #state: "running" | "complete" | "failed" = "running";
  #error: unknown;
  #wake: Array<() => void> = [];
  #cached = false;

  private constructor(digest: string, size: number, run: (fill: BlobFill) => Promise<void>) {
    this.digest = digest;
    this.size = size;
    this.done = run(this);
    // The rejection is seen by subscribers; nobody has to await `done`.
    this.done.catch(() => {});
  }

  /** Starts reading `body` at once; bytes go to the store and to subscribers as they arrive. */
  static start(options: BlobFillOptions): BlobFill {
    return new BlobFill(options.digest, options.size, (fill) => fill.#run(options));
  }

  /** Whether the fill verified the blob and the store committed it. */
  get cached(): boolean {
    return this.#cached;
  }

  /** Bytes received from upstream so far. */
  get received(): number {
    return this.#received;
  }

  /** Whether the fill is still reading. */
  get running(): boolean {
    return this.#state === "running";
  }

  async #run(options: BlobFillOptions): Promise<void> {
    const verifier = await DigestVerifier.create(
      { digest: options.digest, size: options.size },
      options.hasher ? { hasher: options.hasher } : {},
    );
    let writer: BlobWriter | undefined;
    try {
      writer = await options.blobs.writer({ digest: options.digest, size: options.size });
    } catch {
      // A store that cannot take the blob (full, read-only) does not stop the clients from getting it.
      writer = undefined;
    }
    const reader = options.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (value.byteLength === 0) continue;
        verifier.update(value);
        options.onBytes?.(value.byteLength);
        this.#starts.push(this.#received);
        this.#chunks.push(value);
        this.#received += value.byteLength;
        this.#notify();
        if (writer !== undefined) {
          try {
            await writer.write(value);
          } catch {
            await writer.abort().catch(() => {});
            writer = undefined;
          }
        }
      }
      verifier.verify();
      // Verified: the clients get the last chunk now; the commit (an fsync on disk stores) happens
      // meanwhile, and `done` settles after it.
      this.#state = "complete";
      this.#notify();
      if (writer !== undefined) {
        try {
          await writer.commit();
          this.#cached = true;
        } catch {
          // Not cached; the clients still got verified bytes.
        }
      }
    } catch (err) {
      this.#state = "failed";
      this.#error = err;
      reader.cancel(err).catch(() => {});
      await writer?.abort().catch(() => {});
      this.#notify();
      throw err;
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const w of wake) w();
  }

  /** Bytes subscribers may read: all once verified, else all but the last chunk received. */
  #releasable(): number {
    if (this.#state === "complete") return this.#received;
    const n = this.#chunks.length;
    return n === 0 ? 0 : this.#starts[n - 1];
  }

  /**
   * A stream of bytes `[start, end)` of the blob, fed from the fill as they arrive. It errors when the
   * fill fails; cancelling it (a client that went away) leaves the fill running for the others.
   */
  subscribe(start = 0, end = this.size): ReadableStream<Uint8Array> {
    let pos = start;
    let index = -1;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        // Bounded: each round either enqueues, ends, fails or waits for the fill to change state.
        for (;;) {
          if (pos >= end) {
            controller.close();
            return;
          }
          if (this.#state === "failed") {
            controller.error(this.#error);
            return;
          }
          const limit = Math.min(end, this.#releasable());
          if (pos < limit) {
            if (index < 0) index = this.#chunkAt(pos);
            while (this.#starts[index] + this.#chunks[index].byteLength <= pos) index++;
            const chunk = this.#chunks[index];
            const from = pos - this.#starts[index];
            const to = Math.min(chunk.byteLength, limit - this.#starts[index]);
            controller.enqueue(from === 0 && to === chunk.byteLength ? chunk : chunk.subarray(from, to));
            pos += to - from;
            return;
          }
          if (this.#state === "complete") {
            // The blob is shorter than the range asked for (clamped by the caller; defensive).
            controller.close();
            return;
          }
          await new Promise<void>((resolve) => this.#wake.push(resolve));
        }
      },
    }, { highWaterMark: 0 });
  }

  #chunkAt(pos: number): number {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
