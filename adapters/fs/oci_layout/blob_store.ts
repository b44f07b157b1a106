/**
 * The {@linkcode BlobStore} of the OCI layout store: blobs under `blobs/<alg>/<hex>`, writers that resume
 * from `.tug/partial/` or a dead process's temp file. Internal to the OCI layout store.
 *
 * @module
 */

import { listNames, removeFile, renamePath, statPath } from "../_file_ops.ts";
import { join } from "node:path";
import { TugError } from "../../../src/errors.ts";
import type { Digest } from "../../../src/digest/parse_digest.ts";
import { checkDigest, checkExpected, resolveRange } from "../../../src/store/checks.ts";
import type { BlobInfo, BlobStore, BlobWriter } from "../../../src/store/types.ts";
import { isProcessAlive } from "../_lock_file.ts";
import { type BlobReadFile, openBlobFile, openBlobReadFile } from "../_blob_file.ts";
import { FsBlobWriter } from "./blob_writer.ts";
import { acquireBlobLock } from "./blob_lock.ts";
import { fileStream } from "./file_stream.ts";
import { blobPath, errno, ioError, partialPath, type Paths, TEMP_NAME, tempPath } from "./paths.ts";

const HEX = /^[0-9a-f]+$/;
const HEX_LENGTH: Record<string, number> = { sha256: 64, sha512: 128 };

export class FsBlobStore implements BlobStore {
  readonly #paths: Paths;

  constructor(paths: Paths) {
    this.#paths = paths;
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    const path = blobPath(this.#paths, checkDigest(digest));
    try {
      const info = await statPath(path);
      return info.isFile() ? { digest, size: info.size } : undefined;
    } catch (err) {
      if (errno(err) === "ENOENT") return undefined;
      throw ioError(`Cannot stat blob ${digest} at ${path}`, err);
    }
  }

  async get(digest: string, range?: { start: number; end?: number }): Promise<ReadableStream<Uint8Array>> {
    const path = blobPath(this.#paths, checkDigest(digest));
    let handle: BlobReadFile;
    try {
      handle = await openBlobReadFile(path);
    } catch (err) {
      if (errno(err) === "ENOENT") {
        throw new TugError("NOT_FOUND", `Cannot read blob ${digest}: it is not in the store (${path})`);
      }
      throw ioError(`Cannot open blob ${digest} at ${path}`, err);
    }
    try {
      const size = await handle.size();
      const { start, end } = resolveRange(digest, size, range);
      if (this.#paths.responseStreams && end === size && start < end) {
        const own = await handle.readableFrom(start);
        if (own !== undefined) return own;
      }
      return fileStream(handle, start, end, path);
    } catch (err) {
      await handle.close().catch(() => {});
      throw err instanceof RangeError ? err : ioError(`Cannot read blob ${digest} at ${path}`, err);
    }
  }

  /**
   * A writer for `expected`. While another process writes the same blob into this store, waits for it
   * (the blob lock, see `blob_lock.ts`): the caller then finds the blob committed with `stat()` and can
   * drop the writer, so two pulls download each blob once. `signal` ends the wait.
   */
  async writer(
    expected: BlobInfo,
    options: { resume?: boolean; signal?: AbortSignal } = {},
  ): Promise<BlobWriter> {
    const digest = checkExpected(expected);
    const info = { digest: expected.digest, size: expected.size };
    const temp = tempPath(this.#paths, `${digest.algorithm}-${digest.hex}`);
    let lock;
    try {
      lock = await acquireBlobLock(this.#paths.locks, digest, this.#paths.blobLock, options.signal);
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw ioError(`Cannot take the lock of blob ${expected.digest} in ${this.#paths.locks}`, err);
    }
    try {
      // Claimed after the lock: a dead holder's temp file is resumed, a live holder's is left alone.
      const offset = options.resume ? await this.#claimPartial(digest, temp) : -1;
      if (offset >= 0) {
        return new FsBlobWriter(
          this.#paths,
          digest,
          info,
          temp,
          await openBlobFile(temp, "r+"),
          offset,
          lock,
        );
      }
      return new FsBlobWriter(this.#paths, digest, info, temp, await openBlobFile(temp, "wx"), 0, lock);
    } catch (err) {
      await lock.release();
      throw ioError(`Cannot open a writer for blob ${expected.digest} at ${temp}`, err);
    }
  }

  /**
   * Moves the bytes of an earlier write of `digest` to `temp` and returns their length, or -1 when there
   * are none. Renaming claims them: a second resumer in this or another process finds nothing. Sources, in
   * order: the partial an `abort({ keepPartial })` left, then the temp file of a process that died while
   * writing (killed, power loss); its PID is in the file name.
   */
  async #claimPartial(digest: Digest, temp: string): Promise<number> {
    const candidates = [partialPath(this.#paths, digest)];
    const prefix = `${digest.algorithm}-${digest.hex}.`;
    for (const name of await listNames(this.#paths.tmp)) {
      const match = TEMP_NAME.exec(name);
      if (name.startsWith(prefix) && match && !isProcessAlive(Number(match[2]))) {
        candidates.push(join(this.#paths.tmp, name));
      }
    }
    for (const candidate of candidates) {
      try {
        await renamePath(candidate, temp);
      } catch (err) {
        if (errno(err) === "ENOENT") continue;
        throw err;
      }
      return (await statPath(temp)).size;
    }
    return -1;
  }

  async delete(digest: string): Promise<boolean> {
    const path = blobPath(this.#paths, checkDigest(digest));
    try {
      await removeFile(path);
      return true;
    } catch (err) {
      if (errno(err) === "ENOENT") return false;
      throw ioError(`Cannot delete blob ${digest} at ${path}`, err);
    }
  }

  async *list(): AsyncIterable<BlobInfo> {
    const root = join(this.#paths.dir, "blobs");
    for (const algorithm of Object.keys(HEX_LENGTH)) {
      let names: string[];
      try {
        names = await listNames(join(root, algorithm));
      } catch (err) {
        if (errno(err) === "ENOENT") continue;
        throw ioError(`Cannot list ${join(root, algorithm)}`, err);
      }
      for (const name of names.sort()) {
        // Only files named like a digest are blobs; anything else (another tool's temp file) is not.
        if (name.length !== HEX_LENGTH[algorithm] || !HEX.test(name)) continue;
        try {
          const info = await statPath(join(root, algorithm, name));
          if (info.isFile()) yield { digest: `${algorithm}:${name}`, size: info.size };
        } catch (err) {
          if (errno(err) !== "ENOENT") throw ioError(`Cannot stat ${join(root, algorithm, name)}`, err);
        }
      }
    }
  }
}
