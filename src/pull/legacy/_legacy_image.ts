// This module is browser compatible.
// Shared by the schema 1 and v1 pullers: turning a legacy chain of v1 image JSON documents and their layers
// into an OCI image (config with rootfs.diff_ids and history, manifest), as Docker's v1→v2 conversion does
// (moby image/v1/imagev1.go: HistoryFromConfig, MakeConfigFromV1Config), and hashing layers to get their
// diffIDs. Private to src/pull/legacy/.

import { TugError } from "../../errors.ts";
import type { HasherFactory } from "../../digest/hasher.ts";
import { digestBytes } from "../../digest/digest_bytes.ts";
import { decompressLayer } from "../../image/decompress_layer.ts";
import type { Descriptor, ImageConfig } from "../../manifest/types.ts";
import {
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_LAYER,
  MEDIA_TYPE_OCI_LAYER_GZIP,
  MEDIA_TYPE_OCI_MANIFEST,
} from "../../manifest/media_types.ts";

type History = NonNullable<ImageConfig["history"]>[number];

/** What hashing a layer found: its digest and size as stored, its diffID, and whether it is gzip. */
export interface LayerFacts {
  digest: string;
  size: number;
  diffId: string;
  gzip: boolean;
}

/** One layer of a legacy image, base first, with its v1 JSON. */
export interface LegacyEntry {
  /** The v1 image JSON (a schema 1 `v1Compatibility`, or a v1 registry's `/images/ID/json`). */
  v1Json: string;
  /** The layer blob, or undefined for a throwaway (empty) layer. */
  layer?: { descriptor: Descriptor; diffId: string };
}

/** The converted image, ready to commit. */
export interface LegacyImage {
  configBytes: Uint8Array;
  config: Descriptor;
  manifestBytes: Uint8Array;
  manifest: Descriptor;
  layers: Descriptor[];
}

const encoder = new TextEncoder();

/** The OCI layer media type for a layer's compression. */
export function layerMediaType(gzip: boolean): string {
  return gzip ? MEDIA_TYPE_OCI_LAYER_GZIP : MEDIA_TYPE_OCI_LAYER;
}

/**
 * Reads a whole layer once: the digest and size of its bytes and, through gzip when it is gzip, the
 * digest of the tar inside (its diffID). Legacy layers are gzip or plain tar; other compressions
 * Docker 1.x could once read (bzip2, xz) are refused.
 *
 * The gunzip is the one every layer reader uses (`decompressLayer`): it decodes only as fast as the hasher
 * takes its output, in bounded steps, so a small gzip bomb in a schema 1 image costs time, not memory.
 */
export async function hashLayer(
  stream: ReadableStream<Uint8Array>,
  hasher: HasherFactory,
  what: string,
  signal?: AbortSignal,
): Promise<LayerFacts> {
  const outer = await hasher("sha256");
  const source = stream.getReader();
  let size = 0;
  let head: Uint8Array | undefined;
  // The layer's bytes, hashed as they pass; the first non-empty chunk is read ahead to pick the decoder.
  const passing = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = head ? { done: false, value: head } : await source.read();
        head = undefined;
        if (done) return controller.close();
        if (value.length === 0) continue;
        outer.update(value);
        size += value.length;
        controller.enqueue(value);
        return;
      }
    },
    cancel(reason) {
      return source.cancel(reason);
    },
  }, { highWaterMark: 0 });
  let gzip = false;
  let inner: Awaited<ReturnType<HasherFactory>> | undefined;
  try {
    for (;;) {
      const { done, value } = await source.read();
      if (done || value.length > 0) {
        head = value;
        break;
      }
    }
    if (head) {
      gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
      refuseOtherCompression(head, what);
    }
    if (gzip) {
      inner = await hasher("sha256");
      for await (const chunk of decompressLayer(passing, "gzip", { signal })) inner.update(chunk);
    } else {
      for await (const _ of passing) { /* hashed on the way */ }
    }
  } catch (err) {
    await source.cancel().catch(() => {});
    if (signal?.aborted) throw signal.reason;
    if (err instanceof TugError) throw err;
    throw new TugError("TAR_INVALID", `Cannot read ${what}: ${(err as Error).message}`, { cause: err });
  } finally {
    source.releaseLock();
  }
  const digest = `sha256:${outer.digest()}`;
  return { digest, size, diffId: inner ? `sha256:${inner.digest()}` : digest, gzip };
}

function refuseOtherCompression(head: Uint8Array, what: string): void {
  const starts = (...magic: number[]) => magic.every((b, i) => head[i] === b);
  const name = starts(0x42, 0x5a, 0x68)
    ? "bzip2"
    : starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)
    ? "xz"
    : starts(0x28, 0xb5, 0x2f, 0xfd)
    ? "zstd"
    : undefined;
  if (name) {
    throw new TugError(
      "TAR_INVALID",
      `Cannot read ${what}: it is ${name}-compressed; legacy layers are gzip or tar`,
    );
  }
}

/** Docker's HistoryFromConfig: one history entry from a v1 image JSON. */
export function historyFromV1(v1Json: string, emptyLayer: boolean): History {
  const v1 = JSON.parse(v1Json) as Record<string, unknown>;
  const containerConfig = v1.container_config as { Cmd?: unknown } | undefined;
  const cmd = Array.isArray(containerConfig?.Cmd) ? (containerConfig.Cmd as unknown[]).join(" ") : "";
  // Go's time.Time marshals the zero time when the field is missing.
  const history: History = { created: typeof v1.created === "string" ? v1.created : "0001-01-01T00:00:00Z" };
  if (typeof v1.author === "string" && v1.author) history.author = v1.author;
  if (cmd) history.created_by = cmd;
  if (typeof v1.comment === "string" && v1.comment) history.comment = v1.comment;
  if (emptyLayer) history.empty_layer = true;
  return history;
}

/**
 * Docker's MakeConfigFromV1Config: the top layer's v1 JSON without the v1-only keys (`id`, `parent`,
 * `Size`, `parent_id`, `layer_id`, `throwaway`), with `rootfs` and `history` added; top-level keys
 * sorted and Go's HTML escaping applied, as Go's json.Marshal of a map writes them. `os` and
 * `architecture`, which the OCI config requires, are filled in when the v1 JSON lacks them.
 */
export function makeConfigFromV1(
  topV1Json: string,
  diffIds: string[],
  history: History[],
  fallbackArchitecture: string,
): Uint8Array {
  const doc = JSON.parse(topV1Json) as Record<string, unknown>;
  for (const key of ["id", "parent", "Size", "parent_id", "layer_id", "throwaway"]) delete doc[key];
  doc.rootfs = { type: "layers", diff_ids: diffIds };
  doc.history = history;
  if (typeof doc.os !== "string" || !doc.os) doc.os = "linux";
  if (typeof doc.architecture !== "string" || !doc.architecture) {
    doc.architecture = fallbackArchitecture || "amd64";
  }
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(doc).sort()) sorted[key] = doc[key];
  return encoder.encode(goEscape(JSON.stringify(sorted)));
}

// Go's encoding/json escapes <, >, & and U+2028/U+2029 inside strings; outside strings they cannot occur.
function goEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Builds the OCI config and manifest for a legacy chain (entries base first). */
export async function buildLegacyImage(
  entries: LegacyEntry[],
  fallbackArchitecture: string,
): Promise<LegacyImage> {
  const history = entries.map((e) => historyFromV1(e.v1Json, e.layer === undefined));
  const withLayers = entries.filter((e) => e.layer !== undefined);
  const configBytes = makeConfigFromV1(
    entries[entries.length - 1].v1Json,
    withLayers.map((e) => e.layer!.diffId),
    history,
    fallbackArchitecture,
  );
  const config: Descriptor = {
    mediaType: MEDIA_TYPE_OCI_CONFIG,
    digest: await digestBytes(configBytes),
    size: configBytes.length,
  };
  const layers = withLayers.map((e) => e.layer!.descriptor);
  const manifestBytes = encoder.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_OCI_MANIFEST,
    config,
    layers: layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
  }));
  const manifest: Descriptor = {
    mediaType: MEDIA_TYPE_OCI_MANIFEST,
    digest: await digestBytes(manifestBytes),
    size: manifestBytes.length,
  };
  return { configBytes, config, manifestBytes, manifest, layers };
}

/**
 * A body that survives broken connections: when a read fails it is opened again from the bytes already
 * delivered (`Range`); a server that ignores the range sends everything again and the part already
 * delivered is skipped.
 */
export function resumableBody(
  open: (start: number) => Promise<{ body: ReadableStream<Uint8Array>; start: number }>,
  options: { signal?: AbortSignal; maxResumes?: number; onResume?: (offset: number) => void } = {},
): ReadableStream<Uint8Array> {
  const maxResumes = options.maxResumes ?? 5;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let offset = 0;
  let skip = 0;
  let resumes = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (true) {
        if (!reader) {
          const opened = await open(offset);
          skip = offset - opened.start;
          reader = opened.body.getReader();
        }
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (err) {
          reader = undefined;
          if (options.signal?.aborted || err instanceof TugError) throw err;
          if (++resumes > maxResumes) {
            throw new TugError("NETWORK", `the connection broke ${resumes} times (last at byte ${offset})`, {
              cause: err,
            });
          }
          options.onResume?.(offset);
          continue;
        }
        if (result.done) {
          controller.close();
          return;
        }
        let chunk = result.value;
        if (skip > 0) {
          if (chunk.length <= skip) {
            skip -= chunk.length;
            continue;
          }
          chunk = chunk.subarray(skip);
          skip = 0;
        }
        offset += chunk.length;
        controller.enqueue(chunk);
        return;
      }
    },
    async cancel(reason) {
      await reader?.cancel(reason);
    },
  });
}
