/**
 * Reads layer blobs for the page with the core's image code: decompression (gzip, zstd) and the streaming
 * tar reader. Listing keeps headers only; extracting re-reads the blob and keeps one file's bytes, up to a cap.
 *
 * @module
 */

import type { TarHeader } from "../../src/mod.ts";
import { decompressLayer } from "../../src/image/mod.ts";
import { TugError } from "../../src/errors.ts";
import { headerOf, normalizeTarPath, readTar } from "../../src/image/mod.ts";
import { parseDigest } from "../../src/digest/parse_digest.ts";
import { wasmHasher } from "../../src/digest/wasm_hasher.ts";

/** Whether a tar member name is the normalized `path` (`./etc/x`, `etc/x` and `etc/x/` are all `etc/x`). */
function isPath(name: string, path: string): boolean {
  return name === path || normalizeTarPath(name).path === path;
}

/** Stops a stream when `signal` aborts, with a TugError ABORTED (the reader sees it as the stream's error). */
function abortable(stream: ReadableStream<Uint8Array>, signal?: AbortSignal): ReadableStream<Uint8Array> {
  if (!signal) return stream;
  let tap: TransformStreamDefaultController<Uint8Array> | undefined;
  const onAbort = () => tap?.error(new TugError("ABORTED", "Stopped", { cause: signal.reason }));
  signal.addEventListener("abort", onAbort, { once: true });
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(controller) {
        tap = controller;
        if (signal.aborted) onAbort();
      },
      transform(chunk, controller) {
        controller.enqueue(chunk);
      },
      flush() {
        signal.removeEventListener("abort", onAbort);
      },
    }),
  );
}

/**
 * Lists a layer's entries as they stream in; `onEntries` is called with each new batch (at most every
 * 100 ms) so the page can show a count while the blob is still arriving.
 *
 * @example
 * ```ts
 * import { listEntries } from "./layer_reader.ts";
 *
 * const blob = new Response(new Uint8Array(1024)).body!.pipeThrough(new CompressionStream("gzip"));
 * console.assert((await listEntries(blob)).length === 0);
 * ```
 */
export async function listEntries(
  blob: ReadableStream<Uint8Array>,
  options: {
    signal?: AbortSignal;
    onEntries?: (count: number) => void;
    /**
     * The diffID the image config lists for this layer: the uncompressed tar is hashed as it is listed, and
     * a layer that hashes to anything else fails with `LAYERS_MISMATCH` (Docker's errRootFSMismatch).
     */
    diffId?: string;
  } = {},
): Promise<TarHeader[]> {
  const entries: TarHeader[] = [];
  let reported = 0;
  const decompressed = decompressLayer(abortable(blob, options.signal), "auto", { signal: options.signal });
  const expected = options.diffId;
  const hash = expected === undefined ? undefined : await wasmHasher(parseDigest(expected).algorithm);
  const source = decompressed.getReader();
  // The tar reader stops at the end-of-archive blocks and cancels its input; this wrapper keeps the layer
  // stream so the bytes after those blocks are hashed too, as Docker hashes the whole stream.
  const tar = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await source.read();
      if (r.done) return controller.close();
      hash?.update(r.value);
      controller.enqueue(r.value);
    },
  }, { highWaterMark: 0 });
  try {
    for await (const entry of readTar(tar)) {
      entries.push(headerOf(entry));
      const now = Date.now();
      if (options.onEntries && now - reported > 100) {
        reported = now;
        options.onEntries(entries.length);
      }
    }
    if (hash) {
      for (;;) {
        const r = await source.read();
        if (r.done) break;
        hash.update(r.value);
      }
      const actual = `${parseDigest(expected!).algorithm}:${hash.digest()}`;
      if (actual !== expected) {
        throw new TugError(
          "LAYERS_MISMATCH",
          `layers from manifest don't match image configuration: the layer decompresses to ${actual}, ` +
            `the config says ${expected}`,
          { detail: { expected, actual } },
        );
      }
    }
  } catch (err) {
    await source.cancel(err).catch(() => {});
    throw err;
  }
  options.onEntries?.(entries.length);
  return entries;
}

/** One file's bytes taken out of a layer. */
export interface Extracted {
  /** The entry. */
  readonly entry: TarHeader;
  /** Its data, or its first `limit` bytes. */
  readonly data: Uint8Array;
  /** True when the file is larger than the limit and `data` holds only the start. */
  readonly truncated: boolean;
}

/**
 * Reads the first `keep` bytes of an entry's body into one buffer (fewer when the body ends sooner), and lets
 * go of the body without reading the rest.
 */
export async function readPrefix(body: ReadableStream<Uint8Array>, keep: number): Promise<Uint8Array> {
  const data = new Uint8Array(keep);
  let at = 0;
  const reader = body.getReader();
  while (at < keep) {
    const r = await reader.read();
    if (r.done) break;
    const take = Math.min(r.value.length, keep - at);
    data.set(r.value.subarray(0, take), at);
    at += take;
  }
  reader.releaseLock();
  return data.subarray(0, at);
}

/**
 * Finds the entry at `name` (a normalized path, or the name as stored in the tar) and returns its first `limit` bytes (all of them
 * when `limit` is Infinity). The blob is read up to that entry only, then cancelled.
 *
 * @example
 * ```ts ignore
 * const { data } = await extractFile(await store.blobs.get(digest), "./etc/hostname", { limit: 1 << 20 });
 * ```
 */
export async function extractFile(
  blob: ReadableStream<Uint8Array>,
  name: string,
  options: { limit?: number; signal?: AbortSignal } = {},
): Promise<Extracted> {
  const limit = options.limit ?? Infinity;
  const tar = decompressLayer(abortable(blob, options.signal), "auto", { signal: options.signal });
  let found: Extracted | undefined;
  for await (const entry of readTar(tar)) {
    if (!isPath(entry.name, name)) continue;
    const keep = Math.min(entry.size, limit);
    found = {
      entry: headerOf(entry),
      data: await readPrefix(entry.body, keep),
      truncated: entry.size > keep,
    };
    // Later entries with the same name replace earlier ones in a tar; keep reading only when that matters
    // is not worth a second pass over a large layer: image builders write one entry per path.
    break;
  }
  if (!found) throw new TugError("NOT_FOUND", `The layer has no entry named "${name}"`);
  return found;
}

/**
 * Streams one file's bytes out of a layer (for a download), as a stream of copies of the tar data.
 *
 * @example
 * ```ts ignore
 * const blob = new Blob(await Array.fromAsync(fileChunks(await store.blobs.get(digest), "./bin/sh")));
 * ```
 */
export async function* fileChunks(
  blob: ReadableStream<Uint8Array>,
  name: string,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<Uint8Array> {
  const tar = decompressLayer(abortable(blob, options.signal), "auto", { signal: options.signal });
  for await (const entry of readTar(tar)) {
    if (!isPath(entry.name, name)) continue;
    // The tar reader's bodies are views into its chunks: copy each before the next read reuses nothing,
    // but a Blob built from them must own its bytes.
    for await (const chunk of entry.body) yield chunk.slice();
    return;
  }
  throw new TugError("NOT_FOUND", `The layer has no entry named "${name}"`);
}
