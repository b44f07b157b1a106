/**
 * The file tree the layer browser shows, built from tar headers only: one node per path, directories
 * implied by their contents, each node with its entry and (in the merged view) the layer it came from.
 *
 * @module
 */

import type { TarHeader } from "../../src/mod.ts";
import { isWhiteout, type MergedFile, normalizeTarPath } from "../../src/image/mod.ts";

/** One path in the tree. */
export interface TreeNode {
  /** Last path component (`hostname`); `""` for the root. */
  readonly name: string;
  /** Normalized path (`etc/hostname`); `""` for the root. */
  readonly path: string;
  /** The tar entry at this path; absent for directories only implied by their contents. */
  entry?: TarHeader;
  /** The layer the entry came from (merged view). */
  layer?: number;
  /** Children by name (directories). */
  children?: Map<string, TreeNode>;
  /** Sum of the sizes of the regular files at and below this node. */
  total: number;
}

/** A tree and its counts. */
export interface FileTree {
  /** The root node. */
  readonly root: TreeNode;
  /** Entries in the tree (whiteouts not counted). */
  readonly entries: number;
  /** Whiteout entries of the layer (shown as deletions). */
  readonly whiteouts: number;
}

function childOf(node: TreeNode, name: string): TreeNode {
  node.children ??= new Map();
  let child = node.children.get(name);
  if (child === undefined) {
    child = { name, path: node.path === "" ? name : `${node.path}/${name}`, total: 0 };
    node.children.set(name, child);
  }
  return child;
}

function place(root: TreeNode, path: string, entry: TarHeader, layer?: number): void {
  if (path === "") return;
  let node = root;
  for (const part of path.split("/")) node = childOf(node, part);
  node.entry = entry;
  if (layer !== undefined) node.layer = layer;
}

function sum(node: TreeNode): number {
  let total = node.entry?.type === "file" ? node.entry.size : 0;
  if (node.children) { for (const child of node.children.values()) total += sum(child); }
  node.total = total;
  return total;
}

/**
 * The tree of one layer's entries. Whiteouts stay in the tree (the page marks them as deletions).
 *
 * @example
 * ```ts
 * import { treeOfLayer } from "./file_tree.ts";
 * import type { TarHeader } from "../../src/mod.ts";
 *
 * const file = (name: string, size: number): TarHeader => ({
 *   name, type: "file", typeflag: "0", size, mode: 0o644, uid: 0, gid: 0, uname: "", gname: "",
 *   mtime: 0, linkname: "", devmajor: 0, devminor: 0, offset: 0,
 * });
 * const tree = treeOfLayer([file("./etc/hostname", 10), file("./etc/motd", 5)]);
 * console.assert(tree.root.children!.get("etc")!.total === 15);
 * ```
 */
export function treeOfLayer(entries: readonly TarHeader[]): FileTree {
  const root: TreeNode = { name: "", path: "", total: 0 };
  let whiteouts = 0;
  for (const entry of entries) {
    const { path, safe } = normalizeTarPath(entry.name);
    if (!safe) continue;
    if (isWhiteout(path)) whiteouts++;
    place(root, path, entry);
  }
  sum(root);
  return { root, entries: entries.length - whiteouts, whiteouts };
}

/**
 * The tree of the merged view (`mergeLayers().files()`), each node marked with its layer.
 *
 * @example
 * ```ts
 * import { treeOfMerged } from "./file_tree.ts";
 *
 * const tree = treeOfMerged(new Map());
 * console.assert(tree.entries === 0);
 * ```
 */
export function treeOfMerged(files: ReadonlyMap<string, MergedFile>): FileTree {
  const root: TreeNode = { name: "", path: "", total: 0 };
  for (const [path, file] of files) place(root, path, file.entry, file.layer);
  sum(root);
  return { root, entries: files.size, whiteouts: 0 };
}

/**
 * The node at `path`, or undefined.
 *
 * @example
 * ```ts
 * import { findNode, treeOfLayer } from "./file_tree.ts";
 *
 * console.assert(findNode(treeOfLayer([]).root, "") !== undefined);
 * ```
 */
export function findNode(root: TreeNode, path: string): TreeNode | undefined {
  if (path === "") return root;
  let node: TreeNode | undefined = root;
  for (const part of path.split("/")) {
    node = node.children?.get(part);
    if (node === undefined) return undefined;
  }
  return node;
}

/**
 * Children in display order: directories first, then by name.
 *
 * @example
 * ```ts
 * import { sortedChildren, treeOfLayer } from "./file_tree.ts";
 *
 * console.assert(sortedChildren(treeOfLayer([]).root).length === 0);
 * ```
 */
export function sortedChildren(node: TreeNode): TreeNode[] {
  if (!node.children) return [];
  // Sorted once per node: expanding a folder of many thousand entries, or walking the tree again after a
  // click, must not sort them again. A tree is not changed after it is built.
  const known = sortedCache.get(node);
  if (known && known.length === node.children.size) return known;
  const sorted = [...node.children.values()].sort((a, b) => {
    const da = isDirectory(a) ? 0 : 1;
    const db = isDirectory(b) ? 0 : 1;
    return da - db || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  });
  sortedCache.set(node, sorted);
  return sorted;
}

const sortedCache = new WeakMap<TreeNode, TreeNode[]>();

/**
 * Whether the node shows as a directory (a directory entry, or a path with children).
 *
 * @example
 * ```ts
 * import { isDirectory, treeOfLayer } from "./file_tree.ts";
 *
 * console.assert(isDirectory(treeOfLayer([]).root));
 * ```
 */
export function isDirectory(node: TreeNode): boolean {
  return node.entry === undefined ? true : node.entry.type === "directory" || node.children !== undefined;
}

/**
 * Every node whose path contains `filter` (case-insensitive), in tree order, at most `limit` of them.
 *
 * @example
 * ```ts
 * import { filterTree, treeOfLayer } from "./file_tree.ts";
 *
 * console.assert(filterTree(treeOfLayer([]).root, "etc", 100).length === 0);
 * ```
 */
export function filterTree(root: TreeNode, filter: string, limit: number): TreeNode[] {
  const needle = filter.toLowerCase();
  const out: TreeNode[] = [];
  const walk = (node: TreeNode) => {
    for (const child of sortedChildren(node)) {
      if (out.length >= limit) return;
      if (child.path.toLowerCase().includes(needle)) out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

/** Every node of a tree in tree order, with its lowercased path: built once per tree for the filter. */
const searchIndexes = new WeakMap<TreeNode, { nodes: TreeNode[]; paths: string[] }>();

let searchIndexBuilds = 0;

/**
 * How many search indexes were built so far in this page (one per tree): the filter's work is bounded only
 * if the index is built once and reused by every keystroke, which tests check with this count.
 *
 * @example
 * ```ts
 * import { searchIndexBuildCount } from "./file_tree.ts";
 *
 * console.assert(searchIndexBuildCount() >= 0);
 * ```
 */
export function searchIndexBuildCount(): number {
  return searchIndexBuilds;
}

function searchIndex(root: TreeNode): { nodes: TreeNode[]; paths: string[] } {
  let index = searchIndexes.get(root);
  if (!index) {
    searchIndexBuilds++;
    const nodes: TreeNode[] = [];
    const walk = (node: TreeNode) => {
      for (const child of sortedChildren(node)) {
        nodes.push(child);
        walk(child);
      }
    };
    walk(root);
    index = { nodes, paths: nodes.map((n) => n.path.toLowerCase()) };
    searchIndexes.set(root, index);
  }
  return index;
}

/**
 * Builds the tree's search index now (if not built yet), so that the first keystroke in the filter does not
 * pay for it: the page calls it when the browser is idle after showing a large tree.
 *
 * @example
 * ```ts
 * import { prepareSearch, treeOfLayer } from "./file_tree.ts";
 *
 * prepareSearch(treeOfLayer([]).root);
 * ```
 */
export function prepareSearch(root: TreeNode): void {
  searchIndex(root);
}

/** What {@linkcode searchAll} found: the matching nodes in tree order, and where they sit in the index. */
export interface TreeSearch {
  /** The filter, lowercased. */
  readonly needle: string;
  /** The matching nodes, in tree order. */
  readonly nodes: readonly TreeNode[];
  /** Their positions in the tree's search index (for narrowing with the next keystroke). */
  readonly positions: readonly number[];
}

/**
 * Every node whose path contains `filter` (case-insensitive), in tree order. Given the search of a shorter
 * filter that the new one contains (`previous`, the last keystroke's), only its matches are tested again:
 * typing narrows, so each keystroke costs the last result's size, not the tree's.
 *
 * @example
 * ```ts
 * import { searchAll, treeOfLayer } from "./file_tree.ts";
 *
 * const first = searchAll(treeOfLayer([]).root, "e");
 * const next = searchAll(treeOfLayer([]).root, "et", first);
 * console.assert(next.nodes.length === 0);
 * ```
 */
export function searchAll(root: TreeNode, filter: string, previous?: TreeSearch): TreeSearch {
  const needle = filter.toLowerCase();
  const { nodes, paths } = searchIndex(root);
  const found: TreeNode[] = [];
  const positions: number[] = [];
  if (previous && previous.needle !== "" && needle.includes(previous.needle)) {
    for (const i of previous.positions) {
      if (!paths[i].includes(needle)) continue;
      found.push(nodes[i]);
      positions.push(i);
    }
  } else {
    for (let i = 0; i < paths.length; i++) {
      if (!paths[i].includes(needle)) continue;
      found.push(nodes[i]);
      positions.push(i);
    }
  }
  return { needle, nodes: found, positions };
}

/**
 * The nodes whose path contains `filter` (case-insensitive), in tree order: the first `limit` of them and
 * how many there are in all. The tree is walked and sorted once, then each search is one pass over its
 * paths, so typing in the filter stays fast on layers of many thousand entries.
 *
 * @example
 * ```ts
 * import { searchTree, treeOfLayer } from "./file_tree.ts";
 *
 * const found = searchTree(treeOfLayer([]).root, "etc", 100);
 * console.assert(found.nodes.length === 0 && found.total === 0);
 * ```
 */
export function searchTree(
  root: TreeNode,
  filter: string,
  limit: number,
): { nodes: TreeNode[]; total: number } {
  const needle = filter.toLowerCase();
  const { nodes, paths } = searchIndex(root);
  const out: TreeNode[] = [];
  let total = 0;
  for (let i = 0; i < paths.length; i++) {
    if (!paths[i].includes(needle)) continue;
    if (out.length < limit) out.push(nodes[i]);
    total++;
  }
  return { nodes: out, total };
}
