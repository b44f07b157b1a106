/// <reference lib="dom" />
/**
 * The file viewer beside the tree: a node's details, and a file's content re-read from the cached layer
 * (as text up to 1 MiB, else as a hex dump of up to 64 KiB).
 *
 * @module
 */

import type { Reference } from "../../../src/mod.ts";
import { parseWhiteout } from "../../../src/image/mod.ts";
import type { ImageData, PageContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { downloadFile } from "../download.ts";
import { explainError } from "../explain_error.ts";
import type { TreeNode } from "../file_tree.ts";
import { symlinkTarget } from "../links.ts";
import {
  countOf,
  formatBytes,
  formatMode,
  formatTime,
  hexDump,
  looksLikeText,
  shortDigest,
} from "../format.ts";
import { extractFile } from "../layer_reader.ts";
import { extractIndexed } from "../random_access.ts";
import type { PageState } from "../url_state.ts";

/** The most bytes the viewer shows as text. */
const TEXT_LIMIT = 1024 * 1024;
/** The most bytes the viewer shows as a hex dump. */
const HEX_LIMIT = 64 * 1024;

/**
 * Shows one node at a time in `#file-view`; a content read that a later {@linkcode FileViewer.show}
 * overtook is dropped.
 *
 * @example
 * ```ts ignore
 * const viewer = new FileViewer(ctx);
 * viewer.show(state, ref, image, node);
 * ```
 */
export class FileViewer {
  readonly #ctx: PageContext;
  #viewerId = 0;

  constructor(ctx: PageContext) {
    this.#ctx = ctx;
  }

  /** Shows a node's details, and a file's content (re-read from the cached layer, up to a cap). */
  show(state: PageState, ref: Reference, image: ImageData, node: TreeNode): void {
    const viewerId = ++this.#viewerId;
    const box = this.#ctx.root.querySelector<HTMLElement>("#file-view");
    if (!box) return;
    const entry = node.entry;
    const layers = image.manifest.layers;
    const layerIndex = node.layer ?? layers.findIndex((l) => l.digest === state.layer);
    const layer = layers[layerIndex];
    const source = this.#ctx.source(state);
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
        // A symlink's target is followed inside the image (relative to its folder; `/` is the image's root).
        const target = entry.type === "symlink" ? symlinkTarget(node.path, entry.linkname) : entry.linkname;
        facts.push([
          entry.type === "symlink" ? "Points to" : "Same file as",
          h(
            "a",
            { class: "follow", href: this.#ctx.href({ ...state, path: target || undefined }) },
            h("code", {}, entry.linkname),
          ),
        ]);
      }
      facts.push(["Modified", formatTime(entry.mtime)]);
    } else {
      facts.push(["Type", "directory (implied by its contents)"]);
    }
    if (node.children) {
      facts.push([
        "Contains",
        `${countOf(node.children.size, "entry", "entries")} · ${formatBytes(node.total)}`,
      ]);
    }
    if (node.layer !== undefined && layer) {
      facts.push(["From layer", `#${node.layer + 1} ${shortDigest(layer.digest)}`]);
    }
    const content = h("div", { class: "content" });
    // A whiteout is an empty file by its tar header; what it means is a deletion (image-spec layer.md
    // "Whiteouts"), so say what it deletes instead of showing its (empty) content.
    const whiteout = entry ? parseWhiteout(node.path) : undefined;
    if (whiteout) content.append(h("p", { class: "note whiteout-note" }, whiteoutSentence(whiteout)));
    const isFile = !whiteout && (entry?.type === "file" || entry?.type === "hardlink");
    const download = isFile && layer
      ? h("button", {
        id: "download-file",
        type: "button",
        onclick: () =>
          downloadFile(
            this.#ctx,
            source,
            ref,
            layer,
            entry!.type === "hardlink" ? entry!.linkname : node.path,
          ),
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
      const limit = HEX_LIMIT > TEXT_LIMIT ? HEX_LIMIT : TEXT_LIMIT;
      // A gzip layer indexed before: decompress from the checkpoint before the file, not from the start.
      const got =
        (entry?.type === "file"
          ? await extractIndexed(source.store, layer.digest, entry, limit)
          : undefined) ??
          await extractFile((await source.blob(ref, layer)).stream, target, { limit });
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
        where: this.#ctx.where(state),
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
  }
}

/** What a whiteout does, in words. */
function whiteoutSentence(w: NonNullable<ReturnType<typeof parseWhiteout>>): string {
  const dir = `/${w.dir}${w.dir ? "/" : ""}`;
  switch (w.kind) {
    case "whiteout":
      return `This whiteout deletes ${dir}${w.name} from the layers below.`;
    case "opaque":
      return `This opaque whiteout hides everything the layers below put in ${dir}.`;
    case "meta":
      return "This is AUFS metadata; Docker skips it when it unpacks the layer.";
    case "invalid":
      return `This whiteout is invalid and is refused when the layer is unpacked: ${w.reason}.`;
  }
}
