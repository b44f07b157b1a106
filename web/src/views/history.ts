/// <reference lib="dom" />
/**
 * The history view: the config's build steps, each non-empty one linking to the files of its layer.
 *
 * @module
 */

import type { ImageData, PageContext } from "../context.ts";
import { h } from "../dom.ts";
import { formatBytes } from "../format.ts";
import type { PageState } from "../url_state.ts";

/**
 * The history view of `image`.
 *
 * @example
 * ```ts ignore
 * replace(body, historyView(ctx, state, image));
 * ```
 */
export function historyView(ctx: PageContext, state: PageState, image: ImageData): HTMLElement {
  let layer = 0;
  const layers = image.manifest.layers;
  const rows = (image.config.history ?? []).map((step, i) => {
    const own = step.empty_layer ? undefined : layers[layer++];
    return h(
      "tr",
      { class: step.empty_layer ? "empty-layer" : "" },
      h("td", { class: "num" }, i + 1),
      h(
        "td",
        { class: "nowrap" },
        step.created ? step.created.replace("T", " ").replace(/\.\d+|Z$/g, "") : "",
      ),
      h(
        "td",
        {},
        h("code", { class: "created-by" }, step.created_by ?? ""),
        step.comment ? h("div", { class: "muted small" }, step.comment) : null,
      ),
      h(
        "td",
        { class: "nowrap" },
        step.empty_layer ? h("span", { class: "muted" }, "empty layer") : own
          ? h(
            "a",
            { href: ctx.href({ ...state, view: "files", layer: own.digest, path: undefined }) },
            formatBytes(own.size),
          )
          : "",
      ),
    );
  });
  if (rows.length === 0) return h("p", { class: "muted" }, "The config records no history.");
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "history" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", {}, "#"),
          h("th", {}, "Created"),
          h("th", {}, "Created by"),
          h("th", {}, "Layer"),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}
