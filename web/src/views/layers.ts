/// <reference lib="dom" />
/**
 * The layers view: one row per layer (digest, diffID, media type, size and share of the image), each
 * linking to its files.
 *
 * @module
 */

import type { ImageData, PageContext } from "../context.ts";
import { h } from "../dom.ts";
import { formatBytes, shortDigest } from "../format.ts";
import { specUrl } from "../links.ts";
import type { PageState } from "../url_state.ts";

/**
 * The layers view of `image`.
 *
 * @example
 * ```ts ignore
 * replace(body, layersView(ctx, state, image));
 * ```
 */
export function layersView(ctx: PageContext, state: PageState, image: ImageData): HTMLElement {
  const layers = image.manifest.layers;
  const total = layers.reduce((n, l) => n + l.size, 0) || 1;
  const diffIds = image.config.rootfs?.diff_ids ?? [];
  // The build step of each layer: the history's steps that are not empty layers, in order (Docker's rule).
  const steps = (image.config.history ?? []).filter((step) => !step.empty_layer);
  const rows = layers.map((layer, i) =>
    h(
      "tr",
      { "data-layer": layer.digest },
      h("td", { class: "num" }, i + 1),
      h(
        "td",
        {},
        h("a", {
          href: ctx.href({ ...state, view: "files", layer: layer.digest, path: undefined }),
          title: layer.digest,
        }, h("code", {}, shortDigest(layer.digest))),
        h(
          "div",
          { class: "muted small" },
          "diffID ",
          h("code", { title: diffIds[i] ?? "" }, diffIds[i] ? shortDigest(diffIds[i]) : "—"),
        ),
        steps[i]?.created_by ? h("code", { class: "created-by small" }, steps[i].created_by) : null,
      ),
      h("td", { class: "mediatype" }, mediaTypeLink(layer.mediaType)),
      h("td", { class: "num" }, formatBytes(layer.size)),
      h(
        "td",
        { class: "share" },
        h("span", { class: "bar", style: `--share:${(layer.size / total * 100).toFixed(1)}%` }),
        h("span", {}, `${(layer.size / total * 100).toFixed(1)}%`),
      ),
    )
  );
  return h(
    "div",
    { class: "layers" },
    h(
      "p",
      {},
      h("a", {
        class: "button",
        href: ctx.href({ ...state, view: "files", layer: "merged", path: undefined }),
      }, "Browse all files (merged)"),
    ),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", {}, "#"),
            h("th", {}, "Layer"),
            h("th", {}, "Media type"),
            h("th", {}, "Size"),
            h("th", {}, "Share"),
          ),
        ),
        h("tbody", {}, rows),
      ),
    ),
  );
}

/** A media type, linked to the specification that defines it when the page knows it. */
export function mediaTypeLink(mediaType: string): HTMLElement | string {
  const url = specUrl(mediaType);
  return url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, mediaType) : mediaType;
}
