/// <reference lib="dom" />
/**
 * The platform picker of a multi-platform image (an index): one link per platform, attestations and other
 * artifacts listed but not linked.
 *
 * @module
 */

import { formatPlatform, type ImageIndex, parsePlatform } from "../../../src/mod.ts";
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
    const platform = d.platform ? formatPlatform(d.platform) : "no platform";
    const unknown = !d.platform || d.platform.os === "unknown";
    const kind = d.annotations?.["vnd.docker.reference.type"] ??
      (unknown ? "attestation or other artifact" : "");
    const current = state.platform !== undefined && d.platform !== undefined &&
      formatPlatform(parsePlatform(state.platform)) === formatPlatform(d.platform);
    return h(
      "li",
      {},
      unknown
        ? h(
          "span",
          { class: "platform disabled", title: d.digest },
          platform,
          h("span", { class: "muted" }, ` (${kind})`),
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
