/**
 * The leftover files under `<dir>/.tug/` of the OCI layout store: writes in progress or orphaned by a dead
 * process (`tmp/`) and bytes kept for a resume (`partial/`). Internal to the OCI layout store, which exposes
 * them as `listTemp()` and `removeTemp()`.
 *
 * @module
 */

import { listNames, removeFile, statPath } from "../_file_ops.ts";
import { join } from "node:path";
import { isProcessAlive } from "../_lock_file.ts";
import { errno, ignoreMissing, ioError, type Paths, TEMP_NAME } from "./paths.ts";

/**
 * A leftover file under `<dir>/.tug/`, as `OciLayoutStore.listTemp()` reports it.
 *
 * @example Sum the bytes kept for resumes
 * ```ts
 * import type { TempFile } from "../oci_layout_store.ts";
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

/** Lists the files under `.tug/tmp/` and `.tug/partial/` (see `OciLayoutStore.listTemp`). */
export async function listTemp(paths: Paths): Promise<TempFile[]> {
  const out: TempFile[] = [];
  for (const [kind, folder] of [["tmp", paths.tmp], ["partial", paths.partial]] as const) {
    let names: string[];
    try {
      names = await listNames(folder);
    } catch (err) {
      if (errno(err) === "ENOENT") continue;
      throw ioError(`Cannot list ${folder}`, err);
    }
    for (const name of names.sort()) {
      const path = join(folder, name);
      try {
        const info = await statPath(path);
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

/** Removes the leftover files no running process uses (see `OciLayoutStore.removeTemp`). */
export async function removeTemp(paths: Paths, options: { olderThan?: number } = {}): Promise<TempFile[]> {
  const olderThan = options.olderThan ?? 0;
  const now = Date.now();
  const removed: TempFile[] = [];
  for (const file of await listTemp(paths)) {
    if (file.inUse || now - file.modified.getTime() < olderThan) continue;
    try {
      await ignoreMissing(removeFile(file.path));
      removed.push(file);
    } catch (err) {
      throw ioError(`Cannot remove ${file.path}`, err);
    }
  }
  return removed;
}
