// This module is browser compatible.
/**
 * The {@linkcode BlobWriter} of the IndexedDB store: cuts the bytes into chunks, stores them under a write
 * id of their own while they stream in, and makes the blob visible at commit with one record write.
 * Internal to the IndexedDB store.
 *
 * @module
 */

import { setMany } from "npm:idb-keyval@^6.3.0";
import { TugError } from "../../../src/errors.ts";
import { checkWrittenRange } from "../../../src/store/checks.ts";
import type { BlobInfo, BlobWriter } from "../../../src/store/types.ts";
import type { IdbBlobStore } from "./blob_store.ts";
import { type Chunked, type ChunkKey, writeId } from "./records.ts";

export class IdbBlobWriter implements BlobWriter {
  readonly offset: number;
  readonly #blobs: IdbBlobStore;
  readonly #expected: BlobInfo;
  readonly #write: string;
  readonly #partialChunks: readonly number[];
  readonly #chunks: number[];
  readonly #chunkSize: number;
  #block: Uint8Array | undefined;
  #used = 0;
  #written: number;
  #ready: Array<[ChunkKey, Uint8Array]> = [];
  // The chunk batch being stored; it never rejects (a failure is kept in #error for the next call).
  #inflight: Promise<void> = Promise.resolve();
  #error: unknown = undefined;
  #state: "open" | "committed" | "aborted" = "open";
  // The chunks IndexedDB has taken so far (a prefix of #chunks) and their bytes: what readWritten() reads.
  #storedChunks: number;
  #stored: number;

  constructor(blobs: IdbBlobStore, expected: BlobInfo, partial: Chunked | undefined, chunkSize: number) {
    this.#blobs = blobs;
    this.#expected = expected;
    this.#chunkSize = chunkSize;
    this.#write = partial?.write ?? writeId();
    this.#partialChunks = partial ? [...partial.chunks] : [];
    this.#chunks = [...this.#partialChunks];
    this.offset = partial?.size ?? 0;
    this.#written = this.offset;
    this.#storedChunks = this.#partialChunks.length;
    this.#stored = this.offset;
  }

  /** Bytes in chunks IndexedDB has stored (a chunk is stored once full, or at commit). */
  get readable(): number {
    return this.#stored;
  }

  readWritten(start: number, end: number): ReadableStream<Uint8Array> {
    checkWrittenRange(this.#expected.digest, start, end, this.#stored);
    // Stored chunks never change; they stay after commit() (the blob's record points at them).
    return this.#blobs.stream(
      {
        digest: this.#expected.digest,
        size: this.#stored,
        write: this.#write,
        chunks: this.#chunks.slice(0, this.#storedChunks),
      },
      start,
      end,
    );
  }

  readPartial(): ReadableStream<Uint8Array> {
    return this.#blobs.stream(
      { digest: this.#expected.digest, size: this.offset, write: this.#write, chunks: this.#partialChunks },
      0,
      this.offset,
    );
  }

  write(chunk: Uint8Array): Promise<void> {
    try {
      this.#checkOpen("write to");
      if (!(chunk instanceof Uint8Array)) throw new TypeError("BlobWriter.write() takes a Uint8Array");
      this.#copy(chunk);
    } catch (err) {
      return Promise.reject(err);
    }
    // One batch stays in flight while the caller produces the next: write() waits for the previous one.
    const previous = this.#inflight;
    this.#flush();
    return previous.then(() => this.#throwIfFailed());
  }

  #copy(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#block === undefined) {
        const wanted = Math.max(this.#expected.size - this.#written, chunk.length - pos);
        this.#block = new Uint8Array(Math.min(this.#chunkSize, wanted));
      }
      const n = Math.min(chunk.length - pos, this.#block.length - this.#used);
      this.#block.set(chunk.subarray(pos, pos + n), this.#used);
      this.#used += n;
      pos += n;
      this.#written += n;
      if (this.#used === this.#block.length) this.#seal();
    }
  }

  #seal(): void {
    if (this.#block !== undefined && this.#used > 0) {
      // A copy when short: IndexedDB clones a view's whole buffer, not just the viewed bytes.
      const block = this.#used === this.#block.length ? this.#block : this.#block.slice(0, this.#used);
      this.#ready.push([[this.#expected.digest, this.#write, this.#chunks.length], block]);
      this.#chunks.push(block.length);
    }
    this.#block = undefined;
    this.#used = 0;
  }

  #flush(): void {
    if (this.#ready.length === 0) return;
    const batch = this.#ready;
    this.#ready = [];
    this.#inflight = this.#inflight.then(async () => {
      if (this.#error !== undefined) return;
      try {
        await setMany(batch, this.#blobs.chunkStore);
        this.#storedChunks += batch.length;
        for (const [, block] of batch) this.#stored += block.length;
      } catch (err) {
        this.#error = err;
      }
    });
  }

  async #settle(): Promise<void> {
    this.#seal();
    this.#flush();
    await this.#inflight;
  }

  #throwIfFailed(): void {
    if (this.#error !== undefined) {
      throw new TugError(
        "STORE_IO",
        `Cannot store blob ${this.#expected.digest}: IndexedDB refused a chunk: ${String(this.#error)}`,
        { cause: this.#error },
      );
    }
  }

  async commit(): Promise<void> {
    this.#checkOpen("commit");
    this.#state = "committed";
    await this.#settle();
    if (this.#error !== undefined || this.#written !== this.#expected.size) {
      // Nothing becomes visible; the bytes are dropped (they cannot be the blob).
      await this.#blobs.deleteChunks(this.#expected.digest, this.#write);
      this.#throwIfFailed();
      throw new TugError(
        "SIZE_MISMATCH",
        `Cannot commit blob ${this.#expected.digest}: expected ${this.#expected.size} bytes, ` +
          `${this.#written} were written`,
        { detail: { expected: this.#expected.size, actual: this.#written } },
      );
    }
    await this.#blobs.put({
      digest: this.#expected.digest,
      size: this.#written,
      write: this.#write,
      chunks: this.#chunks,
    });
  }

  async abort(options: { keepPartial?: boolean } = {}): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "aborted";
    await this.#settle();
    if (options.keepPartial && this.#written > 0 && this.#error === undefined) {
      await this.#blobs.keepPartial({
        digest: this.#expected.digest,
        size: this.#written,
        write: this.#write,
        chunks: this.#chunks,
      });
    } else {
      await this.#blobs.deleteChunks(this.#expected.digest, this.#write);
    }
  }

  #checkOpen(action: string): void {
    if (this.#state !== "open") {
      throw new TypeError(
        `Cannot ${action} blob ${this.#expected.digest}: the writer is already ${this.#state}`,
      );
    }
  }
}
