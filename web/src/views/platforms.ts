/// <reference lib="dom" />
/**
 * The platform picker of a multi-platform image (an index): one link per platform; buildx's attestation
 * manifests labelled "attestation for <platform>" (never picked as the image);
 * other artifacts listed but not linked.
 *
 * @module
 */

import type { ImageIndex } from "../../../src/mod.ts";
import { formatPlatform, parsePlatform } from "../../../src/manifest/mod.ts";
import { describeIndexEntry } from "../index_entries.ts";
import type { PageContext } from "../context.ts";
import { h } from "../dom.ts";
import { formatBytes, shortDigest } from "../format.ts";
import type { PageState } from "../url_state.ts";

/**
 * The platform picker for `index`, with the state's platform marked current.
 *
 * @example
 * ```ts ignore
 * head.append(platformPicker(ctx, state, index));
 * ```
 */
export function platformPicker(ctx: PageContext, state: PageState, index: ImageIndex): HTMLElement {
  const items = index.manifests.map((d) => {
    const entry = describeIndexEntry(index, d);
    const platform = entry.platform;
    const current = state.platform !== undefined && platform !== undefined &&
      formatPlatform(parsePlatform(state.platform)) === platform;
    return h(
      "li",
      { "data-kind": entry.kind },
      platform === undefined
        ? h(
          "span",
          { class: "platform disabled", title: d.digest },
          entry.label,
        )
        : h("a", {
          class: "platform",
          href: ctx.href({ ...ctx.keep(), image: state.image, platform, view: state.view }),
          "aria-current": current ? "true" : undefined,
          "data-platform": platform,
        }, platform),
      " ",
      h("span", { class: "muted" }, formatBytes(d.size), " · ", shortDigest(d.digest)),
    );
  });
  return h(
    "div",
    { class: "platforms" },
    h("h2", {}, state.platform ? "Platforms" : "This is a multi-platform image: pick a platform"),
    h("ul", {}, items),
  );
}
