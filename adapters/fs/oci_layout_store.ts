/**
 * A {@linkcode Store} on disk in the OCI image layout format (image-spec image-layout.md), so skopeo,
 * umoci, podman and containerd can read what tug pulls. Runs on Deno and Node (node:fs/promises).
 *
 * @module
 */

import { mkdir, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import process from "node:process";
import { TugError } from "../../src/errors.ts";
import type { Digest } from "../../src/digest/parse_digest.ts";
import type { Descriptor } from "../../src/manifest/types.ts";
import {
  checkDescriptor,
  checkDigest,
  checkExpected,
  checkName,
  checkWrittenRange,
  resolveRange,
} from "../../src/store/_checks.ts";
import type {
  BlobInfo,
  BlobStore,
  BlobWriter,
  ReferenceRecord,
  ReferenceStore,
  Store,
} from "../../src/store/types.ts";
import { isProcessAlive, withLockFile } from "./_lock_file.ts";
import { type BlobFile, type BlobReadFile, openBlobFile, openBlobReadFile } from "./_blob_file.ts";

/**
 * Options for {@linkcode OciLayoutStore.open}.
 *
 * @example A cache directory that trades durability for speed
 * ```ts
 * import type { OciLayoutStoreOptions } from "./oci_layout_store.ts";
 *
 * const options: OciLayoutStoreOptions = { fsync: false, lockTimeout: 30_000 };
 * console.assert(options.fsync === false);
 * ```
 */
export interface OciLayoutStoreOptions {
  /**
   * fsync each blob file before renaming it into `blobs/` (default true), so a power loss cannot leave a
   * named but empty or torn blob. Measured on the build VM, writing 600 MB in 64 KiB chunks: ~115 ms
   * without fsync (page cache), ~260 ms with it, up to ~1.3 s when earlier dirty pages flush too. A pull
   * of that size takes seconds on the network and other layers keep downloading during one layer's fsync,
   * so durability wins by default; throwaway caches may turn it off. index.json is always fsynced (small).
   * Directories are not fsynced after a rename (ext4/xfs journal the rename with the metadata).
   */
  fsync?: boolean;
  /** How long to wait for another process's index.json lock, in ms (default 10000). */
  lockTimeout?: number;
  /** A lock older than this is taken to be left by a crash, in ms (default 30000). */
  staleLockAge?: number;
  /**
   * For stores whose blobs mostly go straight into an HTTP response (`tug serve`), default false. When
   * true, on Deno a `blobs.get()` that reads to the end of the blob returns the file's own stream
   * (`Deno.FsFile.readable`), which `Deno.serve` sends from the file to the socket without a JavaScript
   * call per chunk: warm pulls of a 683 MB image through `tug serve` took 0.23 s instead of 0.33 s. That
   * stream comes in 64 KiB chunks, which costs JavaScript consumers (gunzip of a 183 MB layer: 1.0 s
   * instead of 0.77 s), and a file shorter than its recorded size ends early rather than failing with
   * STORE_CORRUPT (an HTTP client sees fewer bytes than the Content-Length). No effect on Node.
   */
  responseStreams?: boolean;
}

/**
 * A leftover file under `<dir>/.tug/`, as {@linkcode OciLayoutStore.listTemp} reports it.
 *
 * @example Sum the bytes kept for resumes
 * ```ts
 * import type { TempFile } from "./oci_layout_store.ts";
 *
 * const files: TempFile[] = [];
 * const kept = files.filter((f) => f.kind === "partial").reduce((n, f) => n + f.size, 0);
 * console.assert(kept === 0);
 * ```
 */
export interface TempFile {
  /** Absolute path. */
  readonly path: string;
  /** `tmp`: an open or orphaned write; `partial`: bytes kept for a resume. */
  readonly kind: "tmp" | "partial";
  /** Size in bytes. */
  readonly size: number;
  /** Last modification. */
  readonly modified: Date;
  /** The process that wrote a `tmp` file, when its name records it. */
  readonly pid?: number;
  /** Whether that process still runs on this host (such a file is in use). */
  readonly inUse: boolean;
}

/** The annotation OCI tools (skopeo, umoci) address an index entry by (image-spec annotations.md). */
const REF_NAME = "org.opencontainers.image.ref.name";
/** The annotation containerd's import reads the full image name from. */
const IMAGE_NAME = "io.containerd.image.name";
const INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";
/** Reads and coalesced writes move this many bytes per system call. */
const BUFFER = 1 << 20;
/** Chunks this large go to the file as they are; smaller ones are coalesced into the buffer. */
const DIRECT = 256 << 10;
const HEX = /^[0-9a-f]+$/;
const HEX_LENGTH: Record<string, number> = { sha256: 64, sha512: 128 };
/** Temp file names: `<alg>-<hex>.<pid>.<random>` (blobs) or `index.json.<pid>.<random>`. */
const TEMP_NAME = /^(.+)\.(\d+)\.[0-9a-z]+$/;

function errno(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

function ioError(action: string, err: unknown): TugError {
  if (err instanceof TugError) return err;
  return new TugError("STORE_IO", `${action}: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
    detail: { errno: errno(err) },
  });
}

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 10) || "0";
}

async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (errno(err) !== "ENOENT") throw err;
  }
}

/**
 * Streams bytes [start, end) of an open file in reads of up to 1 MiB; closes the file at the end, on an
 * error and on cancel. A byte stream: a BYOB reader reads straight into its own buffer; a default reader gets
 * a fresh 1 MiB buffer per chunk (the consumer owns what it is given). One chunk is read ahead, so the disk
 * works while the consumer sends the previous one.
 */
function fileStream(
  file: BlobReadFile,
  start: number,
  end: number,
  path: string,
): ReadableStream<Uint8Array> {
  let position = start;
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: BUFFER,
    async pull(controller) {
      try {
        if (position >= end) {
          await file.close().catch(() => {});
          controller.close();
          controller.byobRequest?.respond(0);
          return;
        }
        const request = controller.byobRequest;
        const view = request?.view;
        // A read-ahead pull (no reader waiting) has no BYOB request: it fills a buffer of its own.
        const buffer = view
          ? new Uint8Array(view.buffer, view.byteOffset, Math.min(view.byteLength, end - position))
          : new Uint8Array(Math.min(BUFFER, end - position));
        const bytesRead = await file.read(buffer, position);
        if (bytesRead === 0) {
          throw new TugError(
            "STORE_CORRUPT",
            `Cannot read ${path}: the file ends at byte ${position}, before ${end}`,
          );
        }
        position += bytesRead;
        if (request) request.respond(bytesRead);
        else controller.enqueue(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
        if (position >= end) {
          // Closed as soon as the last byte is read, not on the next pull.
          await file.close().catch(() => {});
          controller.close();
        }
      } catch (err) {
        await file.close().catch(() => {});
        controller.error(ioError(`Cannot read ${path}`, err));
      }
    },
    async cancel() {
      await file.close().catch(() => {});
    },
  }, { highWaterMark: BUFFER });
}

interface Paths {
  readonly dir: string;
  readonly tmp: string;
  readonly partial: string;
  readonly fsync: boolean;
  readonly responseStreams: boolean;
}

function blobPath(paths: Paths, digest: Digest): string {
  return join(paths.dir, "blobs", digest.algorithm, digest.hex);
}

function partialPath(paths: Paths, digest: Digest): string {
  return join(paths.partial, `${digest.algorithm}-${digest.hex}`);
}

function tempPath(paths: Paths, base: string): string {
  return join(paths.tmp, `${base}.${process.pid}.${randomSuffix()}`);
}

class FsBlobWriter implements BlobWriter {
  readonly offset: number;
  readonly #paths: Paths;
  readonly #digest: Digest;
  readonly #expected: BlobInfo;
  readonly #temp: string;
  readonly #handle: BlobFile;
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
  ) {
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
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    // A handle of its own, opened on the first read: bytes before `#position` never change, and an open
    // handle keeps reading them even after commit() renames the temp file or abort() removes it.
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          if (!reader) {
            if (start === end) {
              controller.close();
              return;
            }
            let handle: BlobReadFile;
            let path = temp;
            try {
              handle = await openBlobReadFile(temp);
            } catch (err) {
              // Committed meanwhile: the same bytes are now under the blob's own name.
              if (errno(err) !== "ENOENT" || !isCommitted()) throw err;
              path = committed;
              handle = await openBlobReadFile(committed);
            }
            reader = fileStream(handle, start, end, path).getReader();
          }
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (err) {
          controller.error(ioError(`Cannot read back blob ${temp} while it is written`, err));
        }
      },
      async cancel(reason) {
        await reader?.cancel(reason);
      },
    }, { highWaterMark: 0 });
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
    if (this.#pendingUsed > 0 && this.#pendingUsed + chunk.length > BUFFER) await this.#flush();
    if (chunk.length >= DIRECT) {
      await this.#flush();
      await this.#writeAll(chunk);
      return;
    }
    // Small chunks (fetch bodies often arrive in 16–64 KiB pieces) are copied into one 1 MiB buffer, so a
    // pull makes one write call per MiB instead of one per chunk.
    this.#pending ??= new Uint8Array(BUFFER);
    this.#pending.set(chunk, this.#pendingUsed);
    this.#pendingUsed += chunk.length;
    if (this.#pendingUsed === BUFFER) await this.#flush();
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
      await mkdir(join(this.#paths.dir, "blobs", this.#digest.algorithm), { recursive: true });
      // rename() is atomic: readers see the whole blob or none. Two writers of one digest both succeed;
      // the second replaces the first with the same bytes.
      await rename(this.#temp, target);
    } catch (err) {
      await this.#handle.close().catch(() => {});
      await unlink(this.#temp).catch(() => {});
      throw ioError(`Cannot commit blob ${this.#expected.digest} to ${target}`, err);
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
    let keep = keepPartial;
    if (keep) await this.#flush().catch(() => keep = false);
    await this.#handle.close().catch(() => {});
    if (keep && this.#written > 0) {
      try {
        // The newest cut wins if another writer left a partial for the same digest meanwhile.
        await rename(this.#temp, partialPath(this.#paths, this.#digest));
        return;
      } catch {
        // fall through: drop the bytes
      }
    }
    await unlink(this.#temp).catch(() => {});
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

class FsBlobStore implements BlobStore {
  readonly #paths: Paths;

  constructor(paths: Paths) {
    this.#paths = paths;
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    const path = blobPath(this.#paths, checkDigest(digest));
    try {
      const info = await stat(path);
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

  async writer(expected: BlobInfo, options: { resume?: boolean } = {}): Promise<BlobWriter> {
    const digest = checkExpected(expected);
    const info = { digest: expected.digest, size: expected.size };
    const temp = tempPath(this.#paths, `${digest.algorithm}-${digest.hex}`);
    try {
      const offset = options.resume ? await this.#claimPartial(digest, temp) : -1;
      if (offset >= 0) {
        return new FsBlobWriter(this.#paths, digest, info, temp, await openBlobFile(temp, "r+"), offset);
      }
      return new FsBlobWriter(this.#paths, digest, info, temp, await openBlobFile(temp, "wx"), 0);
    } catch (err) {
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
    for (const name of await readdir(this.#paths.tmp)) {
      const match = TEMP_NAME.exec(name);
      if (name.startsWith(prefix) && match && !isProcessAlive(Number(match[2]))) {
        candidates.push(join(this.#paths.tmp, name));
      }
    }
    for (const candidate of candidates) {
      try {
        await rename(candidate, temp);
      } catch (err) {
        if (errno(err) === "ENOENT") continue;
        throw err;
      }
      return (await stat(temp)).size;
    }
    return -1;
  }

  async delete(digest: string): Promise<boolean> {
    const path = blobPath(this.#paths, checkDigest(digest));
    try {
      await unlink(path);
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
        names = await readdir(join(root, algorithm));
      } catch (err) {
        if (errno(err) === "ENOENT") continue;
        throw ioError(`Cannot list ${join(root, algorithm)}`, err);
      }
      for (const name of names.sort()) {
        // Only files named like a digest are blobs; anything else (another tool's temp file) is not.
        if (name.length !== HEX_LENGTH[algorithm] || !HEX.test(name)) continue;
        try {
          const info = await stat(join(root, algorithm, name));
          if (info.isFile()) yield { digest: `${algorithm}:${name}`, size: info.size };
        } catch (err) {
          if (errno(err) !== "ENOENT") throw ioError(`Cannot stat ${join(root, algorithm, name)}`, err);
        }
      }
    }
  }
}

interface IndexFile {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  [key: string]: unknown;
}

/** The reference name an index entry carries: containerd's full name first, else the OCI ref.name. */
function entryName(entry: Descriptor): string | undefined {
  return entry.annotations?.[IMAGE_NAME] ?? entry.annotations?.[REF_NAME];
}

/** The descriptor a caller gave, without the two name annotations the store added. */
function entryDescriptor(entry: Descriptor): Descriptor {
  const descriptor = structuredClone(entry);
  if (descriptor.annotations) {
    delete descriptor.annotations[IMAGE_NAME];
    delete descriptor.annotations[REF_NAME];
    if (Object.keys(descriptor.annotations).length === 0) delete descriptor.annotations;
  }
  return descriptor;
}

class FsReferenceStore implements ReferenceStore {
  readonly #paths: Paths;
  readonly #options: Required<Pick<OciLayoutStoreOptions, "lockTimeout" | "staleLockAge">>;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(paths: Paths, options: Required<Pick<OciLayoutStoreOptions, "lockTimeout" | "staleLockAge">>) {
    this.#paths = paths;
    this.#options = options;
  }

  get #indexPath(): string {
    return join(this.#paths.dir, "index.json");
  }

  async read(): Promise<IndexFile> {
    let text: string;
    try {
      text = await readFile(this.#indexPath, "utf8");
    } catch (err) {
      if (errno(err) === "ENOENT") return { schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests: [] };
      throw ioError(`Cannot read ${this.#indexPath}`, err);
    }
    let index: IndexFile;
    try {
      index = JSON.parse(text);
    } catch (err) {
      throw new TugError("STORE_CORRUPT", `Cannot parse ${this.#indexPath}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (typeof index !== "object" || index === null || !Array.isArray(index.manifests)) {
      throw new TugError("STORE_CORRUPT", `Cannot use ${this.#indexPath}: it has no "manifests" array`);
    }
    return index;
  }

  /**
   * Read-modify-write of index.json under `<dir>/.tug/index.lock`, so two processes adding references at
   * once both land: each re-reads the file under the lock, changes it, writes a temp file and renames it
   * over index.json (readers never see a half-written file). Calls in this process queue up first.
   */
  update<T>(change: (index: IndexFile) => { write: boolean; result: T }): Promise<T> {
    const run = this.#queue.then(() =>
      withLockFile(join(this.#paths.dir, ".tug", "index.lock"), {
        timeout: this.#options.lockTimeout,
        staleAge: this.#options.staleLockAge,
      }, async () => {
        const index = await this.read();
        const { write, result } = change(index);
        if (write) await this.#write(index);
        return result;
      })
    );
    this.#queue = run.catch(() => {});
    return run;
  }

  async #write(index: IndexFile): Promise<void> {
    const temp = tempPath(this.#paths, "index.json");
    try {
      const handle = await open(temp, "wx");
      try {
        await handle.writeFile(JSON.stringify(index));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.#indexPath);
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw ioError(`Cannot write ${this.#indexPath}`, err);
    }
  }

  async get(name: string): Promise<Descriptor | undefined> {
    checkName(name);
    const entry = (await this.read()).manifests.findLast((e) => entryName(e) === name);
    return entry ? entryDescriptor(entry) : undefined;
  }

  set(name: string, descriptor: Descriptor): Promise<void> {
    try {
      checkName(name);
      checkDescriptor(name, descriptor);
    } catch (err) {
      return Promise.reject(err);
    }
    const entry: Descriptor = structuredClone(descriptor);
    // Both annotations hold the full canonical name (`docker.io/library/alpine:3.20`, `…@sha256:…`):
    // skopeo addresses it as `oci:DIR:docker.io/library/alpine:3.20` (it splits at the first colon after
    // the path and matches ref.name whole), umoci lists it, and containerd's import reads the full name.
    entry.annotations = { ...entry.annotations, [REF_NAME]: name, [IMAGE_NAME]: name };
    return this.update((index) => {
      const at = index.manifests.findIndex((e) => entryName(e) === name);
      // An unchanged entry is left alone: a repeated pull does not rewrite index.json or reorder it.
      if (at >= 0 && JSON.stringify(index.manifests[at]) === JSON.stringify(entry)) {
        return { write: false, result: undefined };
      }
      if (at >= 0) index.manifests[at] = entry;
      else index.manifests.push(entry);
      index.manifests = index.manifests.filter((e, i) =>
        i === (at >= 0 ? at : index.manifests.length - 1) || entryName(e) !== name
      );
      return { write: true, result: undefined };
    });
  }

  delete(name: string): Promise<boolean> {
    try {
      checkName(name);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.update((index) => {
      const kept = index.manifests.filter((e) => entryName(e) !== name);
      const removed = kept.length !== index.manifests.length;
      index.manifests = kept;
      return { write: removed, result: removed };
    });
  }

  async list(): Promise<ReferenceRecord[]> {
    const records: ReferenceRecord[] = [];
    for (const entry of (await this.read()).manifests) {
      const name = entryName(entry);
      // Entries without a name (another tool's untagged manifest) are not references.
      if (name !== undefined) records.push({ name, descriptor: entryDescriptor(entry) });
    }
    return records;
  }
}

/**
 * A {@linkcode Store} kept as an OCI image layout directory:
 *
 * ```
 * DIR/oci-layout             {"imageLayoutVersion":"1.0.0"}
 * DIR/index.json             one entry per reference, named by annotations (see below)
 * DIR/blobs/<alg>/<hex>      blobs, byte-identical to what the registry served (manifests too)
 * DIR/.tug/tmp/              writes in progress: <alg>-<hex>.<pid>.<random>, renamed into blobs/ on commit
 * DIR/.tug/partial/<alg>-<hex>  bytes kept by abort({ keepPartial }) for a resume, also across processes
 * DIR/.tug/index.lock        held while index.json is rewritten
 * ```
 *
 * References map to index.json entries: the descriptor as given, plus the annotations
 * `org.opencontainers.image.ref.name` and `io.containerd.image.name`, both set to the full reference name
 * (`docker.io/library/alpine:3.20`, `127.0.0.1:5000/small:v1`, or `…@sha256:…` for a digest reference).
 * Those two annotations belong to the store: `get()` and `list()` return the descriptor without them.
 * Entries other tools wrote with only `org.opencontainers.image.ref.name` (e.g. `v1`) are listed under it.
 *
 * A writer resumed with `{ resume: true }` picks up a kept partial, or the temp file of a process that died
 * while writing (its PID, recorded in the name, no longer runs on this host).
 *
 * @example Store a blob and a reference, then read them back
 * ```ts
 * import { OciLayoutStore } from "./oci_layout_store.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const store = await OciLayoutStore.open(dir);
 * const bytes = new TextEncoder().encode("{}");
 * const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
 * const writer = await store.blobs.writer({ digest, size: bytes.length });
 * await writer.write(bytes);
 * await writer.commit();
 * await store.references.set("example.com/app:v1", {
 *   mediaType: "application/vnd.oci.image.manifest.v1+json",
 *   digest,
 *   size: bytes.length,
 * });
 * console.assert((await store.references.get("example.com/app:v1"))?.digest === digest);
 * console.assert(await Deno.readTextFile(`${dir}/blobs/sha256/${digest.slice(7)}`) === "{}");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class OciLayoutStore implements Store {
  /** The layout directory (absolute). */
  readonly dir: string;
  /** The blobs under `blobs/`. */
  readonly blobs: BlobStore;
  /** The references in `index.json`. */
  readonly references: ReferenceStore;
  readonly #paths: Paths;

  private constructor(
    paths: Paths,
    options: Required<Pick<OciLayoutStoreOptions, "lockTimeout" | "staleLockAge">>,
  ) {
    this.dir = paths.dir;
    this.#paths = paths;
    this.blobs = new FsBlobStore(paths);
    this.references = new FsReferenceStore(paths, options);
  }

  /**
   * Opens the layout at `dir`, creating the directory, `oci-layout`, `index.json` and `.tug/` as needed.
   *
   * @param dir The layout directory; an existing layout is used as it is.
   * @param options fsync and lock timing.
   * @throws {TugError} `STORE_CORRUPT` if `oci-layout` or `index.json` is unreadable; `STORE_IO` on I/O failure.
   *
   * @example
   * ```ts
   * import { OciLayoutStore } from "./oci_layout_store.ts";
   *
   * const dir = await Deno.makeTempDir();
   * const store = await OciLayoutStore.open(dir, { fsync: false });
   * console.assert(JSON.parse(await Deno.readTextFile(`${dir}/oci-layout`)).imageLayoutVersion === "1.0.0");
   * console.assert(store.dir === dir);
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  static async open(dir: string, options: OciLayoutStoreOptions = {}): Promise<OciLayoutStore> {
    if (typeof dir !== "string" || dir.length === 0) {
      throw new TypeError("OciLayoutStore.open() needs a directory");
    }
    const root = resolve(dir);
    const paths: Paths = {
      dir: root,
      tmp: join(root, ".tug", "tmp"),
      partial: join(root, ".tug", "partial"),
      fsync: options.fsync ?? true,
      responseStreams: options.responseStreams ?? false,
    };
    const store = new OciLayoutStore(paths, {
      lockTimeout: options.lockTimeout ?? 10_000,
      staleLockAge: options.staleLockAge ?? 30_000,
    });
    try {
      await mkdir(join(root, "blobs", "sha256"), { recursive: true });
      await mkdir(paths.tmp, { recursive: true });
      await mkdir(paths.partial, { recursive: true });
    } catch (err) {
      throw ioError(`Cannot create the OCI layout directories in ${root}`, err);
    }
    await store.#ensureLayoutFile();
    const references = store.references as FsReferenceStore;
    await references.read(); // refuses a corrupt index.json now rather than at the first pull
    // Create index.json under the lock: a concurrent opener must not replace one that already has entries.
    await references.update((index) => ({ write: index.manifests.length === 0, result: undefined }));
    return store;
  }

  async #ensureLayoutFile(): Promise<void> {
    const path = join(this.dir, "oci-layout");
    try {
      const layout = JSON.parse(await readFile(path, "utf8"));
      if (typeof layout?.imageLayoutVersion !== "string") {
        throw new TugError("STORE_CORRUPT", `Cannot use ${path}: it has no "imageLayoutVersion"`);
      }
      return;
    } catch (err) {
      if (err instanceof SyntaxError) {
        throw new TugError("STORE_CORRUPT", `Cannot parse ${path}: ${err.message}`, { cause: err });
      }
      if (errno(err) !== "ENOENT") throw ioError(`Cannot read ${path}`, err);
    }
    const temp = tempPath(this.#paths, "oci-layout");
    try {
      const handle = await open(temp, "wx");
      try {
        await handle.writeFile(JSON.stringify({ imageLayoutVersion: "1.0.0" }));
      } finally {
        await handle.close();
      }
      await rename(temp, path);
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw ioError(`Cannot write ${path}`, err);
    }
  }

  /**
   * Lists the files under `.tug/tmp/` and `.tug/partial/`: writes in progress, writes orphaned by a process
   * that died, and partial blobs kept for a resume.
   *
   * @example
   * ```ts
   * import { OciLayoutStore } from "./oci_layout_store.ts";
   *
   * const dir = await Deno.makeTempDir();
   * const store = await OciLayoutStore.open(dir);
   * console.assert((await store.listTemp()).length === 0);
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  async listTemp(): Promise<TempFile[]> {
    const out: TempFile[] = [];
    for (const [kind, folder] of [["tmp", this.#paths.tmp], ["partial", this.#paths.partial]] as const) {
      let names: string[];
      try {
        names = await readdir(folder);
      } catch (err) {
        if (errno(err) === "ENOENT") continue;
        throw ioError(`Cannot list ${folder}`, err);
      }
      for (const name of names.sort()) {
        const path = join(folder, name);
        try {
          const info = await stat(path);
          const match = kind === "tmp" ? TEMP_NAME.exec(name) : null;
          const pid = match ? Number(match[2]) : undefined;
          out.push({
            path,
            kind,
            size: info.size,
            modified: info.mtime,
            ...(pid === undefined ? {} : { pid }),
            inUse: pid !== undefined && isProcessAlive(pid),
          });
        } catch (err) {
          if (errno(err) !== "ENOENT") throw ioError(`Cannot stat ${path}`, err);
        }
      }
    }
    return out;
  }

  /**
   * Removes leftover files under `.tug/`: orphaned writes and kept partials (a later pull then downloads
   * those blobs from the start). Writes of processes still running are left alone.
   *
   * @param options `olderThan`: only files last changed more than this many ms ago (default 0: all).
   * @returns The files removed.
   *
   * @example
   * ```ts
   * import { OciLayoutStore } from "./oci_layout_store.ts";
   *
   * const dir = await Deno.makeTempDir();
   * const store = await OciLayoutStore.open(dir);
   * const removed = await store.removeTemp({ olderThan: 60_000 });
   * console.assert(removed.length === 0);
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  async removeTemp(options: { olderThan?: number } = {}): Promise<TempFile[]> {
    const olderThan = options.olderThan ?? 0;
    const now = Date.now();
    const removed: TempFile[] = [];
    for (const file of await this.listTemp()) {
      if (file.inUse || now - file.modified.getTime() < olderThan) continue;
      try {
        await ignoreMissing(unlink(file.path));
        removed.push(file);
      } catch (err) {
        throw ioError(`Cannot remove ${file.path}`, err);
      }
    }
    return removed;
  }
}
