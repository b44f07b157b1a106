/// <reference lib="dom" />
/**
 * The file tree widget: an ARIA tree (WAI-ARIA APG "Tree View" pattern) with a roving tabindex, arrow-key
 * navigation, and columns for mode, owner, size, link target and (merged view) the layer.
 *
 * @module
 */

import { h } from "./dom.ts";
import {
  type FileTree,
  findNode,
  isDirectory,
  prepareSearch,
  searchAll,
  sortedChildren,
  type TreeNode,
  type TreeSearch,
} from "./file_tree.ts";
import { countOf, formatBytes, formatMode } from "./format.ts";
import { isWhiteout } from "../../src/image/mod.ts";

/** Options for {@linkcode TreeView}. */
export interface TreeViewOptions {
  /** Called when a node is chosen (click, Enter or Space). */
  onSelect: (node: TreeNode) => void;
  /** Show the layer column (merged view). */
  merged: boolean;
  /** Short labels of the layers, for the layer column. */
  layerLabels?: readonly string[];
  /** Called after each filter with what it says ("12 matches"), or "" without a filter. */
  onFiltered?: (summary: string) => void;
}

/**
 * Most rows shown for a filter. Building rows is what costs (2000 rows took ~1 s per keystroke on a layer
 * of 8000 entries); the count of all matches is shown, and typing more narrows.
 */
const FILTER_LIMIT = 200;

/**
 * From this many rows on, the tree is virtual: only the rows in sight (and {@linkcode OVERSCAN} on each
 * side) are in the DOM, each {@linkcode ROW_HEIGHT} px high, and a filter lists every match. Below it every
 * row is built, and long paths in a filter wrap instead of being cut.
 */
export const VIRTUAL_FROM = 500;
/** Height of a row of a virtual tree, in CSS px (style.css `.tree.virtual .row` holds the same). */
export const ROW_HEIGHT = 24;
/** Rows built above and below the visible ones, so a scroll by a few rows shows no gap. */
const OVERSCAN = 20;

/**
 * A tree of one layer or of the merged image.
 *
 * @example
 * ```ts ignore
 * const view = new TreeView(tree, { merged: false, onSelect: (node) => console.log(node.path) });
 * document.body.append(view.element);
 * ```
 */
export class TreeView {
  /** The element to put on the page. */
  readonly element: HTMLElement;
  readonly #tree: FileTree;
  readonly #options: TreeViewOptions;
  readonly #expanded = new Set<string>([""]);
  #selected = "";
  #focused = "";
  #filter = "";
  #rows: TreeNode[] = [];
  #matches = 0;
  #virtual = false;
  #search: TreeSearch | undefined;
  #painted = "";
  #frame = 0;
  #built = 0;

  constructor(tree: FileTree, options: TreeViewOptions) {
    this.#tree = tree;
    this.#options = options;
    this.element = h("div", {
      class: "tree",
      role: "tree",
      "aria-label": options.merged ? "Files of the whole image" : "Files of the layer",
      "aria-multiselectable": "false",
    });
    this.element.addEventListener("keydown", (event) => this.#key(event));
    this.element.addEventListener("click", (event) => {
      const row = (event.target as Element).closest<HTMLElement>("[role=treeitem]");
      if (row?.dataset.path !== undefined) this.#choose(row.dataset.path, true);
    });
    // A virtual tree scrolls itself; each scroll builds the rows that came into sight (once per frame).
    this.element.addEventListener("scroll", () => {
      if (!this.#virtual || this.#frame) return;
      this.#frame = requestAnimationFrame(() => {
        this.#frame = 0;
        this.#paint();
      });
    }, { passive: true });
    // Top-level directories start open when there are few of them (a typical image has ~20).
    const top = sortedChildren(tree.root);
    if (top.length === 1) this.#expanded.add(top[0].path);
    this.#render();
    // A large tree's search index (~150 ms at 100k entries) is built while the page is idle, not on the
    // first keystroke in the filter.
    if (tree.entries >= VIRTUAL_FROM) {
      const idle = globalThis.requestIdleCallback ?? ((fn: () => void) => setTimeout(fn, 0));
      idle(() => prepareSearch(tree.root));
    }
  }

  /** The path of the selected node. */
  get selected(): string {
    return this.#selected;
  }

  /** Rows built since the tree was made: what rendering cost, for tests that bound it. */
  get rowsBuilt(): number {
    return this.#built;
  }

  /** Rows the tree shows now (in the DOM or not): the expanded tree, or the filter's matches. */
  get rowCount(): number {
    return this.#rows.length;
  }

  /** Shows only paths containing `text` (a flat list), or the tree again when empty. */
  setFilter(text: string): void {
    this.#filter = text.trim();
    this.#render();
  }

  /** Selects `path` and opens its parents (without calling onSelect). */
  select(path: string): void {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) this.#expanded.add(parts.slice(0, i).join("/"));
    this.#selected = path;
    this.#focused = path;
    this.#render();
    this.#reveal(this.#rows.findIndex((n) => n.path === path));
    this.#row(path)?.scrollIntoView({ block: "nearest" });
  }

  /** Moves keyboard focus into the tree (to the focused row). */
  focus(): void {
    this.#row(this.#focused)?.focus();
  }

  #row(path: string): HTMLElement | null {
    return this.element.querySelector<HTMLElement>(`[role=treeitem][data-path="${CSS.escape(path)}"]`);
  }

  #visible(): TreeNode[] {
    if (this.#filter !== "") {
      // All matches from the index (narrowed from the last keystroke's); the virtual list builds only
      // the rows in sight. Few matches are shown whole, as before.
      this.#search = searchAll(this.#tree.root, this.#filter, this.#search);
      this.#matches = this.#search.nodes.length;
      if (this.#matches >= VIRTUAL_FROM) return this.#search.nodes as TreeNode[];
      return this.#search.nodes.slice(0, FILTER_LIMIT);
    }
    this.#search = undefined;
    const out: TreeNode[] = [];
    const walk = (node: TreeNode) => {
      for (const child of sortedChildren(node)) {
        out.push(child);
        if (child.children && this.#expanded.has(child.path)) walk(child);
      }
    };
    walk(this.#tree.root);
    return out;
  }

  #render(): void {
    this.#rows = this.#visible();
    if (!this.#rows.some((n) => n.path === this.#focused)) this.#focused = this.#rows[0]?.path ?? "";
    const virtual = this.#rows.length >= VIRTUAL_FROM;
    if (virtual !== this.#virtual) {
      this.#virtual = virtual;
      this.element.classList.toggle("virtual", virtual);
    }
    this.#painted = "";
    if (virtual) {
      this.#paint();
      this.#options.onFiltered?.(this.#filter !== "" ? countOf(this.#matches, "match", "matches") : "");
      return;
    }
    const flat = this.#filter !== "";
    const rows = this.#rows.map((node) => this.#rowOf(node, flat));
    if (rows.length === 0) {
      rows.push(
        h("p", { class: "empty" }, flat ? `No path contains “${this.#filter}”.` : "This layer has no files."),
      );
    } else if (flat && this.#matches > rows.length) {
      rows.push(
        h(
          "p",
          { class: "empty" },
          `Showing the first ${rows.length} of ${
            countOf(this.#matches, "match", "matches")
          }; type more to narrow.`,
        ),
      );
    }
    this.element.replaceChildren(...rows);
    this.#options.onFiltered?.(flat ? countOf(this.#matches, "match", "matches") : "");
  }

  /**
   * Builds the rows of a virtual tree that are in sight (and {@linkcode OVERSCAN} around), between two
   * spacers that stand for the rest, so the scrollbar spans the whole list.
   */
  #paint(): void {
    const total = this.#rows.length;
    const height = this.element.clientHeight || 800;
    const first = Math.max(0, Math.floor(this.element.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(total, first + Math.ceil(height / ROW_HEIGHT) + 2 * OVERSCAN);
    const key = `${first}:${last}:${total}`;
    if (key === this.#painted) return;
    this.#painted = key;
    const hadFocus = this.element.contains(document.activeElement);
    const flat = this.#filter !== "";
    const rows: HTMLElement[] = [h("div", { class: "spacer", style: `height:${first * ROW_HEIGHT}px` })];
    for (let i = first; i < last; i++) {
      const row = this.#rowOf(this.#rows[i], flat);
      // Where the row sits in the whole list, which the DOM alone no longer tells assistive technology.
      row.setAttribute("aria-posinset", String(i + 1));
      row.setAttribute("aria-setsize", String(total));
      rows.push(row);
    }
    rows.push(h("div", { class: "spacer", style: `height:${(total - last) * ROW_HEIGHT}px` }));
    this.element.replaceChildren(...rows);
    if (hadFocus) this.#row(this.#focused)?.focus({ preventScroll: true });
  }

  /** Scrolls a virtual tree so that row `index` is in sight, and builds the rows there. */
  #reveal(index: number): void {
    if (!this.#virtual || index < 0) return;
    const top = index * ROW_HEIGHT;
    const view = this.element.clientHeight || 800;
    if (top < this.element.scrollTop) this.element.scrollTop = top;
    else if (top + ROW_HEIGHT > this.element.scrollTop + view) {
      this.element.scrollTop = top + ROW_HEIGHT - view;
    }
    this.#paint();
  }

  #rowOf(node: TreeNode, flat: boolean): HTMLElement {
    this.#built++;
    const entry = node.entry;
    const dir = isDirectory(node);
    const level = flat ? 1 : node.path.split("/").length;
    const whiteout = isWhiteout(node.name);
    const expandable = dir && node.children !== undefined && !flat;
    const expanded = expandable && this.#expanded.has(node.path);
    const label = flat ? highlight(node.path, this.#filter) : node.name;
    const link = entry && (entry.type === "symlink" || entry.type === "hardlink")
      ? h("span", { class: "link" }, entry.type === "symlink" ? " → " : " ⇒ ", entry.linkname)
      : null;
    const owner = entry ? `${entry.uname || entry.uid}:${entry.gname || entry.gid}` : "";
    const layers = this.#options.layerLabels;
    return h(
      "div",
      {
        role: "treeitem",
        class: `row${dir ? " dir" : ""}${whiteout ? " whiteout" : ""}${flat ? " flat" : ""}`,
        "data-path": node.path,
        "aria-level": level,
        "aria-selected": node.path === this.#selected ? "true" : "false",
        "aria-expanded": expandable ? String(expanded) : undefined,
        tabindex: node.path === this.#focused ? 0 : -1,
        style: `--level:${level - 1}`,
      },
      h(
        "span",
        { class: "name" },
        h("span", { class: "twisty", "aria-hidden": "true" }, expandable ? (expanded ? "▾" : "▸") : ""),
        h("span", { class: "label" }, label, dir && !flat ? "/" : ""),
        link,
        whiteout ? h("span", { class: "tag" }, "whiteout") : null,
      ),
      h("span", { class: "mode" }, entry ? formatMode(entry.type, entry.mode) : ""),
      h("span", { class: "owner" }, owner),
      h(
        "span",
        { class: "size" },
        dir ? formatBytes(node.total) : entry?.type === "file" ? formatBytes(entry.size) : "",
      ),
      this.#options.merged
        ? h(
          "span",
          { class: "layer" },
          node.layer !== undefined ? (layers?.[node.layer] ?? `#${node.layer + 1}`) : "",
        )
        : null,
    );
  }

  #choose(path: string, toggle: boolean): void {
    const node = findNode(this.#tree.root, path);
    if (!node) return;
    this.#focused = path;
    this.#selected = path;
    if (toggle && node.children && this.#filter === "") {
      if (this.#expanded.has(path)) this.#expanded.delete(path);
      else this.#expanded.add(path);
    }
    this.#render();
    this.#reveal(this.#rows.findIndex((n) => n.path === path));
    this.#row(path)?.focus();
    this.#options.onSelect(node);
  }

  #move(path: string | undefined): void {
    if (path === undefined) return;
    this.#focused = path;
    this.#reveal(this.#rows.findIndex((n) => n.path === path));
    for (const row of this.element.querySelectorAll<HTMLElement>("[role=treeitem]")) {
      row.tabIndex = row.dataset.path === path ? 0 : -1;
    }
    const row = this.#row(path);
    row?.focus();
    row?.scrollIntoView({ block: "nearest" });
  }

  #key(event: KeyboardEvent): void {
    const index = this.#rows.findIndex((n) => n.path === this.#focused);
    if (index < 0) return;
    const node = this.#rows[index];
    const flat = this.#filter !== "";
    let handled = true;
    switch (event.key) {
      case "ArrowDown":
        this.#move(this.#rows[index + 1]?.path);
        break;
      case "ArrowUp":
        this.#move(this.#rows[index - 1]?.path);
        break;
      case "Home":
        this.#move(this.#rows[0]?.path);
        break;
      case "End":
        this.#move(this.#rows[this.#rows.length - 1]?.path);
        break;
      case "ArrowRight":
        if (!flat && node.children) {
          if (!this.#expanded.has(node.path)) {
            this.#expanded.add(node.path);
            this.#render();
            this.#move(node.path);
          } else {
            this.#move(this.#rows[index + 1]?.path);
          }
        }
        break;
      case "ArrowLeft":
        if (!flat && node.children && this.#expanded.has(node.path)) {
          this.#expanded.delete(node.path);
          this.#render();
          this.#move(node.path);
        } else if (!flat && node.path.includes("/")) {
          this.#move(node.path.slice(0, node.path.lastIndexOf("/")));
        }
        break;
      case "Enter":
      case " ":
        this.#choose(node.path, true);
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  }
}

/** `text` with the first case-insensitive occurrence of `needle` marked. */
function highlight(text: string, needle: string): Array<string | HTMLElement> {
  const at = needle === "" ? -1 : text.toLowerCase().indexOf(needle.toLowerCase());
  if (at < 0) return [text];
  return [
    text.slice(0, at),
    h("mark", {}, text.slice(at, at + needle.length)),
    text.slice(at + needle.length),
  ];
}
