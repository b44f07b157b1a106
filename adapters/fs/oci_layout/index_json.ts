/**
 * The {@linkcode ReferenceStore} of the OCI layout store: references as `index.json` entries named by
 * annotations, rewritten under a lock file. Internal to the OCI layout store.
 *
 * @module
 */

import { readText, removeFile, renamePath, writeNewFile } from "../_file_ops.ts";
import { join } from "node:path";
import { TugError } from "../../../src/errors.ts";
import type { Descriptor } from "../../../src/manifest/types.ts";
import { checkDescriptor, checkName } from "../../../src/store/checks.ts";
import type { ReferenceRecord, ReferenceStore } from "../../../src/store/types.ts";
import { withLockFile } from "../_lock_file.ts";
import { errno, ioError, type Paths, tempPath } from "./paths.ts";

/** The annotation OCI tools (skopeo, umoci) address an index entry by (image-spec annotations.md). */
const REF_NAME = "org.opencontainers.image.ref.name";
/** The annotation containerd's import reads the full image name from. */
const IMAGE_NAME = "io.containerd.image.name";
const INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";

/** How long to wait for the index.json lock, and when a lock counts as left by a crash (both in ms). */
export interface LockOptions {
  readonly lockTimeout: number;
  readonly staleLockAge: number;
}

export interface IndexFile {
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

export class FsReferenceStore implements ReferenceStore {
  readonly #paths: Paths;
  readonly #options: LockOptions;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(paths: Paths, options: LockOptions) {
    this.#paths = paths;
    this.#options = options;
  }

  get #indexPath(): string {
    return join(this.#paths.dir, "index.json");
  }

  async read(): Promise<IndexFile> {
    let text: string;
    try {
      text = await readText(this.#indexPath);
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
      await writeNewFile(temp, JSON.stringify(index), { sync: true });
      await renamePath(temp, this.#indexPath);
    } catch (err) {
      await removeFile(temp).catch(() => {});
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
