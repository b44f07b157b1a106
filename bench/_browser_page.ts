// This module is browser compatible.
/**
 * The in-page half of the browser pair (bundled for Chromium by bench/_browser.ts): the layer blob is fetched
 * once into a Blob, then each run reads `blob.stream()`, so both sides measure decompression and parsing,
 * not the loopback. `window.tugBench` is what the driver calls.
 *
 * @module
 */

import { listLayerFiles } from "../src/image/layer_files.ts";

let blob: Blob | undefined;

/** The functions the driver calls through `page.evaluate`. */
export interface BenchPage {
  /** Fetches the blob; returns its size. */
  load(url: string): Promise<number>;
  /** Lists the layer's files with tug; returns milliseconds and the entry count. */
  tug(): Promise<{ ms: number; entries: number }>;
  /** Drains a bare DecompressionStream over the same bytes; returns milliseconds and the tar size. */
  native(): Promise<{ ms: number; bytes: number }>;
}

const page: BenchPage = {
  async load(url) {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
    blob = await res.blob();
    return blob.size;
  },
  async tug() {
    const started = performance.now();
    const files = await listLayerFiles(blob!.stream(), "application/vnd.oci.image.layer.v1.tar+gzip");
    return { ms: performance.now() - started, entries: files.length };
  },
  async native() {
    const started = performance.now();
    const reader = blob!.stream().pipeThrough(new DecompressionStream("gzip")).getReader();
    let bytes = 0;
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
    }
    return { ms: performance.now() - started, bytes };
  },
};

(globalThis as unknown as { tugBench: BenchPage }).tugBench = page;
