/**
 * The file a blob write goes to, or a blob read comes from. On Node this is a node:fs/promises FileHandle
 * (libuv reads and writes on its thread pool). On Deno it is a Deno.FsFile, because Deno's node:fs writes run
 * on the JavaScript thread (`op_node_fs_write_deferred`): in a CPU profile of a 683 MB pull, 1.9 s of the
 * main thread went to them (0.2 s when the page cache was warm), time in which no chunk was hashed and no
 * socket read. Deno.FsFile writes run on a blocking-pool thread, so the disk works while the JavaScript
 * thread hashes the next chunk. Reads are the same: in a profile of `tug serve` answering warm pulls, node:fs
 * FileHandle reads took 0.38 s of the JavaScript thread.
 *
 * @module
 */

import type { FileHandle } from "node:fs/promises";
import { denoNamespace, nodeFsPromises } from "./_file_ops.ts";

/** The few file operations a blob writer needs. */
export interface BlobFile {
  /** Writes `length` bytes of `buffer` from `offset` at file `position`. */
  write(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesWritten: number }>;
  /** fsync. */
  sync(): Promise<void>;
  /** Closes the file; a second close rejects (callers ignore it). */
  close(): Promise<void>;
}

type DenoNamespace = typeof Deno;

class DenoBlobFile implements BlobFile {
  readonly #deno: DenoNamespace;
  readonly #file: Deno.FsFile;
  /** The file's own offset: writes are sequential, so it is moved only when a caller writes elsewhere. */
  #position = 0;

  constructor(deno: DenoNamespace, file: Deno.FsFile) {
    this.#deno = deno;
    this.#file = file;
  }

  async write(buffer: Uint8Array, offset: number, length: number, position: number) {
    if (position !== this.#position) {
      this.#position = await this.#file.seek(position, this.#deno.SeekMode.Start);
    }
    const bytesWritten = await this.#file.write(buffer.subarray(offset, offset + length));
    this.#position += bytesWritten;
    return { bytesWritten };
  }

  sync(): Promise<void> {
    return this.#file.sync();
  }

  // deno-lint-ignore require-await
  async close(): Promise<void> {
    this.#file.close();
  }
}

/** The few file operations a blob read needs. */
export interface BlobReadFile {
  /**
   * Reads into `buffer` (all of it at most) from file `position`; resolves to the bytes read, 0 at the end
   * of the file.
   */
  read(buffer: Uint8Array, position: number): Promise<number>;
  /** The file's size in bytes. */
  size(): Promise<number>;
  /**
   * The file from `start` to its end as the runtime's own stream, when it has one (Deno: `FsFile.readable`,
   * which closes the file at the end and on cancel). Deno.serve sends such a stream from the file to the
   * socket without a JavaScript call per chunk. Undefined on Node.
   */
  readableFrom(start: number): Promise<ReadableStream<Uint8Array> | undefined>;
  /** Closes the file; a second close is a no-op. */
  close(): Promise<void>;
}

class DenoBlobReadFile implements BlobReadFile {
  readonly #deno: DenoNamespace;
  readonly #file: Deno.FsFile;
  /** The file's own offset: reads are sequential, so it is moved only when a caller reads elsewhere. */
  #position = 0;
  #closed = false;

  constructor(deno: DenoNamespace, file: Deno.FsFile) {
    this.#deno = deno;
    this.#file = file;
  }

  async read(buffer: Uint8Array, position: number): Promise<number> {
    if (position !== this.#position) {
      this.#position = await this.#file.seek(position, this.#deno.SeekMode.Start);
    }
    const bytesRead = (await this.#file.read(buffer)) ?? 0;
    this.#position += bytesRead;
    return bytesRead;
  }

  async size(): Promise<number> {
    return (await this.#file.stat()).size;
  }

  async readableFrom(start: number): Promise<ReadableStream<Uint8Array>> {
    if (start !== this.#position) this.#position = await this.#file.seek(start, this.#deno.SeekMode.Start);
    this.#closed = true;
    return this.#file.readable;
  }

  // deno-lint-ignore require-await
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }
}

class NodeBlobReadFile implements BlobReadFile {
  readonly #handle: FileHandle;
  #closed = false;

  constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  async read(buffer: Uint8Array, position: number): Promise<number> {
    return (await this.#handle.read(buffer, 0, buffer.length, position)).bytesRead;
  }

  async size(): Promise<number> {
    return (await this.#handle.stat()).size;
  }

  readableFrom(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }
}

/**
 * Opens `path` for a blob read. A missing file rejects with an error whose `code` is `"ENOENT"` on both
 * runtimes (Deno.errors.NotFound carries it too).
 */
export async function openBlobReadFile(path: string): Promise<BlobReadFile> {
  const deno = denoNamespace();
  if (deno !== undefined) return new DenoBlobReadFile(deno, await deno.open(path, { read: true }));
  return new NodeBlobReadFile(await (await nodeFsPromises()).open(path, "r"));
}

/**
 * Opens `path` for a blob write: `"wx"` creates a new file (fails when it exists), `"r+"` opens an existing
 * one (a resumed write).
 */
export async function openBlobFile(path: string, mode: "wx" | "r+"): Promise<BlobFile> {
  const deno = denoNamespace();
  if (deno !== undefined) {
    const file = await deno.open(
      path,
      mode === "wx" ? { write: true, createNew: true } : { read: true, write: true },
    );
    return new DenoBlobFile(deno, file);
  }
  return await (await nodeFsPromises()).open(path, mode);
}
