/**
 * The {@linkcode BlobWriter} of the OCI layout store: writes to a temp file under `.tug/tmp/`, coalescing
 * small chunks, renames it into `blobs/` on commit or into `.tug/partial/` on `abort({ keepPartial })`, and
 * reads back what it has written. Internal to the OCI layout store.
 *
 * @module
 */

import { makeDirs, removeFile, renamePath } from "../_file_ops.ts";
import { join } from "node:path";
import { TugError } from "../../../src/errors.ts";
import type { Digest } from "../../../src/digest/parse_digest.ts";
import { checkWrittenRange } from "../../../src/store/checks.ts";
import type { BlobInfo, BlobWriter } from "../../../src/store/types.ts";
import { type BlobFile, openBlobReadFile } from "../_blob_file.ts";
import { fileStream } from "./file_stream.ts";
import type { BlobLock } from "./blob_lock.ts";
import { blobPath, errno, ioError, partialPath, type Paths } from "./paths.ts";

/** Chunks this large go to the file as they are; smaller ones are coalesced into the buffer. */
/**
 * Small chunks are gathered into a buffer of this size and written together. 256 KiB (was 1 MiB): `tug serve`
 * with 8 clients on a cold 250 MB blob peaked ~0.7 MiB lower, in the same time (docs/performance.md,
 * "Proxy memory"); a pull's download buffers (512 KiB) are written directly either way.
 */
const WRITE_BUFFER = 256 << 10;
const DIRECT = 256 << 10;

export class FsBlobWriter implements BlobWriter {
  readonly offset: number;
  readonly #paths: Paths;
  readonly #digest: Digest;
  readonly #expected: BlobInfo;
  readonly #temp: string;
  readonly #handle: BlobFile;
  readonly #lock: BlobLock;
  #position: number;
  #pending: Uint8Array | undefined;
  #pendingUsed = 0;
  #state: "open" | "committed" | "aborted" = "open";
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    paths: Paths,
    digest: Digest,
    expected: BlobInfo,
    temp: string,
    handle: BlobFile,
    offset: number,
    lock: BlobLock,
  ) {
    this.#lock = lock;
    this.#paths = paths;
    this.#digest = digest;
    this.#expected = expected;
    this.#temp = temp;
    this.#handle = handle;
    this.offset = offset;
    this.#position = offset;
  }

  get #written(): number {
    return this.#position + this.#pendingUsed;
  }

  readPartial(): ReadableStream<Uint8Array> {
    const end = this.offset;
    const path = this.#temp;
    let inner: ReadableStream<Uint8Array> | undefined;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    // The bytes before `offset` never change (writes go after them), so a second handle may read them.
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          if (!reader) {
            inner = end === 0 ? new ReadableStream({ start: (c) => c.close() }) : fileStream(
              await openBlobReadFile(path),
              0,
              end,
              path,
            );
            reader = inner.getReader();
          }
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (err) {
          controller.error(ioError(`Cannot read the partial blob ${path}`, err));
        }
      },
      async cancel(reason) {
        await reader?.cancel(reason);
      },
    });
  }

  /** Bytes on disk (in the temp file): those written, less the ones still in the coalescing buffer. */
  get readable(): number {
    return this.#position;
  }

  readWritten(start: number, end: number): ReadableStream<Uint8Array> {
    checkWrittenRange(this.#expected.digest, start, end, this.#position);
    const temp = this.#temp;
    const committed = blobPath(this.#paths, this.#digest);
    const isCommitted = () => this.#state === "committed";
    // A handle of its own, opened on the first read: bytes before `#position` never change, and an open
    // handle keeps reading them even after commit() renames the temp file or abort() removes it. A byte
    // stream without read-ahead: a BYOB reader (the proxy's read-back) gets the bytes in its own buffer.
    return fileStream(
      async () => {
        try {
          return await openBlobReadFile(temp);
        } catch (err) {
          // Committed meanwhile: the same bytes are now under the blob's own name.
          if (errno(err) !== "ENOENT" || !isCommitted()) {
            throw ioError(`Cannot read back blob ${temp} while it is written`, err);
          }
          return await openBlobReadFile(committed);
        }
      },
      start,
      end,
      temp,
      { readAhead: false },
    );
  }

  write(chunk: Uint8Array): Promise<void> {
    // Writes run one after another even when a caller does not wait, so bytes stay in order.
    const run = this.#queue.then(() => this.#write(chunk));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #write(chunk: Uint8Array): Promise<void> {
    this.#checkOpen("write to");
    if (!(chunk instanceof Uint8Array)) throw new TypeError("BlobWriter.write() takes a Uint8Array");
    if (this.#pendingUsed > 0 && this.#pendingUsed + chunk.length > WRITE_BUFFER) await this.#flush();
    if (chunk.length >= DIRECT) {
      await this.#flush();
      await this.#writeAll(chunk);
      return;
    }
    // Small chunks (fetch bodies often arrive in 16–64 KiB pieces) are copied into one 256 KiB buffer, so a
    // download makes one write call per 256 KiB instead of one per chunk.
    this.#pending ??= new Uint8Array(WRITE_BUFFER);
    this.#pending.set(chunk, this.#pendingUsed);
    this.#pendingUsed += chunk.length;
    if (this.#pendingUsed === WRITE_BUFFER) await this.#flush();
  }

  commit(): Promise<void> {
    const run = this.#queue.then(() => this.#commit());
    this.#queue = run.catch(() => {});
    return run;
  }

  async #commit(): Promise<void> {
    this.#checkOpen("commit");
    this.#state = "committed";
    const target = blobPath(this.#paths, this.#digest);
    try {
      await this.#flush();
      if (this.#written !== this.#expected.size) {
        throw new TugError(
          "SIZE_MISMATCH",
          `Cannot commit blob ${this.#expected.digest}: expected ${this.#expected.size} bytes, ` +
            `${this.#written} were written`,
          { detail: { expected: this.#expected.size, actual: this.#written } },
        );
      }
      if (this.#paths.fsync) await this.#handle.sync();
      await this.#handle.close();
      await makeDirs(join(this.#paths.dir, "blobs", this.#digest.algorithm));
      // rename() is atomic: readers see the whole blob or none. Two writers of one digest both succeed;
      // the second replaces the first with the same bytes.
      await renamePath(this.#temp, target);
    } catch (err) {
      await this.#handle.close().catch(() => {});
      await removeFile(this.#temp).catch(() => {});
      throw ioError(`Cannot commit blob ${this.#expected.digest} to ${target}`, err);
    } finally {
      // After the rename: a process waiting for this blob finds it in blobs/ once the lock is gone.
      await this.#lock.release();
    }
  }

  abort(options: { keepPartial?: boolean } = {}): Promise<void> {
    const run = this.#queue.then(() => this.#abort(options.keepPartial === true));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #abort(keepPartial: boolean): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "aborted";
    try {
      await this.#dropBytes(keepPartial);
    } finally {
      await this.#lock.release();
    }
  }

  async #dropBytes(keepPartial: boolean): Promise<void> {
    let keep = keepPartial;
    if (keep) await this.#flush().catch(() => keep = false);
    await this.#handle.close().catch(() => {});
    if (keep && this.#written > 0) {
      try {
        // The newest cut wins if another writer left a partial for the same digest meanwhile.
        await renamePath(this.#temp, partialPath(this.#paths, this.#digest));
        return;
      } catch {
        // fall through: drop the bytes
      }
    }
    await removeFile(this.#temp).catch(() => {});
  }

  async #flush(): Promise<void> {
    if (this.#pendingUsed === 0 || !this.#pending) return;
    const used = this.#pendingUsed;
    await this.#writeAll(this.#pending.subarray(0, used));
    this.#pendingUsed = 0;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let done = 0;
    try {
      while (done < bytes.length) {
        const { bytesWritten } = await this.#handle.write(bytes, done, bytes.length - done, this.#position);
        if (bytesWritten <= 0) throw new Error("the file system accepted no bytes");
        done += bytesWritten;
        this.#position += bytesWritten;
      }
    } catch (err) {
      throw ioError(`Cannot write blob ${this.#expected.digest} to ${this.#temp}`, err);
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
