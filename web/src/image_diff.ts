/**
 * Two images compared by file tree: the paths only one has, and the paths both have that differ. Computed
 * from the layers' tar headers through the library's merge (`mergeLayers`), so each side is the file system
 * a container would see.
 *
 * What "changed" compares: the entry type, the size of regular files, the permission bits (with setuid,
 * setgid, sticky), the owner (uid:gid) and the link target. Modification times are not compared (a rebuild
 * changes them all). File contents are not read: when both sides' entry comes from the same layer blob (same
 * digest) the content is known to be the same; otherwise a file with the same header on both sides counts as
 * unchanged and is counted in `unverified`.
 *
 * @module
 */

import type { TarHeader } from "../../src/mod.ts";
import { mergeLayers } from "../../src/image/mod.ts";

/** One side of the comparison: the layers' tar headers, bottom first, and the layers' digests. */
export interface DiffSide {
  /** Each layer's entries. */
  readonly layers: readonly (readonly TarHeader[])[];
  /** Each layer's digest (same order), to know when both sides share the bytes of a layer. */
  readonly digests: readonly string[];
}

/** What the diff says about one path. */
export interface DiffEntry {
  /** The path (`etc/os-release`). */
  readonly path: string;
  /** Only in the second image, only in the first, or in both but different. */
  readonly kind: "added" | "removed" | "changed";
  /** The entry in the first image. */
  readonly before?: TarHeader;
  /** The entry in the second image. */
  readonly after?: TarHeader;
  /** For `changed`: what differs (`type`, `size`, `mode`, `owner`, `link`). */
  readonly reasons: readonly string[];
}

/** The result of {@linkcode diffImages}. */
export interface ImageDiff {
  /** Every path that differs, in path order. */
  readonly entries: readonly DiffEntry[];
  /** How many paths were added, removed and changed. */
  readonly counts: { readonly added: number; readonly removed: number; readonly changed: number };
  /** Bytes of regular files in the first and the second image. */
  readonly sizes: { readonly before: number; readonly after: number };
  /** Paths both have with the same entry, from the same layer blob: known to be the same. */
  readonly identical: number;
  /** Regular files both have with the same header but from different layer blobs (content not compared). */
  readonly unverified: number;
}

function merged(side: DiffSide): Map<string, { entry: TarHeader; digest: string }> {
  const merge = mergeLayers();
  for (const [i, entries] of side.layers.entries()) for (const entry of entries) merge.add(i, entry);
  const out = new Map<string, { entry: TarHeader; digest: string }>();
  for (const [path, file] of merge.files()) {
    out.set(path, { entry: file.entry, digest: side.digests[file.layer] });
  }
  return out;
}

/** What differs between two entries of the same path (empty: the same as far as headers tell). */
function differences(a: TarHeader, b: TarHeader): string[] {
  const out: string[] = [];
  if (a.type !== b.type) out.push("type");
  if ((a.type === "file" || b.type === "file") && a.size !== b.size) out.push("size");
  if ((a.mode & 0o7777) !== (b.mode & 0o7777)) out.push("mode");
  if (a.uid !== b.uid || a.gid !== b.gid) out.push("owner");
  if ((a.type === "symlink" || a.type === "hardlink") && a.linkname !== b.linkname) out.push("link");
  return out;
}

const fileSize = (entry: TarHeader) => entry.type === "file" ? entry.size : 0;

/**
 * Compares two images file by file.
 *
 * @example
 * ```ts
 * import { diffImages } from "./image_diff.ts";
 * import type { TarHeader } from "../../src/mod.ts";
 *
 * const file = (name: string, size: number): TarHeader => ({
 *   name, type: "file", typeflag: "0", size, mode: 0o644, uid: 0, gid: 0, uname: "", gname: "",
 *   mtime: 0, linkname: "", devmajor: 0, devminor: 0, offset: 0,
 * });
 * const diff = diffImages(
 *   { layers: [[file("a", 1), file("b", 2)]], digests: ["sha256:1"] },
 *   { layers: [[file("a", 1), file("c", 3)]], digests: ["sha256:2"] },
 * );
 * console.assert(diff.counts.added === 1 && diff.counts.removed === 1 && diff.unverified === 1);
 * ```
 */
export function diffImages(first: DiffSide, second: DiffSide): ImageDiff {
  const a = merged(first);
  const b = merged(second);
  const entries: DiffEntry[] = [];
  const counts = { added: 0, removed: 0, changed: 0 };
  let identical = 0;
  let unverified = 0;
  let before = 0;
  let after = 0;
  for (const [path, left] of a) {
    before += fileSize(left.entry);
    const right = b.get(path);
    if (!right) {
      entries.push({ path, kind: "removed", before: left.entry, reasons: [] });
      counts.removed++;
      continue;
    }
    // The same layer blob on both sides: the very same entry and content.
    if (left.digest === right.digest) {
      identical++;
      continue;
    }
    const reasons = differences(left.entry, right.entry);
    if (reasons.length > 0) {
      entries.push({ path, kind: "changed", before: left.entry, after: right.entry, reasons });
      counts.changed++;
    } else if (left.entry.type === "file") {
      unverified++;
    }
  }
  for (const [path, right] of b) {
    after += fileSize(right.entry);
    if (a.has(path)) continue;
    entries.push({ path, kind: "added", after: right.entry, reasons: [] });
    counts.added++;
  }
  entries.sort((x, y) => x.path < y.path ? -1 : x.path > y.path ? 1 : 0);
  return { entries, counts, sizes: { before, after }, identical, unverified };
}
