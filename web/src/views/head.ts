/// <reference lib="dom" />
/**
 * The head of an opened image: its name, digest, platform and size, its referrers, the platform picker of
 * an index, and the tabs of the views.
 *
 * @module
 */

import type { ImageIndex } from "../../../src/mod.ts";
import { formatPlatform } from "../../../src/manifest/mod.ts";
import type { ImageData, PageContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { formatBytes, shortDigest } from "../format.ts";
import type { Resolved } from "../image_source.ts";
import { type PageState, type View, VIEWS } from "../url_state.ts";
import { platformPicker } from "./platforms.ts";
import { copyButton } from "../copy_button.ts";
import { pinnedReference } from "../links.ts";
import { tagsList } from "./tags.ts";
import { referrersSection } from "./referrers.ts";

const VIEW_LABELS: Record<View, string> = {
  layers: "Layers",
  files: "Files",
  config: "Config",
  history: "History",
  manifest: "Manifest",
  analysis: "Analysis",
  diff: "Diff",
};

/**
 * Fills `head` (the `.image-head` element) for a resolved reference; `image` is undefined while an index
 * has no platform picked, and then there are no tabs.
 *
 * @example
 * ```ts ignore
 * renderHead(ctx, shell.querySelector(".image-head")!, state, resolved, index, image);
 * ```
 */
export function renderHead(
  ctx: PageContext,
  head: HTMLElement,
  state: PageState,
  resolved: Resolved,
  index: ImageIndex | undefined,
  image: ImageData | undefined,
): void {
  const total = image ? image.manifest.layers.reduce((n, l) => n + l.size, 0) : 0;
  const facts: Array<HTMLElement | null> = [
    h(
      "span",
      {},
      h("span", { class: "muted" }, "digest "),
      h("code", { title: resolved.descriptor.digest }, shortDigest(resolved.descriptor.digest)),
      " ",
      copyButton(resolved.descriptor.digest, "the digest"),
    ),
    image
      ? h(
        "span",
        {},
        h("span", { class: "muted" }, "platform "),
        formatPlatform(image.config as { os: string; architecture: string; variant?: string }),
      )
      : null,
    image
      ? h(
        "span",
        {},
        h("span", { class: "muted" }, "layers "),
        `${image.manifest.layers.length} · ${formatBytes(total)}`,
      )
      : null,
    resolved.offline
      ? h("span", {
        class: "badge",
        title: "The registry could not be reached; this is the copy kept in this browser.",
      }, "offline copy")
      : null,
  ];
  const platforms = index ? platformPicker(ctx, state, index) : null;
  const tabs = image
    ? h(
      "nav",
      { class: "tabs", "aria-label": "Views" },
      VIEWS.map((view) => {
        const current = (state.view ?? (state.diff ? "diff" : "layers")) === view;
        return h("a", {
          href: ctx.href({
            ...state,
            view,
            ...(view === "files" ? {} : { path: undefined, filter: undefined }),
            ...(view === "diff" ? {} : { diff: undefined }),
          }),
          "aria-current": current ? "page" : undefined,
          "data-view": view,
        }, VIEW_LABELS[view]);
      }),
    )
    : null;
  // The same view pinned to the digest: a tag moves, a digest names these bytes for good.
  const pinned = pinnedReference(resolved.ref.name, resolved.descriptor.digest);
  const pin = h(
    "p",
    { class: "pin small" },
    h("span", { class: "muted" }, "Pinned link: "),
    h("a", { class: "pinned", href: ctx.href({ ...state, image: pinned }) }, h("code", {}, pinned)),
    " ",
    copyButton(pinned, "the pinned reference"),
  );
  replace(
    head,
    h("h1", {}, resolved.ref.familiar, " ", copyButton(resolved.ref.toString(), "the reference")),
    pin,
    tagsList(ctx, state, resolved.ref),
    h("p", { class: "facts" }, facts),
    image ? referrersSection(ctx, state, resolved.ref, image.descriptor.digest) : null,
    platforms,
    tabs,
  );
}
