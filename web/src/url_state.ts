/**
 * The page's state in its URL, so every view can be shared: `?image=NAME:TAG&platform=…&view=…&layer=…&path=…`,
 * and `?image=A&diff=B` to compare two images.
 *
 * @module
 */

/** The views of an opened image. */
export const VIEWS = ["layers", "files", "config", "history", "manifest", "analysis", "diff"] as const;

/** One of {@linkcode VIEWS}. */
export type View = typeof VIEWS[number];

/** What the URL says to show. */
export interface PageState {
  /** The image reference as typed (`alpine:3.20`, `127.0.0.1:5000/tug/small:v1`). */
  image?: string;
  /** The platform picked from an index, `os/arch[/variant]`. */
  platform?: string;
  /** The view (default `layers`). */
  view?: View;
  /** The layer open in the file browser: its digest, or `merged` for the whole image. */
  layer?: string;
  /** The file selected in the tree (normalized path, `etc/hostname`). */
  path?: string;
  /** The tree filter text. */
  filter?: string;
  /** `direct` to talk to the registry itself, or the proxy's URL; absent: the proxy serving the page. */
  registry?: string;
  /** A digest shown in the manifest view (a link from another manifest or an index). */
  digest?: string;
  /** Another image to compare this one with, file by file (the diff view): `?image=A&diff=B`. */
  diff?: string;
}

const KEYS = ["image", "platform", "view", "layer", "path", "filter", "registry", "digest", "diff"] as const;

/**
 * Reads the state from a query string.
 *
 * @example
 * ```ts
 * import { parseState } from "./url_state.ts";
 *
 * const state = parseState("?image=alpine:3.20&view=config");
 * console.assert(state.image === "alpine:3.20" && state.view === "config");
 * ```
 */
export function parseState(search: string): PageState {
  const params = new URLSearchParams(search);
  const state: PageState = {};
  for (const key of KEYS) {
    const value = params.get(key)?.trim();
    if (!value) continue;
    if (key === "view") {
      if ((VIEWS as readonly string[]).includes(value)) state.view = value as View;
    } else {
      state[key] = value;
    }
  }
  return state;
}

/**
 * Writes the state as a query string (keys in a fixed order, empty ones left out; `/` and `:` kept
 * readable).
 *
 * @example
 * ```ts
 * import { formatState } from "./url_state.ts";
 *
 * console.assert(formatState({ image: "alpine:3.20", view: "files", path: "etc/os-release" }) ===
 *   "?image=alpine:3.20&view=files&path=etc/os-release");
 * ```
 */
export function formatState(state: PageState): string {
  const parts: string[] = [];
  for (const key of KEYS) {
    const value = state[key];
    if (value === undefined || value === "") continue;
    parts.push(
      `${key}=${encodeURIComponent(value).replace(/%2F/g, "/").replace(/%3A/g, ":").replace(/%40/g, "@")}`,
    );
  }
  return parts.length === 0 ? "" : `?${parts.join("&")}`;
}
