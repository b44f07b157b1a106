/// <reference lib="dom" />
/**
 * The home view (no image in the URL): what the page does, where names go on this proxy, and example
 * images to open.
 *
 * @module
 */

import { meta, type PageContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { defaultUpstream, type UpstreamsInfo } from "../upstreams.ts";

/** Docker Hub's official images: examples wherever Docker Hub is reachable. */
const HUB_EXAMPLES = ["alpine:3.20", "busybox:latest", "nginx:alpine", "python:3.12-slim"];

/**
 * The examples that work through a proxy described by `info` (undefined: not tug's proxy, or direct):
 * Docker Hub's official images, written without a host when Docker Hub is the default upstream, with
 * `docker.io/` when it is another configured upstream, and none when the proxy cannot reach Docker Hub.
 *
 * @example
 * ```ts ignore
 * examplesFor({ default: "local", upstreams: [{ name: "local", host: "h:5000", registry: "h:5000", library: false }] });
 * // → []
 * ```
 */
export function examplesFor(info: UpstreamsInfo | undefined): string[] {
  if (info === undefined) return HUB_EXAMPLES;
  if (defaultUpstream(info)?.registry === "docker.io") return HUB_EXAMPLES;
  if (info.upstreams.some((u) => u.registry === "docker.io")) {
    return HUB_EXAMPLES.map((e) => `docker.io/${e}`);
  }
  return [];
}

/**
 * The home view; the examples come from the `tug-examples` meta tag (comma-separated) when it is set,
 * else from what the proxy says it serves (`GET /upstreams`).
 *
 * @example
 * ```ts ignore
 * replace(ctx.root, homeView(ctx));
 * ```
 */
export function homeView(ctx: PageContext): HTMLElement {
  const fixed = meta("tug-examples")?.split(",").map((s) => s.trim()).filter(Boolean);
  const upstreams = h("div", { class: "upstreams", "aria-live": "polite" });
  const examples = h("ul", { class: "examples" });
  const showExamples = (list: string[]) =>
    replace(
      examples,
      list.map((image) => h("li", {}, h("a", { href: ctx.href({ ...ctx.keep(), image }) }, image))),
    );
  if (fixed) showExamples(fixed);
  ctx.upstreams(ctx.state).then((info) => {
    if (info !== undefined) replace(upstreams, upstreamsList(info));
    if (!fixed) showExamples(examplesFor(info));
  }, () => {
    if (!fixed) showExamples(HUB_EXAMPLES);
  });
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
    upstreams,
    h("h2", {}, "Examples"),
    examples,
  );
}

/** The proxy's registries: where a name without a host goes, and how to name the others. */
function upstreamsList(info: UpstreamsInfo): Array<HTMLElement | null> {
  const fallback = defaultUpstream(info);
  return [
    h("h2", {}, "Registries on this proxy"),
    fallback
      ? h(
        "p",
        {},
        "A name without a host (",
        h("code", {}, "NAME:TAG"),
        ") opens from ",
        h("code", {}, fallback.registry),
        ". Write ",
        h("code", {}, "HOST/NAME:TAG"),
        " for another one:",
      )
      : null,
    h(
      "ul",
      { class: "upstream-list" },
      info.upstreams.map((u) =>
        h(
          "li",
          { "data-upstream": u.name },
          h("code", {}, u.registry),
          u.name !== u.registry ? ` (${u.name})` : "",
          u.name === info.default ? " — default" : "",
        )
      ),
    ),
  ];
}
