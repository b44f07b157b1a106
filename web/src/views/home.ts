/// <reference lib="dom" />
/**
 * The home view (no image in the URL): what the page does, and example images to open.
 *
 * @module
 */

import { meta, type PageContext } from "../context.ts";
import { h } from "../dom.ts";

const DEFAULT_EXAMPLES = ["alpine:3.20", "busybox:latest", "nginx:alpine", "python:3.12-slim"];

/**
 * The home view; the examples come from the `tug-examples` meta tag (comma-separated) when it is set.
 *
 * @example
 * ```ts ignore
 * replace(ctx.root, homeView(ctx));
 * ```
 */
export function homeView(ctx: PageContext): HTMLElement {
  const examples = meta("tug-examples")?.split(",").map((s) => s.trim()).filter(Boolean) ??
    DEFAULT_EXAMPLES;
  return h(
    "section",
    { class: "home" },
    h("h1", {}, "Look inside a container image"),
    h(
      "p",
      {},
      "Type an image reference above. This page reads the image's manifest, config and layers in your browser, ",
      "verifies every byte against its digest, and keeps what it fetched in this browser's storage, so a second ",
      "look is instant and works offline.",
    ),
    h("h2", {}, "Examples"),
    h(
      "ul",
      { class: "examples" },
      examples.map((image) => h("li", {}, h("a", { href: ctx.href({ ...ctx.keep(), image }) }, image))),
    ),
  );
}
