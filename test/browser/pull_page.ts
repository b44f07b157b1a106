/// <reference lib="dom" />
/**
 * Page script for test/browser_pull_test.ts: pulls an image with the core's `pull()` into an
 * {@linkcode IdbStore} inside Chromium, then reads every stored blob back and hashes it (WebCrypto, not the
 * core's hasher, so the check does not trust the code under test).
 *
 * @module
 */

import { createStore, keys } from "npm:idb-keyval@^6.3.0";
import { IdbStore } from "../../adapters/idb/mod.ts";
import { pull } from "../../src/mod.ts";

/**
 * What {@linkcode pullImage} saw.
 *
 * @example
 * ```ts
 * import type { PagePullReport } from "./pull_page.ts";
 *
 * const report: PagePullReport = {
 *   digest: "sha256:…",
 *   status: "Downloaded newer image for x",
 *   downloaded: true,
 *   again: { status: "Image is up to date for x", downloaded: false },
 *   manifests: [],
 *   blobs: [],
 *   references: [],
 *   chunks: 0,
 *   ms: 1,
 *   events: 0,
 * };
 * console.assert(report.downloaded);
 * ```
 */
export interface PagePullReport {
  /** The digest pull() returned. */
  digest: string;
  /** pull()'s status line. */
  status: string;
  /** Whether anything new came in. */
  downloaded: boolean;
  /** A second pull() of the same reference into the same store. */
  again: { status: string; downloaded: boolean };
  /** Digests of the image manifests pull() stored, with their layer and config digests. */
  manifests: Array<{ digest: string; config: string; layers: string[] }>;
  /** Every blob in the store: its digest, the size stat() reports, and the SHA-256 of the bytes read back. */
  blobs: Array<{ digest: string; size: number; read: number; sha256: string }>;
  /** The references the store holds, with the digest each points at. */
  references: Array<{ name: string; digest: string }>;
  /** How many chunk values the store's `<name>-chunks` database holds. */
  chunks: number;
  /** How long the first pull took. */
  ms: number;
  /** How many progress events the first pull sent. */
  events: number;
}

async function sha256(stream: ReadableStream<Uint8Array>): Promise<{ sha256: string; read: number }> {
  // The blob is buffered here on purpose (test images are small enough): WebCrypto cannot hash a stream.
  const data = new Uint8Array(await new Response(stream).arrayBuffer());
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return {
    sha256: "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join(""),
    read: data.length,
  };
}

/**
 * Pulls `reference` into a fresh IdbStore named `name` and reports what the store holds.
 *
 * @example
 * ```ts ignore
 * const report = await pullImage({ reference: "127.0.0.1:5000/tug/small:v1", name: "pull-small" });
 * ```
 */
export async function pullImage(
  options: { reference: string; name: string; platform?: string },
): Promise<PagePullReport> {
  const store = new IdbStore({ name: options.name });
  let events = 0;
  const started = performance.now();
  const result = await pull(options.reference, {
    store,
    platform: options.platform,
    onProgress: () => void events++,
    retry: { attempts: 1 },
  });
  const ms = performance.now() - started;
  const again = await pull(options.reference, { store, platform: options.platform });
  const blobs: PagePullReport["blobs"] = [];
  for await (const info of store.blobs.list()) {
    blobs.push({ digest: info.digest, size: info.size, ...await sha256(await store.blobs.get(info.digest)) });
  }
  return {
    digest: result.digest,
    status: result.status,
    downloaded: result.downloaded,
    again: { status: again.status, downloaded: again.downloaded },
    manifests: result.images.map((image) => ({
      digest: image.descriptor.digest,
      config: image.manifest.config.digest,
      layers: image.manifest.layers.map((layer) => layer.digest),
    })),
    blobs,
    references: (await store.references.list()).map((r) => ({ name: r.name, digest: r.descriptor.digest })),
    chunks: (await keys(createStore(`${options.name}-chunks`, "chunks"))).length,
    ms,
    events,
  };
}
