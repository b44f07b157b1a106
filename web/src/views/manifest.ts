/// <reference lib="dom" />
/**
 * The manifest view: a manifest or index as the registry sent it, re-indented, with every digest a link
 * (to a platform, a layer's files, or the config).
 *
 * @module
 */

import type { Descriptor, ImageIndex, Reference } from "../../../src/mod.ts";
import { formatPlatform } from "../../../src/manifest/mod.ts";
import type { PageContext } from "../context.ts";
import { h } from "../dom.ts";
import { formatBytes } from "../format.ts";
import type { PageState } from "../url_state.ts";
import { jsonNodes } from "./json.ts";

/**
 * The manifest view of `bytes` (a manifest, or the index `index`).
 *
 * @example
 * ```ts ignore
 * replace(body, manifestView(ctx, state, ref, image.manifestBytes, undefined));
 * ```
 */
export function manifestView(
  ctx: PageContext,
  state: PageState,
  ref: Reference,
  bytes: Uint8Array,
  index: ImageIndex | undefined,
): HTMLElement {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return h("pre", { class: "json" }, new TextDecoder().decode(bytes));
  }
  const layerDigests = new Set<string>();
  const children = new Map<string, Descriptor>();
  for (const d of index?.manifests ?? []) children.set(d.digest, d);
  const link = (digest: string): string => {
    const child = children.get(digest);
    if (child) {
      const platform = child.platform && child.platform.os !== "unknown"
        ? formatPlatform(child.platform)
        : undefined;
      return platform
        ? ctx.href({ ...ctx.keep(), image: state.image, platform })
        : ctx.href({ ...ctx.keep(), image: `${ref.name}@${digest}` });
    }
    if (layerDigests.has(digest)) {
      return ctx.href({ ...state, view: "files", layer: digest, path: undefined });
    }
    return ctx.href({ ...state, view: "config" });
  };
  const manifest = value as { layers?: Array<{ digest?: string }> };
  for (const l of manifest.layers ?? []) if (typeof l.digest === "string") layerDigests.add(l.digest);
  return h(
    "div",
    {},
    h(
      "p",
      { class: "muted" },
      "Every digest is a link. ",
      `${formatBytes(bytes.length)}, as the registry sent it, re-indented.`,
    ),
    h("pre", { class: "json" }, jsonNodes(value, 0, link)),
  );
}
