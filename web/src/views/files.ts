/// <reference lib="dom" />
/**
 * The files view: a layer (or all layers merged) as a tree, with a filter, a progress line while the
 * layer streams in, and the {@linkcode FileViewer} beside it. A layer's listing is read once (from the
 * cache or the registry, verified), kept for the page's life and in IndexedDB ({@linkcode ListingCache}), so
 * a reload shows it without reading the blob; the merged view fills in as each layer's listing arrives.
 *
 * @module
 */

import type { Descriptor, Reference, TarHeader } from "../../../src/mod.ts";
import { isTugError, TugError } from "../../../src/errors.ts";
import { mergeLayers } from "../../../src/image/mod.ts";
import type { ImageData, PageContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { downloadLayer } from "../download.ts";
import { explainError, PageError } from "../explain_error.ts";
import { type FileTree, findNode, treeOfLayer, treeOfMerged } from "../file_tree.ts";
import { countOf, formatBytes, shortDigest } from "../format.ts";
import { listEntries } from "../layer_reader.ts";
import { ListingCache } from "../listing_cache.ts";
import { gzipIndexer } from "../random_access.ts";
import { TreeView } from "../tree_view.ts";
import type { PageState } from "../url_state.ts";
import { FileViewer } from "./file_viewer.ts";

/** A layer being read, with its progress. */
interface Job {
  readonly key: string;
  readonly controller: AbortController;
  readonly promise: Promise<FileTree>;
  bytes: number;
  total: number;
  entries: number;
  label: string;
}

/**
 * The files view and what it keeps between renders: the listings and trees read so far, the layer being
 * read, and the tree on screen.
 *
 * @example
 * ```ts ignore
 * const files = new FilesView(ctx);
 * await files.render(body, state, ref, image, () => id !== renderId);
 * ```
 */
export class FilesView {
  readonly #ctx: PageContext;
  readonly #viewer: FileViewer;
  readonly #listings = new Map<string, TarHeader[]>();
  readonly #trees = new Map<string, FileTree>();
  readonly #listingCaches = new Map<string, ListingCache>();
  #job: Job | undefined;
  #tree: TreeView | undefined;
  #treeKey = "";

  constructor(ctx: PageContext) {
    this.#ctx = ctx;
    this.#viewer = new FileViewer(ctx);
  }

  /** Forgets the tree on screen (its element was replaced), so the next render builds it again. */
  reset(): void {
    this.#tree = undefined;
    this.#treeKey = "";
  }

  /** Stops reading the layer being read, if any. */
  abortJob(): void {
    this.#job?.controller.abort(new TugError("ABORTED", "The view changed"));
    this.#job = undefined;
  }

  /**
   * Renders the files view of `image` into `body`, keeping the frame when the same layer is shown again;
   * `stale()` tells whether a newer render took over while a layer was read.
   */
  async render(
    body: HTMLElement,
    state: PageState,
    ref: Reference,
    image: ImageData,
    stale: () => boolean,
  ): Promise<void> {
    const ctx = this.#ctx;
    const layers = image.manifest.layers;
    const chosen = state.layer;
    const key = chosen === "merged" ? `merged:${image.descriptor.digest}` : chosen ? `layer:${chosen}` : "";
    const layerIndex = layers.findIndex((l) => l.digest === chosen);
    const labels = layers.map((l, i) => `#${i + 1} ${shortDigest(l.digest).slice(0, 7)}`);
    const source = ctx.source(state);
    // The frame (picker, progress line, filter, tree, viewer) keeps its place while a layer streams in.
    let frame = body.querySelector<HTMLElement>(".files");
    if (!frame || frame.dataset.key !== key) {
      const picker = h(
        "select",
        {
          id: "layer-select",
          "aria-label": "Layer to browse",
        },
        h("option", { value: "" }, "Choose a layer…"),
        h("option", { value: "merged" }, "Whole image (all layers merged)"),
        layers.map((l, i) =>
          h(
            "option",
            { value: l.digest },
            `Layer ${i + 1}: ${shortDigest(l.digest)} · ${formatBytes(l.size)}`,
          )
        ),
      );
      picker.value = chosen && (chosen === "merged" || layerIndex >= 0) ? chosen : "";
      choiceOnCommit(picker, (value) => {
        if (value === (ctx.state.layer ?? "")) return;
        ctx.navigate({ ...ctx.state, layer: value || undefined, path: undefined, filter: undefined });
      });
      const filter = h("input", {
        id: "tree-filter",
        type: "search",
        placeholder: "Filter paths",
        "aria-label": "Filter paths",
        value: state.filter ?? "",
        disabled: true,
      });
      // Down from the filter box goes into the (filtered) tree, as in a combobox's list.
      filter.addEventListener("keydown", (event) => {
        if (event.key !== "ArrowDown" || !this.#tree) return;
        event.preventDefault();
        this.#tree.focus();
      });
      filter.addEventListener("input", () => {
        this.#tree?.setFilter(filter.value);
        ctx.navigate({ ...ctx.state, filter: filter.value || undefined }, { replace: true, render: false });
      });
      const downloadButton = layerIndex >= 0
        ? h("button", {
          id: "download-layer",
          type: "button",
          onclick: () => downloadLayer(ctx, source, ref, layers[layerIndex]),
        }, "Download layer")
        : null;
      frame = h(
        "div",
        { class: "files", "data-key": key },
        h(
          "div",
          { class: "files-bar" },
          picker,
          filter,
          h("span", { id: "filter-count", class: "muted small", role: "status" }),
          downloadButton,
        ),
        h(
          "div",
          { class: "progress", "aria-live": "polite" },
          h("progress", { max: 1, value: 0, "aria-label": "Reading the layer" }),
          h("span", { class: "progress-text" }, ""),
          h("button", { type: "button", class: "cancel", onclick: () => this.abortJob() }, "Cancel"),
        ),
        h(
          "div",
          { class: "browser" },
          h(
            "div",
            { class: "tree-box" },
            h(
              "p",
              { class: "muted" },
              key
                ? "Reading the layer…"
                : "Choose a layer above to see its files, or the whole image merged.",
            ),
          ),
          h("div", { class: "viewer", id: "file-view", "aria-live": "polite" }),
        ),
      );
      replace(body, frame);
      this.reset();
    }
    if (!key) return;
    if (chosen !== "merged" && layerIndex < 0) {
      // The image was found; only the link's layer is not one of its layers.
      const explained = explainError(
        new PageError(
          `This image has no layer ${chosen}.`,
          "The link names a layer that is not in this image's manifest. Choose one of its layers above.",
          `layer=${chosen}`,
        ),
        { where: "" },
      );
      replace(
        frame.querySelector(".tree-box")!,
        h(
          "div",
          { class: "error", role: "alert" },
          h("h2", {}, explained.title),
          h("p", {}, explained.hint),
          h("p", { class: "detail" }, explained.detail),
        ),
      );
      return;
    }
    let tree = this.#trees.get(key);
    if (!tree) {
      if (this.#job?.key !== key) {
        this.abortJob();
        this.#job = this.#startJob(key, state, ref, image);
      }
      const job = this.#job!;
      this.#progress(job);
      try {
        tree = await job.promise;
      } catch (err) {
        if (this.#job === job) this.#job = undefined;
        if (stale()) return;
        frame.querySelector(".progress")?.classList.remove("active");
        const explained = explainError(err, {
          image: state.image,
          where: ctx.where(state),
          direct: source.mode.kind === "direct",
        });
        replace(
          frame.querySelector(".tree-box")!,
          h(
            "div",
            { class: "error", role: "alert" },
            h("h2", {}, explained.title),
            h("p", {}, explained.hint),
            isTugError(err, "ABORTED") ? null : h("p", { class: "detail" }, explained.detail),
            h("button", { type: "button", onclick: () => ctx.render() }, "Read it again"),
          ),
        );
        return;
      }
      if (this.#job === job) this.#job = undefined;
      this.#trees.set(key, tree);
    }
    if (stale()) return;
    frame.querySelector(".progress")?.classList.remove("active");
    const counts = frame.querySelector<HTMLElement>(".progress-text")!;
    counts.textContent = `${countOf(tree.entries, "entry", "entries")} · ${
      formatBytes(tree.root.total)
    } in files${tree.whiteouts ? ` · ${tree.whiteouts} whiteouts` : ""}`;
    if (!this.#tree || this.#treeKey !== key) {
      this.#tree = this.#mountTree(frame, tree, key, labels, ref, image);
      this.#treeKey = key;
    }
    const node = state.path ? findNode(tree.root, state.path) : undefined;
    if (state.path && node && this.#tree.selected !== state.path) this.#tree.select(state.path);
    if (node) this.#viewer.show(state, ref, image, node);
    else if (state.path) {
      replace(
        frame.querySelector("#file-view")!,
        h("p", { class: "error" }, `There is no ${state.path} in this view.`),
      );
    } else {
      replace(
        frame.querySelector("#file-view")!,
        h("p", { class: "muted" }, "Select a file to see its details and content."),
      );
    }
  }

  /** Shows `tree` in the frame's tree box, with the filter and selection wired to the page. */
  #mountTree(
    frame: HTMLElement,
    tree: FileTree,
    key: string,
    labels: string[],
    ref: Reference,
    image: ImageData,
  ): TreeView {
    const ctx = this.#ctx;
    const view = new TreeView(tree, {
      merged: key.startsWith("merged:"),
      layerLabels: labels,
      onFiltered: (summary) => {
        const out = frame.querySelector("#filter-count");
        if (out) out.textContent = summary;
      },
      onSelect: (node) => {
        // Opening and closing folders is browsing, not a place to go back to: only files add a history
        // entry; a folder replaces the current one.
        ctx.navigate({ ...ctx.state, path: node.path }, {
          render: false,
          replace: node.children !== undefined,
        });
        this.#viewer.show(ctx.state, ref, image, node);
        if (node.children === undefined) revealViewer(frame);
      },
    });
    replace(frame.querySelector(".tree-box")!, view.element);
    const filter = frame.querySelector<HTMLInputElement>("#tree-filter")!;
    filter.disabled = false;
    if (filter.value) view.setFilter(filter.value);
    return view;
  }

  /**
   * Shows the merged tree of the layers read so far while the others are still read, so the whole-image
   * view fills in layer by layer instead of staying empty until the last one. The final render replaces it.
   */
  #showPartial(job: Job, tree: FileTree, ref: Reference, image: ImageData): void {
    if (this.#job !== job) return;
    const frame = this.#ctx.root.querySelector<HTMLElement>(".files");
    if (!frame || frame.dataset.key !== job.key) return;
    const labels = image.manifest.layers.map((l, i) => `#${i + 1} ${shortDigest(l.digest).slice(0, 7)}`);
    // Keep the open folders and the selection of the partial tree on screen.
    const open = this.#tree && this.#treeKey === "" ? this.#tree.selected : undefined;
    this.#tree = this.#mountTree(frame, tree, job.key, labels, ref, image);
    // Not the final tree: the next render with this key mounts that one.
    this.#treeKey = "";
    if (open && findNode(tree.root, open)) this.#tree.select(open);
  }

  /**
   * The listings of every layer of `image`, bottom first, each read once for the page's life and shared
   * with the file browser (the analysis and diff views use them). `onProgress` hears the bytes read.
   */
  async listAll(
    state: PageState,
    ref: Reference,
    image: ImageData,
    options: { signal?: AbortSignal; onProgress?: (bytes: number, total: number) => void } = {},
  ): Promise<TarHeader[][]> {
    const layers = image.manifest.layers;
    const controller = new AbortController();
    const stop = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener("abort", stop, { once: true });
    const job: Job = {
      key: `all:${image.descriptor.digest}`,
      controller,
      bytes: 0,
      total: layers.reduce((n, l) => n + l.size, 0),
      entries: 0,
      label: "",
      promise: Promise.resolve(undefined as unknown as FileTree),
    };
    try {
      const out: TarHeader[][] = [];
      let done = 0;
      for (const [i, layer] of layers.entries()) {
        options.onProgress?.(done, job.total);
        out.push(await this.#listLayer(state, ref, layer, image.config.rootfs?.diff_ids?.[i], job));
        done += layer.size;
        job.bytes = done;
      }
      options.onProgress?.(done, job.total);
      return out;
    } finally {
      options.signal?.removeEventListener("abort", stop);
    }
  }

  /** Lists a layer (from the cache or the registry), with progress; the job is shared by re-renders. */
  #listLayer(
    state: PageState,
    ref: Reference,
    layer: Descriptor,
    diffId: string | undefined,
    job: Job,
  ): Promise<TarHeader[]> {
    const known = this.#listings.get(layer.digest);
    if (known) return Promise.resolve(known);
    const source = this.#ctx.source(state);
    const kept = this.#kept(source.store.name);
    return (async () => {
      // Read before (and verified then): shown from IndexedDB without reading the blob.
      const stored = await kept.get(layer.digest, diffId);
      if (stored) {
        gzipIndexer.ensure(source.store, layer.digest);
        this.#listings.set(layer.digest, stored);
        job.entries = stored.length;
        return stored;
      }
      const base = job.bytes;
      const blob = await source.blob(ref, layer, {
        signal: job.controller.signal,
        onBytes: (n) => {
          job.bytes = base + n;
          this.#progress(job);
        },
      });
      job.label = blob.cached ? "Reading from this browser's cache" : "Downloading and verifying";
      this.#progress(job);
      let entries;
      try {
        entries = await listEntries(blob.stream, {
          signal: job.controller.signal,
          // Checked against the config while it is decompressed anyway; a mismatch shows as this layer's error.
          diffId,
          onEntries: (n) => {
            job.entries = n;
            this.#progress(job);
          },
        });
      } catch (err) {
        // Altered bytes usually first show as a decompression or tar error. The download goes on to the
        // end when the reader stops (see ImageSource.blob), so wait for its verdict: a digest mismatch or
        // a broken-off download is the cause to report, the decoding error only its symptom.
        if (!job.controller.signal.aborted) await blob.done;
        throw err;
      }
      // The listing counts only once the whole blob was verified (and cached).
      await blob.done;
      this.#listings.set(layer.digest, entries);
      await kept.set(layer.digest, entries, diffId);
      // Then, in the background, the checkpoints that let a file be read without the layer's start.
      gzipIndexer.ensure(source.store, layer.digest);
      return entries;
    })();
  }

  /** The kept listings of the IndexedDB cache named `name` (one per cache the page uses). */
  #kept(name: string): ListingCache {
    let kept = this.#listingCaches.get(name);
    if (!kept) this.#listingCaches.set(name, kept = new ListingCache(name));
    return kept;
  }

  #startJob(key: string, state: PageState, ref: Reference, image: ImageData): Job {
    const layers = image.manifest.layers;
    const controller = new AbortController();
    const merged = key.startsWith("merged:");
    const targets = merged ? layers : layers.filter((l) => l.digest === state.layer);
    const job: Job = {
      key,
      controller,
      bytes: 0,
      total: targets.reduce((n, l) => n + l.size, 0),
      entries: 0,
      label: "Starting",
      promise: Promise.resolve(undefined as unknown as FileTree),
    };
    (job as { promise: Promise<FileTree> }).promise = (async () => {
      if (!merged) {
        const layer = targets[0];
        if (!layer) throw new TugError("NOT_FOUND", `The image has no layer ${state.layer}`);
        const diffId = image.config.rootfs?.diff_ids?.[layers.indexOf(layer)];
        return treeOfLayer(await this.#listLayer(state, ref, layer, diffId, job));
      }
      const merge = mergeLayers();
      let done = 0;
      for (const [i, layer] of layers.entries()) {
        const entries = await this.#listLayer(state, ref, layer, image.config.rootfs?.diff_ids?.[i], job);
        done += layer.size;
        job.bytes = done;
        for (const entry of entries) merge.add(i, entry);
        if (i < layers.length - 1) this.#showPartial(job, treeOfMerged(merge.files()), ref, image);
      }
      return treeOfMerged(merge.files());
    })();
    job.promise.catch(() => {});
    return job;
  }

  #progress(job: Job): void {
    if (this.#job !== job) return;
    const box = this.#ctx.root.querySelector<HTMLElement>(".progress");
    if (!box) return;
    box.classList.add("active");
    const bar = box.querySelector("progress")!;
    bar.max = job.total || 1;
    bar.value = Math.min(job.bytes, job.total);
    box.querySelector(".progress-text")!.textContent = `${job.label}: ${formatBytes(job.bytes)} of ${
      formatBytes(job.total)
    } · ${job.entries} entries`;
  }
}

/**
 * Scrolls the viewer into sight when it is below the visible part of the page (on a phone it sits under
 * the tree, ~900 px down), keeping it clear of the sticky header.
 */
function revealViewer(frame: HTMLElement): void {
  const viewer = frame.querySelector<HTMLElement>("#file-view");
  if (!viewer) return;
  const header = document.querySelector("header.top")?.getBoundingClientRect().bottom ?? 0;
  const top = viewer.getBoundingClientRect().top;
  if (top >= header && top < innerHeight - 80) return;
  scrollBy({ top: top - header - 8 });
}

/**
 * Calls `commit` when the user settles on a choice in `select`. A closed `<select>` fires `change` on
 * every arrow key, and each choice here starts a layer download, so choices made with the keyboard count
 * only on Enter or when focus leaves; a pick with the mouse (or a phone's picker) counts at once.
 */
function choiceOnCommit(select: HTMLSelectElement, commit: (value: string) => void): void {
  let typing = false;
  select.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      typing = false;
      commit(select.value);
    } else if (event.key !== "Tab" && event.key !== "Shift") {
      typing = true;
    }
  });
  select.addEventListener("pointerdown", () => typing = false);
  select.addEventListener("change", () => {
    if (!typing) commit(select.value);
  });
  select.addEventListener("blur", () => {
    if (typing) {
      typing = false;
      commit(select.value);
    }
  });
}
