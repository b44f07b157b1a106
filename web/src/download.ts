/// <reference lib="dom" />
/**
 * Downloads from the page: a file out of a layer, or a whole layer blob, saved as a browser download.
 *
 * @module
 */

import type { Descriptor, Reference } from "../../src/mod.ts";
import { layerCompression } from "../../src/manifest/mod.ts";
import type { PageContext } from "./context.ts";
import { h, replace } from "./dom.ts";
import { explainError } from "./explain_error.ts";
import { shortDigest } from "./format.ts";
import type { ImageSource } from "./image_source.ts";
import { fileChunks } from "./layer_reader.ts";

/**
 * Saves the file at `path` of `layer` as a download; a failure is shown in the file viewer's content box.
 *
 * @example
 * ```ts ignore
 * await downloadFile(ctx, source, ref, layer, "etc/os-release");
 * ```
 */
export async function downloadFile(
  ctx: PageContext,
  source: ImageSource,
  ref: Reference,
  layer: Descriptor,
  path: string,
): Promise<void> {
  const status = ctx.root.querySelector<HTMLElement>("#file-view .content");
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

/**
 * Saves `layer`'s blob, verified, as `DIGEST.tar[.gz|.zst]`; a failure is shown in an alert.
 *
 * @example
 * ```ts ignore
 * await downloadLayer(ctx, source, ref, image.manifest.layers[0]);
 * ```
 */
export async function downloadLayer(
  ctx: PageContext,
  source: ImageSource,
  ref: Reference,
  layer: Descriptor,
): Promise<void> {
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
    const explained = explainError(err, { image: ctx.state.image, where: ctx.where(ctx.state) });
    alert(`${explained.title}\n${explained.detail}`);
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
