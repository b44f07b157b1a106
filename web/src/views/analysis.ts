/// <reference lib="dom" />
/**
 * The analysis view, as dive shows an image: each layer's uncompressed size and its added / modified /
 * removed paths, the bytes wasted by files deleted or overwritten in a later layer, dive's efficiency
 * score, and the image's largest files. The figures come from {@linkcode analyzeLayers}.
 *
 * @module
 */

import type { Reference } from "../../../src/mod.ts";
import { analyzeLayers, type ChangeKind } from "../analysis.ts";
import type { ImageData, PageContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { formatBytes, shortDigest } from "../format.ts";
import type { PageState } from "../url_state.ts";
import type { FilesView } from "./files.ts";

/** Most changes listed per layer, and most largest files: more would only slow the page. */
const LIST_LIMIT = 100;

const MARKS: Record<ChangeKind, string> = { added: "+", modified: "~", removed: "−" };

/** A progress line while the layers are read, in `body`. */
export function readingLine(body: HTMLElement, what: string): (bytes: number, total: number) => void {
  const bar = h("progress", { max: 1, value: 0, "aria-label": what });
  const text = h("span", { class: "progress-text" }, `${what}…`);
  replace(body, h("div", { class: "progress active", "aria-live": "polite" }, bar, text));
  return (bytes, total) => {
    bar.max = total || 1;
    bar.value = bytes;
    text.textContent = `${what}: ${formatBytes(bytes)} of ${formatBytes(total)}`;
  };
}

/**
 * Renders the analysis of `image` into `body` once its layers are read (through the files view, which
 * keeps the listings for the page's life).
 *
 * @example
 * ```ts ignore
 * await renderAnalysis(ctx, body, state, ref, image, files, () => id !== renderId);
 * ```
 */
export async function renderAnalysis(
  ctx: PageContext,
  body: HTMLElement,
  state: PageState,
  ref: Reference,
  image: ImageData,
  files: FilesView,
  stale: () => boolean,
): Promise<void> {
  const progress = readingLine(body, "Reading the layers");
  const listings = await files.listAll(state, ref, image, { onProgress: progress });
  if (stale()) return;
  const result = analyzeLayers(listings, { top: LIST_LIMIT });
  const layers = image.manifest.layers;
  const steps = (image.config.history ?? []).filter((step) => !step.empty_layer);
  const percent = (x: number) => `${(x * 100).toFixed(1)} %`;
  const summary = h(
    "dl",
    { class: "summary" },
    h("dt", {}, "Efficiency"),
    h("dd", { id: "efficiency" }, percent(result.efficiency)),
    h("dt", {}, "Wasted"),
    h("dd", { id: "wasted" }, formatBytes(result.wastedBytes)),
    h("dt", {}, "Shipped in layers"),
    h("dd", {}, formatBytes(result.totalSize)),
    h("dt", {}, "Files in the image"),
    h("dd", {}, formatBytes(result.finalSize)),
    h("dt", {}, "dive's potential waste"),
    h(
      "dd",
      {},
      `${formatBytes(result.diveWastedBytes)} (${
        percent(result.diveUserWastedPercent)
      } of the layers above the base)`,
    ),
  );
  const layerRows = result.layers.map((layer, i) =>
    h(
      "tr",
      { "data-layer": layers[i]?.digest ?? "" },
      h("td", { class: "num" }, i + 1),
      h(
        "td",
        {},
        h("a", {
          href: ctx.href({
            ...state,
            view: "files",
            layer: layers[i]?.digest,
            path: undefined,
            diff: undefined,
          }),
        }, h("code", {}, layers[i] ? shortDigest(layers[i].digest) : "?")),
        steps[i]?.created_by ? h("code", { class: "created-by small" }, steps[i].created_by) : null,
        layer.changes.length > 0
          ? h(
            "details",
            { class: "changes" },
            h("summary", {}, "Changes"),
            h(
              "ul",
              { class: "change-list" },
              layer.changes.slice(0, LIST_LIMIT).map((change) =>
                h(
                  "li",
                  { class: change.kind, "data-path": change.path },
                  h("span", { class: "mark", title: change.kind }, MARKS[change.kind]),
                  " ",
                  h("code", {}, change.path),
                  change.size ? h("span", { class: "muted" }, ` ${formatBytes(change.size)}`) : null,
                )
              ),
              layer.changes.length > LIST_LIMIT
                ? h("li", { class: "muted" }, `… and ${layer.changes.length - LIST_LIMIT} more`)
                : null,
            ),
          )
          : null,
      ),
      h("td", { class: "num" }, formatBytes(layer.size)),
      h("td", { class: "num" }, formatBytes(layers[i]?.size ?? 0)),
      h(
        "td",
        { class: "counts" },
        h("span", { class: "added" }, `+${layer.counts.added}`),
        " ",
        h("span", { class: "modified" }, `~${layer.counts.modified}`),
        " ",
        h("span", { class: "removed" }, `−${layer.counts.removed}`),
      ),
      h("td", { class: "num wasted" }, layer.wasted ? formatBytes(layer.wasted) : ""),
    )
  );
  const table = (head: string[], rows: HTMLElement[]) =>
    h(
      "div",
      { class: "scroll" },
      h("table", {}, h("thead", {}, h("tr", {}, head.map((t) => h("th", {}, t)))), h("tbody", {}, rows)),
    );
  const fileLink = (path: string) =>
    h("a", {
      href: ctx.href({ ...state, view: "files", layer: "merged", path, diff: undefined }),
    }, h("code", {}, path));
  replace(
    body,
    h(
      "div",
      { class: "analysis" },
      summary,
      h(
        "p",
        { class: "muted small" },
        "Efficiency follows dive: for every path, the smallest size any layer shipped it with, over the sizes of " +
          "all its copies. Wasted: bytes a layer shipped that a later layer deleted or overwrote.",
      ),
      h("h2", {}, "Layers"),
      table(["#", "Layer", "Uncompressed", "Compressed", "Changes", "Wasted"], layerRows),
      h("h2", {}, "Shipped more than once"),
      result.inefficiencies.length === 0
        ? h("p", { class: "muted" }, "No path is shipped by two layers.")
        : table(
          ["Path", "Layers", "All copies", "Wasted"],
          result.inefficiencies.slice(0, LIST_LIMIT).map((item) =>
            h(
              "tr",
              { class: "inefficiency", "data-path": item.path },
              h("td", {}, h("code", {}, item.path)),
              h("td", { class: "num" }, item.count),
              h("td", { class: "num" }, formatBytes(item.cumulative)),
              h("td", { class: "num" }, formatBytes(item.wasted)),
            )
          ),
        ),
      h("h2", {}, "Largest files"),
      table(
        ["Path", "Size", "Layer"],
        result.largestFiles.map((file) =>
          h(
            "tr",
            { class: "largest", "data-path": file.path },
            h("td", {}, fileLink(file.path)),
            h("td", { class: "num" }, formatBytes(file.size)),
            h("td", { class: "num" }, `#${file.layer + 1}`),
          )
        ),
      ),
    ),
  );
}
