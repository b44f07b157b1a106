// This module is browser compatible.
/**
 * Whiteouts (OCI image-spec layer.md "Whiteouts", from AUFS) and the merged view of an image's layers.
 *
 * A file named `.wh.NAME` in a layer deletes `NAME` (and everything under it) from the layers below; a file
 * named `.wh..wh..opq` in a directory makes that directory opaque: everything the lower layers had in it is
 * hidden. Whiteouts apply to lower layers only, never to entries of their own layer, whatever the order of
 * the entries within the layer.
 *
 * @module
 */

import { headerOf } from "./header_of.ts";
import { normalizeTarPath } from "./normalize_tar_path.ts";
import type { TarHeader } from "./tar_reader.ts";

const PREFIX = ".wh.";
const OPAQUE = ".wh..wh..opq";
/** AUFS keeps its own metadata under `.wh..wh.` names (`.wh..wh.plnk`, `.wh..wh.aufs`); Docker skips them. */
const META_PREFIX = ".wh..wh.";

function baseName(name: string): string {
  const trimmed = name.endsWith("/") ? name.slice(0, -1) : name;
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/**
 * Whether `name`'s last component is a whiteout (`.wh.` prefix), the opaque marker included.
 *
 * @param name A tar member name or path.
 * @returns True for `.wh.NAME`, `.wh..wh..opq` and AUFS `.wh..wh.` metadata.
 *
 * @example
 * ```ts
 * import { isWhiteout } from "./whiteouts.ts";
 *
 * console.assert(isWhiteout("etc/.wh.motd"));
 * console.assert(!isWhiteout("etc/motd"));
 * ```
 */
export function isWhiteout(name: string): boolean {
  return baseName(name).startsWith(PREFIX);
}

/**
 * Whether `name` is an opaque-directory marker (`DIR/.wh..wh..opq`).
 *
 * @param name A tar member name or path.
 * @returns True when the last component is exactly `.wh..wh..opq`.
 *
 * @example
 * ```ts
 * import { isOpaqueWhiteout } from "./whiteouts.ts";
 *
 * console.assert(isOpaqueWhiteout("var/cache/.wh..wh..opq"));
 * console.assert(!isOpaqueWhiteout("var/cache/.wh.apt"));
 * ```
 */
export function isOpaqueWhiteout(name: string): boolean {
  return baseName(name) === OPAQUE;
}

/** What a whiteout-looking name means ({@linkcode parseWhiteout}). */
export type Whiteout =
  /** `.wh.NAME`: deletes `NAME` in `dir` from the layers below. */
  | { kind: "whiteout"; dir: string; name: string }
  /** `.wh..wh..opq`: hides everything the layers below had in `dir`. */
  | { kind: "opaque"; dir: string }
  /** AUFS's own `.wh..wh.` metadata (`.wh..wh.plnk`): skipped, as Docker does. */
  | { kind: "meta"; dir: string }
  /**
   * `.wh.`, `.wh..` or `.wh...`: would delete the folder itself or its parent. containerd refuses these
   * ("invalid whiteout name"); so must every consumer.
   */
  | { kind: "invalid"; dir: string; reason: string };

/**
 * Reads the whiteout meaning of a clean path (from {@linkcode normalizeTarPath}), or undefined when its
 * last component is not a whiteout. The one place the whiteout naming rule lives: a whiteout deletes a
 * plain name in its own directory, never `""`, `.` or `..` (containerd's rule: the deleted path must stay
 * under the whiteout's directory), so no whiteout can name the directory that holds it or anything above.
 *
 * @param path A normalized path (`etc/.wh.motd`, no `.`/`..` components, no trailing slash).
 * @returns The whiteout's kind with its directory (`""` for the root), or undefined.
 *
 * @example
 * ```ts
 * import { parseWhiteout } from "./whiteouts.ts";
 *
 * console.assert(JSON.stringify(parseWhiteout("etc/.wh.motd")) === '{"kind":"whiteout","dir":"etc","name":"motd"}');
 * console.assert(parseWhiteout("etc/.wh..wh..opq")?.kind === "opaque");
 * console.assert(parseWhiteout("etc/.wh...")?.kind === "invalid");
 * console.assert(parseWhiteout("etc/motd") === undefined);
 * ```
 */
export function parseWhiteout(path: string): Whiteout | undefined {
  const slash = path.lastIndexOf("/");
  const base = path.slice(slash + 1);
  if (!base.startsWith(PREFIX)) return undefined;
  const dir = slash === -1 ? "" : path.slice(0, slash);
  if (base === OPAQUE) return { kind: "opaque", dir };
  if (base.startsWith(META_PREFIX)) return { kind: "meta", dir };
  const name = base.slice(PREFIX.length);
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
    return {
      kind: "invalid",
      dir,
      reason: `invalid whiteout name "${base}": it names no file in its directory`,
    };
  }
  return { kind: "whiteout", dir, name };
}

/**
 * The path a whiteout deletes: `etc/.wh.motd` → `etc/motd`. Undefined for names that are not a plain
 * whiteout (ordinary files, the opaque marker, AUFS `.wh..wh.` metadata) and for invalid whiteout names
 * (`.wh.`, `.wh..`, `.wh...`: see {@linkcode parseWhiteout}).
 *
 * @param name A tar member name or path.
 * @returns The deleted path, in the same form as `name` (not normalized), or undefined.
 *
 * @example
 * ```ts
 * import { whiteoutTarget } from "./whiteouts.ts";
 *
 * console.assert(whiteoutTarget("./etc/.wh.motd") === "./etc/motd");
 * console.assert(whiteoutTarget("etc/.wh..wh..opq") === undefined);
 * console.assert(whiteoutTarget("etc/.wh...") === undefined);
 * console.assert(whiteoutTarget("etc/motd") === undefined);
 * ```
 */
export function whiteoutTarget(name: string): string | undefined {
  const trimmed = name.endsWith("/") ? name.slice(0, -1) : name;
  const slash = trimmed.lastIndexOf("/");
  const parsed = parseWhiteout(trimmed.slice(slash + 1));
  if (parsed?.kind !== "whiteout") return undefined;
  return trimmed.slice(0, slash + 1) + parsed.name;
}

/** One path of the merged view: the entry that is visible there and the layer it came from. */
export interface MergedFile {
  /** The entry's metadata (its `name` as stored in the layer, not normalized). */
  entry: TarHeader;
  /** Index of the layer the entry came from (0 is the base layer). */
  layer: number;
}

/**
 * An entry {@linkcode mergeLayers} left out because its name climbs out of the root, or because it is an
 * invalid whiteout (`.wh.`, `.wh..`, `.wh...`).
 */
export interface UnsafeEntry {
  /** The member name as stored. */
  name: string;
  /** The layer it is in. */
  layer: number;
}

/** The builder {@linkcode mergeLayers} returns. */
export interface LayerMerge {
  /**
   * Adds one entry of layer `layerIndex`. Layers must come in order (0, 1, 2, …); entries of one layer in
   * any order. Whiteouts are applied, not stored.
   */
  add(layerIndex: number, entry: TarHeader): void;
  /**
   * The merged tree: normalized path (`usr/bin/env`, no leading or trailing slash) → visible entry. Paths
   * appear parents first, in the order they were first seen. Directories only implied by their contents
   * have no key of their own; a layer's root entry (`./`) is not listed.
   */
  files(): Map<string, MergedFile>;
  /** Entries left out because their names climb out of the root (`../x`) or are invalid whiteouts. */
  readonly unsafe: readonly UnsafeEntry[];
}

interface Node {
  file?: MergedFile;
  children?: Map<string, Node>;
}

/** Drops everything from layers below `layer` in `node`'s subtree; true when nothing is left in it. */
function hideBelow(node: Node, layer: number): boolean {
  if (node.file && node.file.layer < layer) node.file = undefined;
  if (node.children) {
    for (const [name, child] of node.children) {
      if (hideBelow(child, layer)) node.children.delete(name);
    }
  }
  return node.file === undefined && (node.children === undefined || node.children.size === 0);
}

/**
 * Builds the merged view of an image's layers, the file tree a container would see: feed it each layer's
 * entries in layer order and read {@linkcode LayerMerge.files}. Whiteouts delete lower-layer paths, opaque
 * markers empty lower-layer directories, an upper entry replaces a lower one at the same path (a
 * non-directory replacing a directory hides everything below it; a directory over a directory merges).
 * Names are normalized ({@linkcode normalizeTarPath}); names climbing out of the root and invalid whiteout
 * names ({@linkcode parseWhiteout}) are skipped and reported in {@linkcode LayerMerge.unsafe}.
 *
 * Only metadata is kept, so memory grows with the number of paths, not with file sizes.
 *
 * @returns A builder to add entries to.
 *
 * @example A file deleted by a whiteout in the next layer
 * ```ts
 * import { mergeLayers } from "./whiteouts.ts";
 * import type { TarHeader } from "./tar_reader.ts";
 *
 * const entry = (name: string): TarHeader => ({
 *   name, type: "file", typeflag: "0", size: 0, mode: 0o644, uid: 0, gid: 0, uname: "", gname: "",
 *   mtime: 0, linkname: "", devmajor: 0, devminor: 0, offset: 0,
 * });
 * const merge = mergeLayers();
 * merge.add(0, entry("etc/motd"));
 * merge.add(0, entry("etc/hostname"));
 * merge.add(1, entry("etc/.wh.motd"));
 * console.assert([...merge.files().keys()].join() === "etc/hostname");
 * console.assert(merge.files().get("etc/hostname")!.layer === 0);
 * ```
 */
export function mergeLayers(): LayerMerge {
  const root: Node = {};
  const unsafe: UnsafeEntry[] = [];
  let lastLayer = 0;

  function find(parts: string[]): Node | undefined {
    let node: Node | undefined = root;
    for (const part of parts) {
      node = node.children?.get(part);
      if (!node) return undefined;
    }
    return node;
  }

  function add(layer: number, entry: TarHeader): void {
    if (!Number.isInteger(layer) || layer < 0) {
      throw new RangeError(`Layer index must be a non-negative integer, got ${layer}`);
    }
    if (layer < lastLayer) {
      throw new RangeError(`Layers must be added in order: got layer ${layer} after layer ${lastLayer}`);
    }
    lastLayer = layer;
    const { path, safe } = normalizeTarPath(entry.name);
    if (!safe) {
      unsafe.push({ name: entry.name, layer });
      return;
    }
    if (path === "") return;
    const parts = path.split("/");
    const whiteout = parseWhiteout(path);
    if (whiteout) {
      if (whiteout.kind === "opaque") {
        const dir = find(parts.slice(0, -1));
        if (dir?.children) {
          for (const [name, child] of dir.children) if (hideBelow(child, layer)) dir.children.delete(name);
        }
      } else if (whiteout.kind === "whiteout") {
        const parent = find(parts.slice(0, -1));
        const target = parent?.children?.get(whiteout.name);
        if (parent && target && hideBelow(target, layer)) parent.children!.delete(whiteout.name);
      } else if (whiteout.kind === "invalid") {
        // `.wh..` and `.wh...` would delete their own directory or its parent: reported, never applied.
        unsafe.push({ name: entry.name, layer });
      }
      return;
    }
    let node = root;
    for (let i = 0; i < parts.length; i++) {
      node.children ??= new Map();
      let child = node.children.get(parts[i]);
      if (!child) {
        child = {};
        node.children.set(parts[i], child);
      }
      node = child;
      // A lower-layer non-directory on the way down is replaced by the directory this layer implies.
      if (
        i < parts.length - 1 && node.file && node.file.layer < layer && node.file.entry.type !== "directory"
      ) {
        node.file = undefined;
      }
    }
    if (entry.type !== "directory" && node.children) {
      for (const [name, child] of node.children) if (hideBelow(child, layer)) node.children.delete(name);
    }
    node.file = { entry: headerOf(entry), layer };
  }

  function files(): Map<string, MergedFile> {
    const out = new Map<string, MergedFile>();
    const walk = (node: Node, prefix: string) => {
      if (!node.children) return;
      for (const [name, child] of node.children) {
        const path = prefix === "" ? name : `${prefix}/${name}`;
        if (child.file) out.set(path, child.file);
        walk(child, path);
      }
    };
    walk(root, "");
    return out;
  }

  return { add, files, unsafe };
}
