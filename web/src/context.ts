/// <reference lib="dom" />
/**
 * What the page shell (`App` in app.ts) shares with its views: the URL state and navigation, the image
 * loader, and the data of one opened platform image. The views take a {@linkcode PageContext} instead of
 * reaching for the shell, so each view is a module of its own.
 *
 * @module
 */

import type { Descriptor, ImageConfig, ImageManifest } from "../../src/mod.ts";
import type { ImageSource } from "./image_source.ts";
import type { UpstreamsInfo } from "./upstreams.ts";
import type { PageState } from "./url_state.ts";

/** One platform image of the opened reference. */
export interface ImageData {
  /** The image manifest's descriptor (from the index, or the reference itself). */
  readonly descriptor: Descriptor;
  /** The image manifest. */
  readonly manifest: ImageManifest;
  /** The manifest's bytes as the registry sent them. */
  readonly manifestBytes: Uint8Array;
  /** The image config. */
  readonly config: ImageConfig;
  /** The config's bytes as the registry sent them. */
  readonly configBytes: Uint8Array;
}

/** Options for {@linkcode PageContext.navigate}. */
export interface NavigateOptions {
  /** Replace the current history entry instead of adding one. */
  replace?: boolean;
  /** Render the new state (default true). */
  render?: boolean;
}

/** What a view may use of the page shell. */
export interface PageContext {
  /** The element the page renders into. */
  readonly root: HTMLElement;
  /** The state the URL holds now. */
  readonly state: PageState;
  /** Goes to a new state (a new history entry unless `replace`) and renders it unless `render: false`. */
  navigate(state: PageState, options?: NavigateOptions): void;
  /** The link to a state, for `<a href>`. */
  href(state: PageState): string;
  /** The parts of the current state that survive opening another image (the registry choice). */
  keep(): PageState;
  /** Renders the page for the URL's state again. */
  render(): void;
  /** The registry access for a state's registry choice. */
  source(state: PageState): ImageSource;
  /** What the state's proxy says about its upstreams (undefined: direct, or not tug's proxy). */
  upstreams(state: PageState): Promise<UpstreamsInfo | undefined>;
  /** Where a state's images come from, for error messages ("the registry", "the tug proxy at …"). */
  where(state: PageState): string;
}

/** A page setting read from a `<meta>` tag, so a static host can point the page at its proxy. */
export function meta(name: string): string | undefined {
  return document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content.trim() || undefined;
}
