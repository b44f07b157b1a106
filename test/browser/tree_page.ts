/// <reference lib="dom" />
/**
 * Page script for test/web_large_tree_test.ts: puts the page's {@linkcode TreeView} (with the page's
 * style.css) on a synthetic layer of many entries, wires a filter box to it the way views/files.ts does, and
 * reports what the tree built and how long each keystroke took.
 *
 * @module
 */

import type { TarHeader } from "../../src/mod.ts";
import { searchIndexBuildCount, treeOfLayer } from "../../web/src/file_tree.ts";
import { TreeView } from "../../web/src/tree_view.ts";
import { tarHeader } from "../_tar_headers.ts";

let view: TreeView | undefined;
const keystrokeMs: number[] = [];

function header(name: string, type: "file" | "directory", size: number): TarHeader {
  return tarHeader(name, { type, size });
}

/**
 * Mounts a tree of `files` files in one directory `data/` (so the whole layer is one open folder: the worst
 * case for the tree), each named `data/fNNNNNN.txt`, and a filter box `#tree-filter` above it.
 */
export function mountTree(options: { files: number }): { rows: number; ms: number } {
  const started = performance.now();
  const entries = [header("data/", "directory", 0)];
  for (let i = 0; i < options.files; i++) {
    entries.push(header(`data/f${String(i).padStart(6, "0")}.txt`, "file", i % 4096));
  }
  const tree = treeOfLayer(entries);
  view = new TreeView(tree, { merged: false, onSelect: () => {} });
  const filter = document.createElement("input");
  filter.id = "tree-filter";
  filter.type = "search";
  filter.addEventListener("input", () => {
    const t0 = performance.now();
    view!.setFilter(filter.value);
    keystrokeMs.push(performance.now() - t0);
  });
  const box = document.createElement("div");
  box.className = "tree-box";
  box.append(view.element);
  document.body.append(filter, box);
  return { rows: view.rowCount, ms: performance.now() - started };
}

/** What the tree holds and did so far. */
export function treeStats(): {
  domRows: number;
  rowsBuilt: number;
  rowCount: number;
  indexBuilds: number;
  keystrokeMs: number[];
} {
  return {
    domRows: document.querySelectorAll("[role=treeitem]").length,
    rowsBuilt: view?.rowsBuilt ?? 0,
    rowCount: view?.rowCount ?? 0,
    indexBuilds: searchIndexBuildCount(),
    keystrokeMs: [...keystrokeMs],
  };
}
