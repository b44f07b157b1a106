/**
 * What each layer of an image adds, changes and removes, and how much of what it ships is wasted, computed
 * from the layers' tar headers alone, as dive does (wagoodman/dive, `dive/filetree/efficiency.go` and
 * `image.Analyze`):
 *
 * - A layer's size is the sum of the sizes of the files it holds (uncompressed content, dive's
 *   `FileTree.FileSize`), not the size of its tar or of its compressed blob.
 * - Efficiency: every path that is a leaf of some layer's tree (a file, a link, an empty folder, a whiteout)
 *   is a "discovered" path. Each time a layer has it, its size is added to the path's cumulative size (a
 *   whiteout of a file counts 0; a whiteout of a folder counts what it deletes). The score is the sum over
 *   paths of the smallest size seen, divided by the sum of the cumulative sizes (1 when that is 0).
 * - dive's "potential wasted space" sums the cumulative size of every path seen in two layers or more
 *   (all its copies, the surviving one too); its "user wasted percent" divides that by the size of all
 *   layers but the first.
 * - Besides dive's figures, `wastedBytes` here counts only bytes that are dead in the final image: every
 *   copy of a file shipped by a layer and then deleted or overwritten by a later one.
 *
 * @module
 */

import type { TarHeader } from "../../src/mod.ts";
import { mergeLayers, normalizeTarPath, parseWhiteout } from "../../src/image/mod.ts";

/** How a layer changes a path, as `docker diff` and dive mark it. */
export type ChangeKind = "added" | "modified" | "removed";

/** One change a layer makes. */
export interface LayerChange {
  /** The path (`etc/motd`). */
  readonly path: string;
  /** Added (not in the layers below), modified (shipped again) or removed (by a whiteout). */
  readonly kind: ChangeKind;
  /** Bytes: the new file's size, or what the whiteout deletes (the files at and below the path). */
  readonly size: number;
}

/** One layer's figures. */
export interface LayerAnalysis {
  /** Sum of the sizes of the files the layer holds (uncompressed). */
  readonly size: number;
  /** Entries in the layer (whiteouts included). */
  readonly entries: number;
  /** Its changes, biggest first (folders only when they are new or their mode or owner changed). */
  readonly changes: readonly LayerChange[];
  /** How many of each kind. */
  readonly counts: Readonly<Record<ChangeKind, number>>;
  /** Bytes this layer ships that a later layer deletes or overwrites. */
  readonly wasted: number;
}

/** A path shipped by more than one layer (dive's "inefficiency"). */
export interface Inefficiency {
  /** The path. */
  readonly path: string;
  /** How many layers have it (whiteouts included). */
  readonly count: number;
  /** dive's cumulative size: the sizes of all its copies added up. */
  readonly cumulative: number;
  /** Of those, the bytes that are dead in the final image. */
  readonly wasted: number;
}

/** A file of the final image. */
export interface SizedFile {
  /** The path. */
  readonly path: string;
  /** Its size. */
  readonly size: number;
  /** The layer it comes from (0 is the base). */
  readonly layer: number;
}

/** The whole analysis ({@linkcode analyzeLayers}). */
export interface ImageAnalysis {
  /** Per layer, bottom first. */
  readonly layers: readonly LayerAnalysis[];
  /** Sum of the layers' sizes: every byte shipped. */
  readonly totalSize: number;
  /** Sum of the sizes of the files in the final (merged) image. */
  readonly finalSize: number;
  /** Bytes shipped and then deleted or overwritten by a later layer (dead in the final image). */
  readonly wastedBytes: number;
  /** dive's efficiency score, 0…1. */
  readonly efficiency: number;
  /** dive's "potential wasted space": cumulative size of every path seen in two layers or more. */
  readonly diveWastedBytes: number;
  /** dive's "user wasted percent" (0…1+): `diveWastedBytes` over the size of all layers but the first. */
  readonly diveUserWastedPercent: number;
  /** Paths seen in more than one layer, biggest cumulative size first. */
  readonly inefficiencies: readonly Inefficiency[];
  /** The final image's regular files, biggest first. */
  readonly largestFiles: readonly SizedFile[];
}

interface Live {
  entry: TarHeader;
  layer: number;
}

const sizeOf = (entry: TarHeader) => entry.type === "file" ? entry.size : 0;

/**
 * Analyses an image from the tar headers of its layers (bottom first): per-layer sizes and changes,
 * wasted bytes, dive's efficiency score, and the final image's files by size.
 *
 * @example
 * ```ts
 * import { analyzeLayers } from "./analysis.ts";
 * import type { TarHeader } from "../../src/mod.ts";
 *
 * const file = (name: string, size: number): TarHeader => ({
 *   name, type: "file", typeflag: "0", size, mode: 0o644, uid: 0, gid: 0, uname: "", gname: "",
 *   mtime: 0, linkname: "", devmajor: 0, devminor: 0, offset: 0,
 * });
 * const result = analyzeLayers([[file("big", 100)], [file(".wh.big", 0)]]);
 * console.assert(result.wastedBytes === 100 && result.efficiency === 0);
 * ```
 */
export function analyzeLayers(
  layers: readonly (readonly TarHeader[])[],
  options: { top?: number } = {},
): ImageAnalysis {
  // The image as the layers so far make it: path → the visible entry and its layer.
  const live = new Map<string, Live>();
  const wastedOf = new Array<number>(layers.length).fill(0);
  const cumulative = new Map<string, { sum: number; min: number; count: number; dead: number }>();
  const discover = (path: string, size: number) => {
    const seen = cumulative.get(path);
    if (!seen) cumulative.set(path, { sum: size, min: size, count: 1, dead: 0 });
    else {
      seen.sum += size;
      seen.min = Math.min(seen.min, size);
      seen.count++;
    }
  };
  // A copy that dies: the bytes the layer that shipped it wasted, and dead bytes of its path.
  const kill = (path: string, was: Live) => {
    const size = sizeOf(was.entry);
    if (size === 0) return;
    wastedOf[was.layer] += size;
    const seen = cumulative.get(path);
    if (seen) seen.dead += size;
  };
  /** Live paths at and below `path` (all of them for ""), each with its entry. */
  const below = (path: string): string[] => {
    const prefix = path === "" ? "" : `${path}/`;
    const out: string[] = [];
    for (const key of live.keys()) if (key === path || key.startsWith(prefix)) out.push(key);
    return out;
  };
  const result: LayerAnalysis[] = [];
  for (const [index, entries] of layers.entries()) {
    const changes: LayerChange[] = [];
    const counts: Record<ChangeKind, number> = { added: 0, modified: 0, removed: 0 };
    let size = 0;
    const clean: Array<{ path: string; entry: TarHeader }> = [];
    // Whiteouts apply to the layers below only (image-spec layer.md), so they go first; the layer's own
    // entries under an opaque folder stay.
    for (const entry of entries) {
      size += sizeOf(entry);
      const { path, safe } = normalizeTarPath(entry.name);
      if (!safe || path === "") continue;
      const whiteout = parseWhiteout(path);
      if (!whiteout) {
        clean.push({ path, entry });
        continue;
      }
      if (whiteout.kind === "whiteout") {
        const target = whiteout.dir === "" ? whiteout.name : `${whiteout.dir}/${whiteout.name}`;
        const gone = below(target);
        const folder = live.get(target)?.entry.type === "directory" || gone.length > 1;
        let bytes = 0;
        for (const p of gone) {
          const was = live.get(p)!;
          bytes += sizeOf(was.entry);
          kill(p, was);
          live.delete(p);
        }
        // dive: a whiteout of a file counts 0, of a folder what it deletes.
        discover(target, folder ? bytes : 0);
        if (gone.length > 0) {
          changes.push({ path: target, kind: "removed", size: bytes });
          counts.removed++;
        }
      } else if (whiteout.kind === "opaque") {
        // Not in dive (it keeps the marker as a file); here every path the layers below had in the folder is
        // removed.
        for (const p of below(whiteout.dir)) {
          if (p === whiteout.dir) continue;
          const was = live.get(p)!;
          kill(p, was);
          live.delete(p);
          changes.push({ path: p, kind: "removed", size: sizeOf(was.entry) });
          counts.removed++;
        }
      }
    }
    // Leaves of this layer's own tree: paths no other path of the layer lies under.
    const parents = new Set<string>();
    for (const { path } of clean) {
      for (let at = path.indexOf("/"); at !== -1; at = path.indexOf("/", at + 1)) {
        parents.add(path.slice(0, at));
      }
    }
    for (const { path, entry } of clean) {
      const before = live.get(path);
      if (!parents.has(path)) discover(path, sizeOf(entry));
      if (before) {
        kill(path, before);
        const dirs = entry.type === "directory" && before.entry.type === "directory";
        const same = dirs && entry.mode === before.entry.mode && entry.uid === before.entry.uid &&
          entry.gid === before.entry.gid;
        if (!same) {
          changes.push({ path, kind: "modified", size: sizeOf(entry) });
          counts.modified++;
        }
      } else {
        changes.push({ path, kind: "added", size: sizeOf(entry) });
        counts.added++;
      }
      live.set(path, { entry, layer: index });
    }
    changes.sort((a, b) => b.size - a.size || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    result.push({ size, entries: entries.length, changes, counts, wasted: 0 });
  }
  let minimum = 0;
  let discovered = 0;
  const inefficiencies: Inefficiency[] = [];
  let diveWastedBytes = 0;
  for (const [path, seen] of cumulative) {
    minimum += seen.min;
    discovered += seen.sum;
    if (seen.count >= 2) {
      inefficiencies.push({ path, count: seen.count, cumulative: seen.sum, wasted: seen.dead });
      diveWastedBytes += seen.sum;
    }
  }
  inefficiencies.sort((a, b) => b.cumulative - a.cumulative || (a.path < b.path ? -1 : 1));
  // The final image through the library's own merge, so this view and the merged file tree agree.
  const merge = mergeLayers();
  for (const [index, entries] of layers.entries()) for (const entry of entries) merge.add(index, entry);
  const files: SizedFile[] = [];
  let finalSize = 0;
  for (const [path, file] of merge.files()) {
    if (file.entry.type !== "file") continue;
    finalSize += file.entry.size;
    files.push({ path, size: file.entry.size, layer: file.layer });
  }
  files.sort((a, b) => b.size - a.size || (a.path < b.path ? -1 : 1));
  const totalSize = result.reduce((n, l) => n + l.size, 0);
  const userSize = totalSize - (result[0]?.size ?? 0);
  return {
    layers: result.map((l, i) => ({ ...l, wasted: wastedOf[i] })),
    totalSize,
    finalSize,
    wastedBytes: wastedOf.reduce((n, w) => n + w, 0),
    efficiency: discovered === 0 ? 1 : minimum / discovered,
    diveWastedBytes,
    diveUserWastedPercent: userSize === 0 ? 0 : diveWastedBytes / userSize,
    inefficiencies,
    largestFiles: files.slice(0, options.top ?? 100),
  };
}
