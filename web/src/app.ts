/// <reference lib="dom" />
/**
 * The page: reads its state from the URL, opens the image through {@linkcode ImageSource}, and renders
 * the platform picker and the views (layers, files, config, history, manifest).
 *
 * @module
 */

import {
  type Descriptor,
  formatPlatform,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  isTugError,
  layerCompression,
  mergeLayers,
  parsePlatform,
  type Reference,
  selectManifest,
  type TarHeader,
  TugError,
} from "../../src/mod.ts";
import { h, replace } from "./dom.ts";
import { explainError } from "./explain_error.ts";
import { type FileTree, findNode, type TreeNode, treeOfLayer, treeOfMerged } from "./file_tree.ts";
import { formatBytes, formatMode, formatTime, hexDump, looksLikeText, shortDigest } from "./format.ts";
import { ImageSource, type RegistryMode, type Resolved } from "./image_source.ts";
import { extractFile, fileChunks, listEntries } from "./layer_reader.ts";
import { TreeView } from "./tree_view.ts";
import { formatState, type PageState, parseState, type View, VIEWS } from "./url_state.ts";

/** The most bytes the viewer shows as text. */
const TEXT_LIMIT = 1024 * 1024;
/** The most bytes the viewer shows as a hex dump. */
const HEX_LIMIT = 64 * 1024;

const VIEW_LABELS: Record<View, string> = {
  layers: "Layers",
  files: "Files",
  config: "Config",
  history: "History",
  manifest: "Manifest",
};

/** One platform image of the opened reference. */
interface ImageData {
  readonly descriptor: Descriptor;
  readonly manifest: ImageManifest;
  readonly manifestBytes: Uint8Array;
  readonly config: ImageConfig;
  readonly configBytes: Uint8Array;
}

/** A layer being read, with its progress. */
interface Job {
  readonly key: string;
  readonly controller: AbortController;
  readonly promise: Promise<FileTree>;
  bytes: number;
  total: number;
  entries: number;
  label: string;
}

/** Page settings read from `<meta>` tags, so a static host can point the page at its proxy. */
function meta(name: string): string | undefined {
  return document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content.trim() || undefined;
}

const DEFAULT_EXAMPLES = ["alpine:3.20", "busybox:latest", "nginx:alpine", "python:3.12-slim"];

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
  readonly #sources = new Map<string, ImageSource>();
  readonly #resolved = new Map<string, Promise<Resolved>>();
  readonly #images = new Map<string, Promise<ImageData>>();
  readonly #listings = new Map<string, TarHeader[]>();
  readonly #trees = new Map<string, FileTree>();
  #job: Job | undefined;
  #renderId = 0;
  #tree: TreeView | undefined;
  #treeKey = "";
  #viewerId = 0;

  constructor(root: HTMLElement) {
    this.#root = root;
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
  navigate(state: PageState, options: { replace?: boolean; render?: boolean } = {}): void {
    const url = `${location.pathname}${formatState(state)}`;
    if (options.replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    if (options.render !== false) this.render();
  }

  /** The link to a state, for `<a href>`. */
  href(state: PageState): string {
    return `${location.pathname}${formatState(state)}`;
  }

  #mode(state: PageState): RegistryMode {
    if (state.registry === "direct") return { kind: "direct" };
    return { kind: "proxy", url: state.registry ?? meta("tug-proxy") ?? location.origin };
  }

  #source(state: PageState): ImageSource {
    const mode = this.#mode(state);
    const key = mode.kind === "direct" ? "direct" : mode.url;
    let source = this.#sources.get(key);
    if (!source) {
      source = new ImageSource({ mode, store: [...this.#sources.values()][0]?.store });
      this.#sources.set(key, source);
    }
    return source;
  }

  #where(state: PageState): string {
    const mode = this.#mode(state);
    return mode.kind === "direct" ? "the registry" : `the tug proxy at ${mode.url}`;
  }

  /** Renders the page for the URL's state. */
  render(): void {
    const id = ++this.#renderId;
    const state = this.state;
    this.#renderHeader(state);
    if (!state.image) {
      this.#abortJob();
      document.title = "tug — look inside container images";
      replace(this.#root, this.#home());
      return;
    }
    this.#renderImage(id, state).catch((err) => {
      if (id !== this.#renderId) return;
      this.#showError(err, state);
    });
  }

  #renderHeader(state: PageState): void {
    const input = document.getElementById("image-input") as HTMLInputElement | null;
    if (input && document.activeElement !== input) input.value = state.image ?? "";
    const mode = this.#mode(state);
    const select = document.getElementById("registry-mode") as HTMLSelectElement | null;
    const url = document.getElementById("proxy-url") as HTMLInputElement | null;
    if (select) select.value = mode.kind;
    if (url) {
      url.value = mode.kind === "proxy" ? mode.url : (meta("tug-proxy") ?? location.origin);
      url.disabled = mode.kind === "direct";
    }
  }

  #home(): HTMLElement {
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
        examples.map((image) => h("li", {}, h("a", { href: this.href({ ...this.#keep(), image }) }, image))),
      ),
    );
  }

  /** The parts of the state that survive opening another image. */
  #keep(): PageState {
    const registry = this.state.registry;
    return registry ? { registry } : {};
  }

  #showError(err: unknown, state: PageState): void {
    this.#abortJob();
    const mode = this.#mode(state);
    const explained = explainError(err, {
      image: state.image,
      where: this.#where(state),
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

  #resolve(state: PageState): Promise<Resolved> {
    const source = this.#source(state);
    const key = `${source.mode.kind === "direct" ? "direct" : source.mode.url}|${state.image}`;
    let resolved = this.#resolved.get(key);
    if (!resolved) {
      const ref = ImageSource.parse(state.image!);
      resolved = source.resolve(ref);
      this.#resolved.set(key, resolved);
      resolved.catch(() => this.#resolved.delete(key));
    }
    return resolved;
  }

  #image(state: PageState, ref: Reference, descriptor: Descriptor): Promise<ImageData> {
    const source = this.#source(state);
    let image = this.#images.get(descriptor.digest);
    if (!image) {
      image = (async () => {
        const parsed = await source.manifest(ref, descriptor.digest, descriptor.mediaType);
        if (parsed.kind !== "manifest") {
          throw new TugError("MANIFEST_UNSUPPORTED", `${descriptor.digest} is an index inside an index`);
        }
        const { config, bytes } = await source.config(ref, parsed.manifest.config);
        return {
          descriptor,
          manifest: parsed.manifest,
          manifestBytes: parsed.bytes,
          config,
          configBytes: bytes,
        };
      })();
      this.#images.set(descriptor.digest, image);
      image.catch(() => this.#images.delete(descriptor.digest));
    }
    return image;
  }

  async #renderImage(id: number, state: PageState): Promise<void> {
    const stale = () => id !== this.#renderId;
    let shell = this.#root.querySelector<HTMLElement>(".image");
    if (!shell || shell.dataset.image !== state.image) {
      shell = h(
        "section",
        { class: "image", "data-image": state.image },
        h("div", { class: "image-head" }, h("h1", {}, state.image!), h("p", { class: "muted" }, "Opening…")),
        h("div", { class: "view", "aria-busy": "true" }),
      );
      replace(this.#root, shell);
      this.#tree = undefined;
      this.#treeKey = "";
    }
    document.title = `${state.image} — tug`;
    const resolved = await this.#resolve(state);
    if (stale()) return;
    const { ref, parsed } = resolved;
    let descriptor: Descriptor | undefined;
    let index: ImageIndex | undefined;
    if (parsed.kind === "index") {
      index = parsed.index;
      if (state.platform) {
        descriptor = selectManifest(index, parsePlatform(state.platform));
      }
    } else {
      descriptor = resolved.descriptor;
    }
    const image = descriptor ? await this.#image(state, ref, descriptor) : undefined;
    if (stale()) return;
    const view: View = !image ? "manifest" : state.view ?? "layers";
    this.#renderHead(shell, state, resolved, index, image);
    const body = shell.querySelector<HTMLElement>(".view")!;
    body.removeAttribute("aria-busy");
    if (view !== "files") this.#abortJob();
    if (!image) {
      // An index without a platform picked: its manifest, and the platforms to choose from above.
      this.#tree = undefined;
      replace(body, this.#manifestView(state, ref, parsed.bytes, index));
      return;
    }
    switch (view) {
      case "layers":
        replace(body, this.#layersView(state, image));
        break;
      case "config":
        replace(body, this.#configView(image));
        break;
      case "history":
        replace(body, this.#historyView(state, image));
        break;
      case "manifest":
        replace(body, this.#manifestView(state, ref, image.manifestBytes, undefined));
        break;
      case "files":
        await this.#filesView(id, body, state, ref, image);
        break;
    }
  }

  #renderHead(
    shell: HTMLElement,
    state: PageState,
    resolved: Resolved,
    index: ImageIndex | undefined,
    image: ImageData | undefined,
  ): void {
    const head = shell.querySelector<HTMLElement>(".image-head")!;
    const total = image ? image.manifest.layers.reduce((n, l) => n + l.size, 0) : 0;
    const facts: Array<HTMLElement | null> = [
      h(
        "span",
        {},
        h("span", { class: "muted" }, "digest "),
        h("code", { title: resolved.descriptor.digest }, shortDigest(resolved.descriptor.digest)),
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
    const platforms = index ? this.#platformPicker(state, index) : null;
    const tabs = image
      ? h(
        "nav",
        { class: "tabs", "aria-label": "Views" },
        VIEWS.map((view) => {
          const current = (state.view ?? "layers") === view;
          return h("a", {
            href: this.href({
              ...state,
              view,
              ...(view === "files" ? {} : { path: undefined, filter: undefined }),
            }),
            "aria-current": current ? "page" : undefined,
            "data-view": view,
          }, VIEW_LABELS[view]);
        }),
      )
      : null;
    replace(
      head,
      h("h1", {}, resolved.ref.familiar),
      h("p", { class: "facts" }, facts),
      platforms,
      tabs,
    );
  }

  #platformPicker(state: PageState, index: ImageIndex): HTMLElement {
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
            href: this.href({ ...this.#keep(), image: state.image, platform, view: state.view }),
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

  #layersView(state: PageState, image: ImageData): HTMLElement {
    const layers = image.manifest.layers;
    const total = layers.reduce((n, l) => n + l.size, 0) || 1;
    const diffIds = image.config.rootfs?.diff_ids ?? [];
    const rows = layers.map((layer, i) =>
      h(
        "tr",
        { "data-layer": layer.digest },
        h("td", { class: "num" }, i + 1),
        h(
          "td",
          {},
          h("a", {
            href: this.href({ ...state, view: "files", layer: layer.digest, path: undefined }),
            title: layer.digest,
          }, h("code", {}, shortDigest(layer.digest))),
          h(
            "div",
            { class: "muted small" },
            "diffID ",
            h("code", { title: diffIds[i] ?? "" }, diffIds[i] ? shortDigest(diffIds[i]) : "—"),
          ),
        ),
        h("td", { class: "mediatype" }, layer.mediaType),
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
          href: this.href({ ...state, view: "files", layer: "merged", path: undefined }),
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

  #configView(image: ImageData): HTMLElement {
    const c = image.config.config ?? {};
    const list = (values: readonly string[] | null | undefined) =>
      values && values.length > 0
        ? h("code", {}, JSON.stringify(values))
        : h("span", { class: "muted" }, "—");
    const rows: Array<[string, HTMLElement | string]> = [
      ["Entrypoint", list(c.Entrypoint)],
      ["Cmd", list(c.Cmd)],
      ["Working dir", c.WorkingDir ? h("code", {}, c.WorkingDir) : h("span", { class: "muted" }, "/")],
      ["User", c.User ? h("code", {}, c.User) : h("span", { class: "muted" }, "root (not set)")],
      ["Exposed ports", Object.keys(c.ExposedPorts ?? {}).join(", ") || "—"],
      ["Volumes", Object.keys(c.Volumes ?? {}).join(", ") || "—"],
      ["Stop signal", c.StopSignal ?? "—"],
      ["Platform", formatPlatform(image.config as { os: string; architecture: string; variant?: string })],
      ["Created", image.config.created ?? "—"],
    ];
    const env = (c.Env ?? []).map((line) => {
      const eq = line.indexOf("=");
      return h(
        "tr",
        {},
        h("th", {}, h("code", {}, eq < 0 ? line : line.slice(0, eq))),
        h("td", {}, h("code", {}, eq < 0 ? "" : line.slice(eq + 1))),
      );
    });
    const labels = Object.entries(c.Labels ?? {}).map(([k, v]) =>
      h("tr", {}, h("th", {}, h("code", {}, k)), h("td", {}, v))
    );
    return h(
      "div",
      { class: "config" },
      h("dl", { class: "facts-list" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      h("h2", {}, "Environment"),
      env.length
        ? h("div", { class: "scroll" }, h("table", { class: "kv" }, h("tbody", {}, env)))
        : h("p", { class: "muted" }, "No variables."),
      h("h2", {}, "Labels"),
      labels.length
        ? h("div", { class: "scroll" }, h("table", { class: "kv" }, h("tbody", {}, labels)))
        : h("p", { class: "muted" }, "No labels."),
      h(
        "details",
        {},
        h("summary", {}, "Raw config JSON"),
        h("pre", { class: "json" }, prettyJson(image.configBytes)),
      ),
    );
  }

  #historyView(state: PageState, image: ImageData): HTMLElement {
    let layer = 0;
    const layers = image.manifest.layers;
    const rows = (image.config.history ?? []).map((step, i) => {
      const own = step.empty_layer ? undefined : layers[layer++];
      return h(
        "tr",
        { class: step.empty_layer ? "empty-layer" : "" },
        h("td", { class: "num" }, i + 1),
        h(
          "td",
          { class: "nowrap" },
          step.created ? step.created.replace("T", " ").replace(/\.\d+|Z$/g, "") : "",
        ),
        h(
          "td",
          {},
          h("code", { class: "created-by" }, step.created_by ?? ""),
          step.comment ? h("div", { class: "muted small" }, step.comment) : null,
        ),
        h(
          "td",
          { class: "nowrap" },
          step.empty_layer ? h("span", { class: "muted" }, "empty layer") : own
            ? h(
              "a",
              { href: this.href({ ...state, view: "files", layer: own.digest, path: undefined }) },
              formatBytes(own.size),
            )
            : "",
        ),
      );
    });
    if (rows.length === 0) return h("p", { class: "muted" }, "The config records no history.");
    return h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "history" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", {}, "#"),
            h("th", {}, "Created"),
            h("th", {}, "Created by"),
            h("th", {}, "Layer"),
          ),
        ),
        h("tbody", {}, rows),
      ),
    );
  }

  #manifestView(
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
          ? this.href({ ...this.#keep(), image: state.image, platform })
          : this.href({ ...this.#keep(), image: `${ref.name}@${digest}` });
      }
      if (layerDigests.has(digest)) {
        return this.href({ ...state, view: "files", layer: digest, path: undefined });
      }
      return this.href({ ...state, view: "config" });
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

  #abortJob(): void {
    this.#job?.controller.abort(new TugError("ABORTED", "The view changed"));
    this.#job = undefined;
  }

  /** Lists a layer (from the cache or the registry), with progress; the job is shared by re-renders. */
  #listLayer(state: PageState, ref: Reference, layer: Descriptor, job: Job): Promise<TarHeader[]> {
    const known = this.#listings.get(layer.digest);
    if (known) return Promise.resolve(known);
    const source = this.#source(state);
    return (async () => {
      const base = job.bytes;
      const blob = await source.blob(ref, layer, {
        signal: job.controller.signal,
        onBytes: (n) => {
          job.bytes = base + n;
          this.#progress(job);
        },
      });
      job.label = blob.cached ? "Reading from this browser's cache" : "Downloading and verifying";
      this.#progress(job);
      const entries = await listEntries(blob.stream, {
        signal: job.controller.signal,
        onEntries: (n) => {
          job.entries = n;
          this.#progress(job);
        },
      });
      // The listing counts only once the whole blob was verified (and cached).
      await blob.done;
      this.#listings.set(layer.digest, entries);
      return entries;
    })();
  }

  #startJob(key: string, state: PageState, ref: Reference, image: ImageData): Job {
    const layers = image.manifest.layers;
    const controller = new AbortController();
    const merged = key.startsWith("merged:");
    const targets = merged ? layers : layers.filter((l) => l.digest === state.layer);
    const job: Job = {
      key,
      controller,
      bytes: 0,
      total: targets.reduce((n, l) => n + l.size, 0),
      entries: 0,
      label: "Starting",
      promise: Promise.resolve(undefined as unknown as FileTree),
    };
    (job as { promise: Promise<FileTree> }).promise = (async () => {
      if (!merged) {
        const layer = targets[0];
        if (!layer) throw new TugError("NOT_FOUND", `The image has no layer ${state.layer}`);
        return treeOfLayer(await this.#listLayer(state, ref, layer, job));
      }
      const merge = mergeLayers();
      let done = 0;
      for (const [i, layer] of layers.entries()) {
        const entries = await this.#listLayer(state, ref, layer, job);
        done += layer.size;
        job.bytes = done;
        for (const entry of entries) merge.add(i, entry);
      }
      return treeOfMerged(merge.files());
    })();
    job.promise.catch(() => {});
    return job;
  }

  #progress(job: Job): void {
    if (this.#job !== job) return;
    const box = this.#root.querySelector<HTMLElement>(".progress");
    if (!box) return;
    box.classList.add("active");
    const bar = box.querySelector("progress")!;
    bar.max = job.total || 1;
    bar.value = Math.min(job.bytes, job.total);
    box.querySelector(".progress-text")!.textContent = `${job.label}: ${formatBytes(job.bytes)} of ${
      formatBytes(job.total)
    } · ${job.entries} entries`;
  }

  async #filesView(
    id: number,
    body: HTMLElement,
    state: PageState,
    ref: Reference,
    image: ImageData,
  ): Promise<void> {
    const layers = image.manifest.layers;
    const chosen = state.layer;
    const key = chosen === "merged" ? `merged:${image.descriptor.digest}` : chosen ? `layer:${chosen}` : "";
    const layerIndex = layers.findIndex((l) => l.digest === chosen);
    const labels = layers.map((l, i) => `#${i + 1} ${shortDigest(l.digest).slice(0, 7)}`);
    const source = this.#source(state);
    // The frame (picker, progress line, filter, tree, viewer) keeps its place while a layer streams in.
    let frame = body.querySelector<HTMLElement>(".files");
    if (!frame || frame.dataset.key !== key) {
      const picker = h(
        "select",
        {
          id: "layer-select",
          "aria-label": "Layer to browse",
          onchange: (event: Event) => {
            const value = (event.target as HTMLSelectElement).value;
            this.navigate({ ...this.state, layer: value || undefined, path: undefined, filter: undefined });
          },
        },
        h("option", { value: "" }, "Choose a layer…"),
        h("option", { value: "merged" }, "Whole image (all layers merged)"),
        layers.map((l, i) =>
          h(
            "option",
            { value: l.digest },
            `Layer ${i + 1}: ${shortDigest(l.digest)} · ${formatBytes(l.size)}`,
          )
        ),
      );
      picker.value = chosen && (chosen === "merged" || layerIndex >= 0) ? chosen : "";
      const filter = h("input", {
        id: "tree-filter",
        type: "search",
        placeholder: "Filter paths",
        "aria-label": "Filter paths",
        value: state.filter ?? "",
        disabled: true,
      });
      filter.addEventListener("input", () => {
        this.#tree?.setFilter(filter.value);
        this.navigate({ ...this.state, filter: filter.value || undefined }, { replace: true, render: false });
      });
      const downloadLayer = layerIndex >= 0
        ? h("button", {
          id: "download-layer",
          type: "button",
          onclick: () => this.#downloadLayer(source, ref, layers[layerIndex]),
        }, "Download layer")
        : null;
      frame = h(
        "div",
        { class: "files", "data-key": key },
        h("div", { class: "files-bar" }, picker, filter, downloadLayer),
        h(
          "div",
          { class: "progress", "aria-live": "polite" },
          h("progress", { max: 1, value: 0, "aria-label": "Reading the layer" }),
          h("span", { class: "progress-text" }, ""),
          h("button", { type: "button", class: "cancel", onclick: () => this.#cancel() }, "Cancel"),
        ),
        h(
          "div",
          { class: "browser" },
          h(
            "div",
            { class: "tree-box" },
            h(
              "p",
              { class: "muted" },
              key
                ? "Reading the layer…"
                : "Choose a layer above to see its files, or the whole image merged.",
            ),
          ),
          h("div", { class: "viewer", id: "file-view", "aria-live": "polite" }),
        ),
      );
      replace(body, frame);
      this.#tree = undefined;
      this.#treeKey = "";
    }
    if (!key) return;
    if (chosen !== "merged" && layerIndex < 0) {
      throw new TugError("NOT_FOUND", `The image has no layer ${chosen}`);
    }
    let tree = this.#trees.get(key);
    if (!tree) {
      if (this.#job?.key !== key) {
        this.#abortJob();
        this.#job = this.#startJob(key, state, ref, image);
      }
      const job = this.#job!;
      this.#progress(job);
      try {
        tree = await job.promise;
      } catch (err) {
        if (this.#job === job) this.#job = undefined;
        if (id !== this.#renderId) return;
        frame.querySelector(".progress")?.classList.remove("active");
        const explained = explainError(err, {
          image: state.image,
          where: this.#where(state),
          direct: source.mode.kind === "direct",
        });
        replace(
          frame.querySelector(".tree-box")!,
          h(
            "div",
            { class: "error", role: "alert" },
            h("h2", {}, explained.title),
            h("p", {}, explained.hint),
            isTugError(err, "ABORTED") ? null : h("p", { class: "detail" }, explained.detail),
            h("button", { type: "button", onclick: () => this.render() }, "Read it again"),
          ),
        );
        return;
      }
      if (this.#job === job) this.#job = undefined;
      this.#trees.set(key, tree);
    }
    if (id !== this.#renderId) return;
    frame.querySelector(".progress")?.classList.remove("active");
    const counts = frame.querySelector<HTMLElement>(".progress-text")!;
    counts.textContent = `${tree.entries} entries · ${formatBytes(tree.root.total)} in files${
      tree.whiteouts ? ` · ${tree.whiteouts} whiteouts` : ""
    }`;
    if (!this.#tree || this.#treeKey !== key) {
      this.#tree = new TreeView(tree, {
        merged: key.startsWith("merged:"),
        layerLabels: labels,
        onSelect: (node) => {
          this.navigate({ ...this.state, path: node.path }, { render: false });
          this.#showFile(this.state, ref, image, tree!, node);
        },
      });
      this.#treeKey = key;
      replace(frame.querySelector(".tree-box")!, this.#tree.element);
      const filter = frame.querySelector<HTMLInputElement>("#tree-filter")!;
      filter.disabled = false;
      if (filter.value) this.#tree.setFilter(filter.value);
    }
    const node = state.path ? findNode(tree.root, state.path) : undefined;
    if (state.path && node && this.#tree.selected !== state.path) this.#tree.select(state.path);
    if (node) this.#showFile(state, ref, image, tree, node);
    else if (state.path) {
      replace(
        frame.querySelector("#file-view")!,
        h("p", { class: "error" }, `There is no ${state.path} in this view.`),
      );
    } else {
      replace(
        frame.querySelector("#file-view")!,
        h("p", { class: "muted" }, "Select a file to see its details and content."),
      );
    }
  }

  #cancel(): void {
    this.#abortJob();
  }

  /** Shows a node's details, and a file's content (re-read from the cached layer, up to a cap). */
  #showFile(state: PageState, ref: Reference, image: ImageData, tree: FileTree, node: TreeNode): void {
    const viewerId = ++this.#viewerId;
    const box = this.#root.querySelector<HTMLElement>("#file-view");
    if (!box) return;
    const entry = node.entry;
    const layers = image.manifest.layers;
    const layerIndex = node.layer ?? layers.findIndex((l) => l.digest === state.layer);
    const layer = layers[layerIndex];
    const source = this.#source(state);
    const facts: Array<[string, string | HTMLElement]> = [];
    if (entry) {
      facts.push(["Type", entry.type]);
      facts.push([
        "Mode",
        h(
          "code",
          {},
          `${formatMode(entry.type, entry.mode)} (${(entry.mode & 0o7777).toString(8).padStart(4, "0")})`,
        ),
      ]);
      facts.push([
        "Owner",
        `${entry.uname || entry.uid}:${entry.gname || entry.gid} (${entry.uid}:${entry.gid})`,
      ]);
      if (entry.type === "file") facts.push(["Size", `${formatBytes(entry.size)} (${entry.size} bytes)`]);
      if (entry.linkname) {
        facts.push([entry.type === "symlink" ? "Points to" : "Same file as", h("code", {}, entry.linkname)]);
      }
      facts.push(["Modified", formatTime(entry.mtime)]);
    } else {
      facts.push(["Type", "directory (implied by its contents)"]);
    }
    if (node.children) facts.push(["Contains", `${node.children.size} entries · ${formatBytes(node.total)}`]);
    if (node.layer !== undefined && layer) {
      facts.push(["From layer", `#${node.layer + 1} ${shortDigest(layer.digest)}`]);
    }
    const content = h("div", { class: "content" });
    const isFile = entry?.type === "file" || entry?.type === "hardlink";
    const download = isFile && layer
      ? h("button", {
        id: "download-file",
        type: "button",
        onclick: () =>
          this.#downloadFile(source, ref, layer, entry!.type === "hardlink" ? entry!.linkname : node.path),
      }, "Download file")
      : null;
    replace(
      box,
      h("h2", { class: "path" }, "/" + node.path),
      h("dl", { class: "facts-list" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      download,
      content,
    );
    if (!isFile || !layer) return;
    const target = entry!.type === "hardlink" ? entry!.linkname : node.path;
    replace(content, h("p", { class: "muted" }, "Reading…"));
    (async () => {
      const blob = await source.blob(ref, layer);
      const limit = HEX_LIMIT > TEXT_LIMIT ? HEX_LIMIT : TEXT_LIMIT;
      const got = await extractFile(blob.stream, target, { limit });
      if (viewerId !== this.#viewerId) return;
      const size = got.entry.size;
      if (size === 0) {
        replace(content, h("p", { class: "muted" }, "The file is empty."));
        return;
      }
      if (looksLikeText(got.data)) {
        const capped = got.truncated;
        replace(
          content,
          capped
            ? h(
              "p",
              { class: "note" },
              `This file is ${formatBytes(size)}; the viewer shows its first ${
                formatBytes(got.data.length)
              }. Download it to see all of it.`,
            )
            : null,
          h(
            "pre",
            { class: "file-text", tabindex: 0, "aria-label": `Content of ${node.path}` },
            new TextDecoder().decode(got.data),
          ),
        );
      } else {
        const shown = got.data.subarray(0, HEX_LIMIT);
        replace(
          content,
          h(
            "p",
            { class: "note" },
            size > shown.length
              ? `Binary file of ${formatBytes(size)}: showing the first ${
                formatBytes(shown.length)
              } as hex. Download it to see all of it.`
              : `Binary file of ${formatBytes(size)}, shown as hex.`,
          ),
          h("pre", { class: "hex", tabindex: 0, "aria-label": `Hex dump of ${node.path}` }, hexDump(shown)),
        );
      }
    })().catch((err) => {
      if (viewerId !== this.#viewerId) return;
      const explained = explainError(err, {
        image: state.image,
        where: this.#where(state),
        direct: source.mode.kind === "direct",
      });
      replace(
        content,
        h(
          "div",
          { class: "error", role: "alert" },
          h("p", {}, explained.title),
          h("p", { class: "detail" }, explained.detail),
        ),
      );
    });
    void tree;
  }

  async #downloadFile(source: ImageSource, ref: Reference, layer: Descriptor, path: string): Promise<void> {
    const status = this.#root.querySelector<HTMLElement>("#file-view .content");
    try {
      const blob = await source.blob(ref, layer);
      const file = await collect(fileChunks(blob.stream, path));
      save(file, path.slice(path.lastIndexOf("/") + 1) || "file");
    } catch (err) {
      if (status) {
        replace(
          status,
          h(
            "p",
            { class: "error", role: "alert" },
            `Cannot download /${path}: ${err instanceof Error ? err.message : err}`,
          ),
        );
      }
    }
  }

  async #downloadLayer(source: ImageSource, ref: Reference, layer: Descriptor): Promise<void> {
    try {
      const blob = await source.blob(ref, layer);
      const reader = blob.stream.getReader();
      const file = await collect((async function* () {
        for (;;) {
          const r = await reader.read();
          if (r.done) return;
          yield r.value.slice();
        }
      })());
      await blob.done;
      const compression = layerCompression(layer.mediaType);
      const ext = compression === "gzip" ? ".tar.gz" : compression === "zstd" ? ".tar.zst" : ".tar";
      save(file, `${shortDigest(layer.digest)}${ext}`);
    } catch (err) {
      const explained = explainError(err, { image: this.state.image, where: this.#where(this.state) });
      alert(`${explained.title}\n${explained.detail}`);
    }
  }
}

/** Gathers chunks into a Blob, folding them in every 8 MiB so the JS heap holds one slice at a time. */
async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Blob> {
  let blob = new Blob([]);
  let pending: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    pending.push(chunk as Uint8Array<ArrayBuffer>);
    size += chunk.length;
    if (size >= 8 * 1024 * 1024) {
      blob = new Blob([blob, ...pending]);
      pending = [];
      size = 0;
    }
  }
  return new Blob([blob, ...pending], { type: "application/octet-stream" });
}

/** Saves a Blob as a download named `name`. */
function save(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function prettyJson(bytes: Uint8Array): string {
  const text = new TextDecoder().decode(bytes);
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

const DIGEST_VALUE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

/** Renders JSON as indented text with every digest value a link. */
function jsonNodes(value: unknown, depth: number, link: (digest: string) => string): Array<Node | string> {
  const pad = "  ".repeat(depth);
  const inner = "  ".repeat(depth + 1);
  if (Array.isArray(value)) {
    if (value.length === 0) return ["[]"];
    const out: Array<Node | string> = ["[\n"];
    value.forEach((item, i) => {
      out.push(inner, ...jsonNodes(item, depth + 1, link), i < value.length - 1 ? ",\n" : "\n");
    });
    out.push(pad, "]");
    return out;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) return ["{}"];
    const out: Array<Node | string> = ["{\n"];
    entries.forEach(([key, item], i) => {
      out.push(inner, h("span", { class: "key" }, JSON.stringify(key)), ": ");
      if (typeof item === "string" && DIGEST_VALUE.test(item)) {
        out.push(h("a", { href: link(item), class: "digest" }, JSON.stringify(item)));
      } else {
        out.push(...jsonNodes(item, depth + 1, link));
      }
      out.push(i < entries.length - 1 ? ",\n" : "\n");
    });
    out.push(pad, "}");
    return out;
  }
  return [h("span", { class: typeof value === "string" ? "str" : "lit" }, JSON.stringify(value))];
}
