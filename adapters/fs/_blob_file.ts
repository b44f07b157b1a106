/**
 * The file a blob write goes to. On Node this is a node:fs/promises FileHandle (libuv writes on its thread
 * pool). On Deno it is a Deno.FsFile, because Deno's node:fs writes run on the JavaScript thread
 * (`op_node_fs_write_deferred`): in a CPU profile of a 683 MB pull, 1.9 s of the main thread went to
 * them (0.2 s when the page cache was warm), time in which no chunk was hashed and no socket read. Deno.FsFile
 * writes run on a blocking-pool thread, so the disk works while the JavaScript thread hashes the next chunk.
 *
 * @module
 */

import { open } from "node:fs/promises";

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

/**
 * Opens `path` for a blob write: `"wx"` creates a new file (fails when it exists), `"r+"` opens an existing
 * one (a resumed write).
 */
export async function openBlobFile(path: string, mode: "wx" | "r+"): Promise<BlobFile> {
  const deno = (globalThis as { Deno?: DenoNamespace }).Deno;
  if (deno !== undefined && typeof deno.open === "function" && deno.SeekMode !== undefined) {
    const file = await deno.open(
      path,
      mode === "wx" ? { write: true, createNew: true } : { read: true, write: true },
    );
    return new DenoBlobFile(deno, file);
  }
  return await open(path, mode);
}
