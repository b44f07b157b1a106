/// <reference lib="dom" />
/**
 * The diff view (`?image=A&diff=B`): the paths added, removed and changed from image A to image B, with
 * sizes, computed by {@linkcode diffImages} from both images' layer listings. Without `diff`, a form asks
 * for the image to compare with.
 *
 * @module
 */

import type { Reference, TarHeader } from "../../../src/mod.ts";
import type { ImageData, PageContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { formatBytes, formatMode } from "../format.ts";
import { type DiffEntry, diffImages } from "../image_diff.ts";
import type { PageState } from "../url_state.ts";
import type { FilesView } from "./files.ts";
import { readingLine } from "./analysis.ts";

/** Most paths listed: more would only slow the page; the counts say how many there are. */
const LIST_LIMIT = 1000;

/** Opens the other image of a diff: its reference and platform image (the platform of the first). */
export type OpenOther = (state: PageState, like: ImageData) => Promise<{ ref: Reference; image: ImageData }>;

/**
 * Renders the diff of `image` against `state.diff` into `body`.
 *
 * @example
 * ```ts ignore
 * await renderDiff(ctx, body, state, ref, image, files, open, () => id !== renderId);
 * ```
 */
export async function renderDiff(
  ctx: PageContext,
  body: HTMLElement,
  state: PageState,
  ref: Reference,
  image: ImageData,
  files: FilesView,
  open: OpenOther,
  stale: () => boolean,
): Promise<void> {
  const input = h("input", {
    id: "diff-input",
    type: "text",
    placeholder: "Image to compare with (name:tag)",
    "aria-label": "Image to compare with",
    value: state.diff ?? "",
  });
  const form = h(
    "form",
    { class: "diff-form" },
    h("label", { for: "diff-input" }, "Compare with "),
    input,
    h("button", { type: "submit" }, "Compare"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const other = input.value.trim();
    if (other) ctx.navigate({ ...ctx.state, view: "diff", diff: other });
  });
  const out = h("div", { class: "diff-body" });
  replace(body, h("div", { class: "diff" }, form, out));
  if (!state.diff) return;
  const otherState: PageState = { image: state.diff, registry: state.registry };
  const progress = readingLine(out, "Reading both images' layers");
  const other = await open(otherState, image);
  if (stale()) return;
  const total = image.manifest.layers.reduce((n, l) => n + l.size, 0);
  const mine = await files.listAll(state, ref, image, { onProgress: (b) => progress(b, total * 2) });
  const theirs = await files.listAll(otherState, other.ref, other.image, {
    onProgress: (b) => progress(total + b, total * 2),
  });
  if (stale()) return;
  const diff = diffImages(
    { layers: mine, digests: image.manifest.layers.map((l) => l.digest) },
    { layers: theirs, digests: other.image.manifest.layers.map((l) => l.digest) },
  );
  const shared =
    image.manifest.layers.filter((l) => other.image.manifest.layers.some((o) => o.digest === l.digest))
      .length;
  const size = (entry: TarHeader | undefined) => entry?.type === "file" ? formatBytes(entry.size) : "";
  const describe = (entry: TarHeader | undefined) =>
    entry
      ? `${formatMode(entry.type, entry.mode)} ${entry.uid}:${entry.gid}${
        entry.linkname ? ` → ${entry.linkname}` : ""
      }`
      : "";
  const row = (entry: DiffEntry) =>
    h(
      "tr",
      { class: entry.kind, "data-path": entry.path },
      h(
        "td",
        { class: "mark", title: entry.kind },
        entry.kind === "added" ? "+" : entry.kind === "removed" ? "−" : "~",
      ),
      h("td", {}, h("code", {}, entry.path)),
      h("td", { class: "num" }, size(entry.before)),
      h("td", { class: "num" }, size(entry.after)),
      h("td", { class: "small" }, entry.reasons.join(", ")),
      h(
        "td",
        { class: "small muted" },
        entry.kind === "changed"
          ? `${describe(entry.before)} ⇒ ${describe(entry.after)}`
          : describe(entry.before ?? entry.after),
      ),
    );
  replace(
    out,
    h(
      "p",
      { class: "diff-summary" },
      `${state.image} → ${state.diff}: `,
      h("span", { class: "added" }, `${diff.counts.added} added`),
      ", ",
      h("span", { class: "removed" }, `${diff.counts.removed} removed`),
      ", ",
      h("span", { class: "modified" }, `${diff.counts.changed} changed`),
      ` · files ${formatBytes(diff.sizes.before)} → ${
        formatBytes(diff.sizes.after)
      } · ${shared} of ${image.manifest.layers.length} layers shared`,
    ),
    h(
      "p",
      { class: "muted small" },
      "Changed compares the entry type, file size, mode, owner and link target (not times). Paths from a layer " +
        `both images share are the same; ${diff.unverified} files with the same header from different layers ` +
        "were not compared byte by byte.",
    ),
    diff.entries.length === 0 ? h("p", { class: "muted" }, "The two images have the same files.") : h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "diff-table" },
        h(
          "thead",
          {},
          h("tr", {}, ["", "Path", "Before", "After", "What changed", "Entry"].map((t) => h("th", {}, t))),
        ),
        h("tbody", {}, diff.entries.slice(0, LIST_LIMIT).map(row)),
      ),
    ),
    diff.entries.length > LIST_LIMIT
      ? h("p", { class: "muted" }, `Showing the first ${LIST_LIMIT} of ${diff.entries.length} paths.`)
      : null,
  );
}
