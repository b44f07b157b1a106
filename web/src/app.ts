/// <reference lib="dom" />
/**
 * The page shell and router: reads the state from the URL, opens the image through the
 * {@linkcode ImageLoader}, renders the head (platform picker, tabs) and hands the body to the view the URL
 * names (views/: layers, files, config, history, manifest, analysis, diff; home without an image).
 *
 * @module
 */

import type { Descriptor, ImageIndex, ImageManifest, Reference } from "../../src/mod.ts";
import { parsePlatform } from "../../src/manifest/mod.ts";
import { checkImageConfigMediaType, selectManifest } from "../../src/manifest/mod.ts";
import type { ImageData, NavigateOptions, PageContext } from "./context.ts";
import { meta } from "./context.ts";
import { h, replace } from "./dom.ts";
import { explainError } from "./explain_error.ts";
import { ImageLoader } from "./image_loader.ts";
import { formatState, type PageState, parseState, type View } from "./url_state.ts";
import { renderAnalysis } from "./views/analysis.ts";
import { configView } from "./views/config.ts";
import { renderDiff } from "./views/diff.ts";
import { FilesView } from "./views/files.ts";
import { renderHead } from "./views/head.ts";
import { historyView } from "./views/history.ts";
import { homeView } from "./views/home.ts";
import { layersView } from "./views/layers.ts";
import { manifestView } from "./views/manifest.ts";

/**
 * Starts the page in `root` (the `<main>` element's container).
 *
 * @example
 * ```ts ignore
 * startApp(document.getElementById("app")!);
 * ```
 */
export function startApp(root: HTMLElement): App {
  const app = new App(root);
  app.render();
  return app;
}

/** The page controller. */
export class App {
  readonly #root: HTMLElement;
  readonly #loader = new ImageLoader();
  /** What the views see of the shell. */
  readonly #ctx: PageContext;
  readonly #files: FilesView;
  #renderId = 0;

  constructor(root: HTMLElement) {
    this.#root = root;
    const loader = this.#loader;
    const current = () => this.state;
    this.#ctx = {
      root,
      get state() {
        return current();
      },
      navigate: (state, options) => this.navigate(state, options),
      href: (state) => this.href(state),
      keep: () => {
        const registry = this.state.registry;
        return registry ? { registry } : {};
      },
      render: () => this.render(),
      source: (state) => loader.source(state),
      where: (state) => loader.where(state),
      upstreams: (state) => loader.upstreams(state),
    };
    this.#files = new FilesView(this.#ctx);
    addEventListener("popstate", () => this.render());
    // Links between the page's own views change the URL in place: no reload, listings stay in memory.
    document.addEventListener("click", (event) => {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) {
        return;
      }
      const a = (event.target as Element).closest?.("a");
      if (!a || a.hasAttribute("download") || a.target) return;
      const url = new URL(a.href, location.href);
      if (url.origin !== location.origin || url.pathname !== location.pathname) return;
      event.preventDefault();
      if (url.search !== location.search) this.navigate(parseState(url.search));
    });
  }

  /** The state the URL holds. */
  get state(): PageState {
    return parseState(location.search);
  }

  /** Goes to a new state (a new history entry unless `replace`) and renders it. */
  navigate(state: PageState, options: NavigateOptions = {}): void {
    const url = `${location.pathname}${formatState(state)}`;
    if (options.replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    if (options.render !== false) this.render();
  }

  /** The link to a state, for `<a href>`. */
  href(state: PageState): string {
    return `${location.pathname}${formatState(state)}`;
  }

  /** Renders the page for the URL's state. */
  render(): void {
    const id = ++this.#renderId;
    const state = this.state;
    this.#renderHeader(state);
    // A new page state replaces what was said about the last one: no old error stays under a new one.
    const message = document.getElementById("form-message");
    message?.replaceChildren();
    if (!state.image) {
      this.#files.abortJob();
      document.title = "tug — look inside container images";
      replace(this.#root, homeView(this.#ctx));
      return;
    }
    this.#renderImage(id, state).catch((err) => {
      if (id !== this.#renderId) return;
      this.#showError(err, state);
    });
  }

  /** Puts the state's reference and registry choice into the form above the page. */
  #renderHeader(state: PageState): void {
    const input = document.getElementById("image-input") as HTMLInputElement | null;
    if (input && document.activeElement !== input) input.value = state.image ?? "";
    const mode = this.#loader.mode(state);
    const select = document.getElementById("registry-mode") as HTMLSelectElement | null;
    const url = document.getElementById("proxy-url") as HTMLInputElement | null;
    if (select) select.value = mode.kind;
    if (url) {
      url.value = mode.kind === "proxy" ? mode.url : (meta("tug-proxy") ?? location.origin);
      url.disabled = mode.kind === "direct";
    }
  }

  #showError(err: unknown, state: PageState): void {
    this.#files.abortJob();
    const mode = this.#loader.mode(state);
    const explained = explainError(err, {
      image: state.image,
      where: this.#loader.where(state),
      direct: mode.kind === "direct",
    });
    const box = h(
      "div",
      { class: "error", role: "alert" },
      h("h2", {}, explained.title),
      explained.hint ? h("p", {}, explained.hint) : null,
      h("p", { class: "detail" }, explained.detail),
    );
    const opening = this.#root.querySelector(".image-head > p.muted");
    if (opening?.textContent === "Opening…") opening.textContent = "Could not open it.";
    const existing = this.#root.querySelector(".view");
    if (existing && state.image) replace(existing, box);
    else replace(this.#root, box);
  }

  /** The other image of a diff, on the same platform as `like` when it names an index. */
  async #openOther(state: PageState, like: ImageData): Promise<{ ref: Reference; image: ImageData }> {
    const resolved = await this.#loader.resolve(state);
    const descriptor = resolved.parsed.kind === "index"
      ? selectManifest(resolved.parsed.index, {
        os: like.config.os,
        architecture: like.config.architecture,
        ...(like.config.variant ? { variant: like.config.variant } : {}),
      })
      : resolved.descriptor;
    return { ref: resolved.ref, image: await this.#loader.image(state, resolved.ref, descriptor) };
  }

  async #renderImage(id: number, state: PageState): Promise<void> {
    const stale = () => id !== this.#renderId;
    const ctx = this.#ctx;
    let shell = this.#root.querySelector<HTMLElement>(".image");
    if (!shell || shell.dataset.image !== state.image) {
      shell = h(
        "section",
        { class: "image", "data-image": state.image },
        h("div", { class: "image-head" }, h("h1", {}, state.image!), h("p", { class: "muted" }, "Opening…")),
        h("div", { class: "view", "aria-busy": "true" }),
      );
      replace(this.#root, shell);
      this.#files.reset();
    }
    document.title = `${state.image} — tug`;
    const resolved = await this.#loader.resolve(state);
    if (stale()) return;
    const { ref, parsed } = resolved;
    let descriptor: Descriptor | undefined;
    let index: ImageIndex | undefined;
    if (parsed.kind === "index") {
      index = parsed.index;
      if (state.platform) {
        descriptor = selectManifest(index, parsePlatform(state.platform));
      }
    } else if (isImageManifest(parsed.manifest)) {
      descriptor = resolved.descriptor;
    }
    // An artifact (an SBOM, a signature, opened from the referrers) has no image config to read: like an
    // index without a platform picked, its manifest is shown.
    const image = descriptor ? await this.#loader.image(state, ref, descriptor) : undefined;
    if (stale()) return;
    const view: View = !image ? "manifest" : state.view ?? (state.diff ? "diff" : "layers");
    // The head is built anew, which removes the tab that had focus: put focus back on the same tab (the
    // new view's), so keyboard users stay where they were instead of starting over from <body>.
    const active = document.activeElement;
    const focusedView = active instanceof HTMLElement && active.matches(".tabs a")
      ? active.dataset.view
      : undefined;
    renderHead(ctx, shell.querySelector<HTMLElement>(".image-head")!, state, resolved, index, image);
    if (focusedView) shell.querySelector<HTMLElement>(`.tabs a[data-view="${focusedView}"]`)?.focus();
    const body = shell.querySelector<HTMLElement>(".view")!;
    body.removeAttribute("aria-busy");
    if (view !== "files") this.#files.abortJob();
    if (!image) {
      // An index without a platform picked: its manifest, and the platforms to choose from above.
      this.#files.reset();
      replace(body, manifestView(ctx, state, ref, parsed.bytes, index));
      return;
    }
    switch (view) {
      case "layers":
        replace(body, layersView(ctx, state, image));
        break;
      case "config":
        replace(body, configView(image));
        break;
      case "history":
        replace(body, historyView(ctx, state, image));
        break;
      case "manifest":
        replace(body, manifestView(ctx, state, ref, image.manifestBytes, undefined));
        break;
      case "files":
        await this.#files.render(body, state, ref, image, stale);
        break;
      case "analysis":
        await renderAnalysis(ctx, body, state, ref, image, this.#files, stale);
        break;
      case "diff":
        await renderDiff(
          ctx,
          body,
          state,
          ref,
          image,
          this.#files,
          (s, like) => this.#openOther(s, like),
          stale,
        );
        break;
    }
  }
}

/** Whether a manifest is an image (its config an image config, as Docker's puller requires), not an artifact. */
function isImageManifest(manifest: ImageManifest): boolean {
  try {
    checkImageConfigMediaType(manifest.config);
    return true;
  } catch {
    return false;
  }
}
