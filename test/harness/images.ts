/**
 * Builds container images in code for tug's tests: layers from tar entries (gzip, zstd or plain), the image
 * configuration, the manifest (Docker schema2 or OCI), and indexes. Everything is in memory and carries the
 * digests, sizes and per-file facts a test needs to check what tug pulled.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { Descriptor, ImageConfig, Platform } from "../../src/manifest/types.ts";
export type { Descriptor, ImageConfig, Platform };
import { createTar, type TarEntry, type TarEntryType } from "./tar.ts";

/** Media types the fixtures use (Docker image-spec v2.2 and OCI image-spec). */
export const MEDIA_TYPES = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerLayerTar: "application/vnd.docker.image.rootfs.diff.tar",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayerTar: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  inToto: "application/vnd.in-toto+json",
} as const;

/** `sha256:<hex>` of `bytes`. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A blob with its bytes, ready to push. */
export interface FixtureBlob {
  /** `sha256:<hex>` of `bytes`. */
  digest: string;
  /** Length of `bytes`. */
  size: number;
  /** Media type its descriptor carries. */
  mediaType: string;
  /** The blob content. */
  bytes: Uint8Array;
}

/** What a layer holds, one record per tar entry, to compare with what tug unpacked. */
export interface LayerFile {
  /** Path as written in the tar, without a trailing slash. */
  path: string;
  /** Entry type. */
  type: TarEntryType;
  /** Permission bits. */
  mode: number;
  /** Owner id. */
  uid: number;
  /** Group id. */
  gid: number;
  /** Content size (files only; 0 otherwise). */
  size: number;
  /** Hex sha256 of the content (files only). */
  sha256?: string;
  /** Target of a symlink or hard link. */
  linkname?: string;
}

/** How to build one layer. */
export interface LayerSpec {
  /** Tar entries (ignored when `tar` is given). */
  entries?: TarEntry[];
  /** A ready tar archive to compress as-is (then `files` is empty unless `entries` describe it). */
  tar?: Uint8Array;
  /** Default `"gzip"`. */
  compression?: "gzip" | "zstd" | "none";
  /** zlib level for gzip (default 6; the large fixture uses 1 since random data does not shrink). */
  gzipLevel?: number;
  /** Overrides the media type picked from the format and compression. */
  mediaType?: string;
  /** Options for the tar writer. */
  omitEndBlocks?: boolean;
  /** Descriptor annotations for this layer. */
  annotations?: Record<string, string>;
}

/** A built layer: its descriptor fields, the uncompressed digest and the file list. */
export interface BuiltLayer extends FixtureBlob {
  /** sha256 of the uncompressed tar (what the config's rootfs.diff_ids lists). */
  diffId: string;
  /** Size of the uncompressed tar. */
  tarSize: number;
  /** One record per tar entry, in archive order. */
  files: LayerFile[];
  /** Descriptor annotations. */
  annotations?: Record<string, string>;
}

/** How to build an image; defaults make a linux/amd64 Docker schema2 image. */
export interface ImageSpec {
  /** `"docker"` (schema2 media types, the default) or `"oci"`. */
  format?: "docker" | "oci";
  /** Layers, bottom first. */
  layers: LayerSpec[];
  /** Default linux/amd64. */
  /** Platform written to the configuration (default linux/amd64). */
  platform?: Platform;
  /** The runtime config (`config` in the image configuration). */
  config?: ImageConfig["config"];
  /** History; default one entry per layer. Entries with `empty_layer` add no layer. */
  history?: ImageConfig["history"];
  /** Creation time of the image (default 2024-01-01T00:00:00Z). */
  created?: string;
  /** Extra top-level fields merged into the configuration JSON. */
  configExtra?: Record<string, unknown>;
  /** Use these bytes as the configuration verbatim (for tampered or odd configs). */
  configBytes?: Uint8Array;
  /** Overrides the config media type. */
  configMediaType?: string;
  /** Manifest annotations (OCI). */
  annotations?: Record<string, string>;
  /** Extra top-level manifest fields (e.g. `subject`, `artifactType`). */
  manifestExtra?: Record<string, unknown>;
}

/** A built image: manifest, config and layers with their bytes. */
export interface BuiltImage {
  /** The manifest as an object. */
  manifest: Record<string, unknown>;
  /** The manifest bytes exactly as pushed. */
  manifestBytes: Uint8Array;
  /** `sha256:` digest of `manifestBytes`. */
  manifestDigest: string;
  /** Manifest media type (Docker schema2 or OCI). */
  manifestMediaType: string;
  /** The configuration blob. */
  config: FixtureBlob;
  /** Layers, bottom first. */
  layers: BuiltLayer[];
  /** Platform of the image. */
  platform: Platform;
  /** Config then layers: every blob the manifest references. */
  blobs: FixtureBlob[];
}

const encoder = new TextEncoder();

async function zstdCompress(bytes: Uint8Array): Promise<Uint8Array> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("zstd", {
      args: ["-q", "-c", "-3"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    })
      .spawn();
  } catch (error) {
    throw new Error("zstd not found: install the Debian package zstd", { cause: error });
  }
  const writer = child.stdin.getWriter();
  const writing = writer.write(bytes).then(() => writer.close());
  const [out] = await Promise.all([child.output(), writing]);
  if (!out.success) throw new Error(`zstd -q -c failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  return out.stdout;
}

function describeFiles(entries: readonly TarEntry[]): LayerFile[] {
  return entries.map((e) => {
    const type = e.type ?? "file";
    const content = typeof e.content === "string" ? encoder.encode(e.content) : e.content;
    const file: LayerFile = {
      path: e.path.replace(/\/+$/, ""),
      type,
      mode: e.mode ?? (type === "directory" ? 0o755 : type === "symlink" ? 0o777 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      size: type === "file" ? content?.length ?? 0 : 0,
    };
    if (type === "file") file.sha256 = sha256Hex(content ?? new Uint8Array());
    if (e.linkname !== undefined) file.linkname = e.linkname;
    return file;
  });
}

/**
 * Builds one layer blob from tar entries (or a ready tar).
 *
 * @example
 * ```ts ignore
 * const layer = await buildLayer({ entries: [{ path: "hello.txt", content: "hi\n" }] }, "oci");
 * ```
 */
export async function buildLayer(spec: LayerSpec, format: "docker" | "oci" = "docker"): Promise<BuiltLayer> {
  const entries = spec.entries ?? [];
  const tar = spec.tar ?? createTar(entries, { omitEndBlocks: spec.omitEndBlocks });
  const compression = spec.compression ?? "gzip";
  let bytes: Uint8Array;
  let mediaType: string;
  if (compression === "gzip") {
    bytes = gzipSync(tar, { level: spec.gzipLevel ?? 6 });
    mediaType = format === "oci" ? MEDIA_TYPES.ociLayerGzip : MEDIA_TYPES.dockerLayerGzip;
  } else if (compression === "zstd") {
    bytes = await zstdCompress(tar);
    // Docker schema2 has no zstd layer type; the OCI one is what every client knows.
    mediaType = MEDIA_TYPES.ociLayerZstd;
  } else {
    bytes = tar;
    mediaType = format === "oci" ? MEDIA_TYPES.ociLayerTar : MEDIA_TYPES.dockerLayerTar;
  }
  const layer: BuiltLayer = {
    digest: sha256Digest(bytes),
    size: bytes.length,
    mediaType: spec.mediaType ?? mediaType,
    bytes,
    diffId: bytes === tar ? "" : sha256Digest(tar),
    tarSize: tar.length,
    files: describeFiles(entries),
  };
  if (bytes === tar) layer.diffId = layer.digest;
  if (spec.annotations) layer.annotations = spec.annotations;
  return layer;
}

function descriptor(blob: FixtureBlob, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType: blob.mediaType, digest: blob.digest, size: blob.size, ...extra };
}

/** Serialises JSON the way registries and tools do (compact), returning bytes and digest. */
export function jsonBlob(value: unknown, mediaType: string): FixtureBlob {
  const bytes = encoder.encode(JSON.stringify(value));
  return { digest: sha256Digest(bytes), size: bytes.length, mediaType, bytes };
}

/**
 * Builds an image: layers, configuration (with rootfs.diff_ids and history) and manifest.
 *
 * @example
 * ```ts ignore
 * const image = await buildImage({
 *   format: "oci",
 *   layers: [{ entries: [{ path: "hello.txt", content: "hi\n" }] }],
 *   config: { Cmd: ["cat", "/hello.txt"] },
 * });
 * ```
 */
export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const format = spec.format ?? "docker";
  const platform: Platform = spec.platform ?? { os: "linux", architecture: "amd64" };
  const layers: BuiltLayer[] = [];
  for (const l of spec.layers) layers.push(await buildLayer(l, format));
  const created = spec.created ?? "2024-01-01T00:00:00Z";
  const configMediaType = spec.configMediaType ??
    (format === "oci" ? MEDIA_TYPES.ociConfig : MEDIA_TYPES.dockerConfig);
  let config: FixtureBlob;
  if (spec.configBytes) {
    config = {
      digest: sha256Digest(spec.configBytes),
      size: spec.configBytes.length,
      mediaType: configMediaType,
      bytes: spec.configBytes,
    };
  } else {
    const json: Record<string, unknown> = {
      created,
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: spec.config ?? {},
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      history: spec.history ?? layers.map((_, i) => ({ created, created_by: `tug-test layer ${i + 1}` })),
      ...spec.configExtra,
    };
    config = jsonBlob(json, configMediaType);
  }
  const manifestMediaType = format === "oci" ? MEDIA_TYPES.ociManifest : MEDIA_TYPES.dockerManifest;
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: manifestMediaType,
    config: descriptor(config),
    layers: layers.map((l) => descriptor(l, l.annotations ? { annotations: l.annotations } : {})),
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
    ...spec.manifestExtra,
  };
  const m = jsonBlob(manifest, manifestMediaType);
  return {
    manifest,
    manifestBytes: m.bytes,
    manifestDigest: m.digest,
    manifestMediaType,
    config,
    layers,
    platform,
    blobs: [config, ...layers],
  };
}

/** One entry of an index: a built image or any manifest blob, with its platform. */
export interface IndexEntry {
  /** The manifest the entry points at. */
  manifest: { manifestBytes: Uint8Array; manifestDigest: string; manifestMediaType: string };
  /** Platform for the entry (omitted when undefined). */
  platform?: Platform;
  /** Entry annotations. */
  annotations?: Record<string, string>;
}

/** A built index (OCI image index or Docker manifest list). */
export interface BuiltIndex {
  /** The index as an object. */
  index: Record<string, unknown>;
  /** The index bytes exactly as pushed. */
  manifestBytes: Uint8Array;
  /** `sha256:` digest of `manifestBytes`. */
  manifestDigest: string;
  /** Index media type. */
  manifestMediaType: string;
}

/**
 * Builds an OCI image index (default) or a Docker manifest list over already built manifests.
 *
 * @example
 * ```ts ignore
 * const index = buildIndex([{ manifest: amd64, platform: amd64.platform }], { format: "oci" });
 * ```
 */
export function buildIndex(
  entries: readonly IndexEntry[],
  options: { format?: "docker" | "oci"; annotations?: Record<string, string> } = {},
): BuiltIndex {
  const mediaType = options.format === "docker" ? MEDIA_TYPES.dockerManifestList : MEDIA_TYPES.ociIndex;
  const index: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType,
    manifests: entries.map((e) => ({
      mediaType: e.manifest.manifestMediaType,
      digest: e.manifest.manifestDigest,
      size: e.manifest.manifestBytes.length,
      ...(e.platform ? { platform: e.platform } : {}),
      ...(e.annotations ? { annotations: e.annotations } : {}),
    })),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const blob = jsonBlob(index, mediaType);
  return { index, manifestBytes: blob.bytes, manifestDigest: blob.digest, manifestMediaType: mediaType };
}
