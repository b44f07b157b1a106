/**
 * `save()`: writes an image from a store as one tar file, streamed blob by blob: a docker-archive (what
 * `docker save` writes and `docker load`, `podman load` and `skopeo … docker-archive:` read) or an OCI
 * archive (an OCI image layout in a tar, `skopeo … oci-archive:`). Runs on Deno and Node (node:fs).
 *
 * @module
 */
import { open, rename, rm } from "node:fs/promises";
import process from "node:process";
import { TugError } from "../../src/errors.ts";
import { parseDigest } from "../../src/digest/parse_digest.ts";
import { type TarWriterEntry, writeTar } from "../../src/image/write_tar.ts";
import { MEDIA_TYPE_OCI_INDEX } from "../../src/manifest/media_types.ts";
import type { Descriptor, Platform } from "../../src/manifest/types.ts";
import type { Store } from "../../src/store/types.ts";
import type { HasherFactory } from "../../src/digest/hasher.ts";
import { checkDiffIds } from "../../src/image/check_diff_ids.ts";
import { nodeHasher } from "../crypto/node_hasher.ts";
import { type ResolvedImage, resolveImage } from "./resolve_image.ts";

/**
 * Options for {@linkcode save}.
 *
 * @example
 * ```ts
 * import type { SaveOptions } from "./save.ts";
 *
 * const options: SaveOptions = { format: "oci-archive", platform: "linux/arm64" };
 * console.assert(options.format === "oci-archive");
 * ```
 */
export interface SaveOptions {
  /** `docker-archive` (default) or `oci-archive`. */
  format?: "docker-archive" | "oci-archive";
  /** The platform to pick when the name points at an index (default linux/amd64, as pull() defaults). */
  platform?: Platform | string;
  /** Cancels the save; a file output is then removed. */
  signal?: AbortSignal;
  /** Hasher for the diffID check of a docker-archive (default node:crypto's). */
  hasher?: HasherFactory;
}

/** What {@linkcode save} wrote. */
export interface SaveResult {
  /** The image manifest saved. */
  readonly manifest: Descriptor;
  /** The tags recorded in the archive (`RepoTags` of manifest.json). */
  readonly repoTags: readonly string[];
  /** Bytes written. */
  readonly bytes: number;
}

const encoder = new TextEncoder();

function blobPath(digest: string): string {
  const d = parseDigest(digest);
  return `blobs/${d.algorithm}/${d.hex}`;
}

function json(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** The tag docker would list for the image: `familiar:tag`, or none for a name given by digest only. */
function repoTags(image: ResolvedImage): string[] {
  const ref = image.reference;
  if (!ref || ref.tag === undefined) return [];
  return [`${ref.familiarName}:${ref.tag}`];
}

/**
 * The members of the archive, in the order they are written. Both formats share the OCI layout part
 * (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`) with the manifest, config and layers exactly as stored,
 * so digests are kept; a docker-archive adds `manifest.json` and `repositories`, pointing at the same blob
 * files (the layout `docker save` writes since Docker 25). Layers stay as stored (gzip, zstd or plain):
 * `docker load`, `podman load` and skopeo decompress docker-archive layers they find compressed.
 */
async function* members(
  store: Store,
  image: ResolvedImage,
  format: "docker-archive" | "oci-archive",
  signal: AbortSignal | undefined,
): AsyncGenerator<TarWriterEntry> {
  const tags = repoTags(image);
  const manifest = image.manifest;
  yield { name: "blobs", type: "directory" };
  const algorithms = new Set(
    [image.descriptor, manifest.config, ...manifest.layers].map((d) => parseDigest(d.digest).algorithm),
  );
  for (const algorithm of algorithms) yield { name: `blobs/${algorithm}`, type: "directory" };
  yield { name: blobPath(manifest.config.digest), size: image.configBytes.length, body: image.configBytes };
  const seen = new Set<string>([manifest.config.digest]);
  for (const layer of manifest.layers) {
    if (seen.has(layer.digest)) continue;
    seen.add(layer.digest);
    signal?.throwIfAborted();
    const info = await store.blobs.stat(layer.digest);
    if (!info) {
      throw new TugError(
        "NOT_FOUND",
        `Cannot save layer ${layer.digest}: the store does not hold it (pull the image again)`,
      );
    }
    yield { name: blobPath(layer.digest), size: layer.size, body: await store.blobs.get(layer.digest) };
  }
  if (!seen.has(image.descriptor.digest)) {
    yield {
      name: blobPath(image.descriptor.digest),
      size: image.manifestBytes.length,
      body: image.manifestBytes,
    };
  }
  const annotations: Record<string, string> = {};
  if (image.reference?.tag !== undefined) {
    // image-spec annotations.md: ref.name is the tag; containerd reads the full name from its own key.
    annotations["org.opencontainers.image.ref.name"] = image.reference.tag;
    annotations["io.containerd.image.name"] = image.reference.toString();
  }
  const descriptor: Descriptor = {
    mediaType: image.descriptor.mediaType,
    digest: image.descriptor.digest,
    size: image.manifestBytes.length,
  };
  if (Object.keys(annotations).length > 0) descriptor.annotations = annotations;
  const index = json({ schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests: [descriptor] });
  yield { name: "index.json", size: index.length, body: index };
  const layout = json({ imageLayoutVersion: "1.0.0" });
  yield { name: "oci-layout", size: layout.length, body: layout };
  if (format === "oci-archive") return;
  const dockerManifest = json([{
    Config: blobPath(manifest.config.digest),
    RepoTags: tags,
    Layers: manifest.layers.map((l) => blobPath(l.digest)),
  }]);
  yield { name: "manifest.json", size: dockerManifest.length, body: dockerManifest };
  if (tags.length > 0 && manifest.layers.length > 0) {
    // The legacy `repositories` file maps name → tag → top layer id (read by old `docker load`s only).
    const ref = image.reference!;
    const top = parseDigest(manifest.layers.at(-1)!.digest).hex;
    const repositories = json({ [ref.familiarName]: { [ref.tag!]: top } });
    yield { name: "repositories", size: repositories.length, body: repositories };
  }
}

/**
 * Writes an image from `store` as a tar archive, streaming each blob from the store into the output (no
 * temporary copy of the image). `docker-archive` (default) is `docker save`'s format in the layout Docker 25
 * writes: `manifest.json` (`Config`, `RepoTags`, `Layers`) and `repositories` beside an OCI layout whose
 * `blobs/sha256/…` hold the config and the layers as stored (compressed layers stay compressed; every reader
 * of docker-archives decompresses them). `oci-archive` is the OCI image layout alone (`oci-layout`,
 * `index.json`, `blobs/…`), the manifest kept byte for byte so the image digest is the same.
 *
 * @param store The store holding the image.
 * @param image A name the store holds or a manifest/index descriptor.
 * @param output A file path (written to a temporary name, renamed when complete) or a writable stream.
 * @param options Format, platform (for an index) and cancellation.
 * @returns The manifest saved, the tags recorded and the bytes written.
 *
 * @example Save an image for `podman load`
 * ```ts ignore
 * import { OciLayoutStore } from "./oci_layout_store.ts";
 * import { save } from "./save.ts";
 *
 * const store = await OciLayoutStore.open("/var/lib/tug");
 * await save(store, "docker.io/library/alpine:3.20", "/tmp/alpine.tar");
 * ```
 */
export async function save(
  store: Store,
  image: string | Descriptor,
  output: string | WritableStream<Uint8Array>,
  options: SaveOptions = {},
): Promise<SaveResult> {
  const format = options.format ?? "docker-archive";
  if (format !== "docker-archive" && format !== "oci-archive") {
    throw new TypeError(`Unknown archive format "${format}": expected "docker-archive" or "oci-archive"`);
  }
  options.signal?.throwIfAborted();
  const resolved = await resolveImage(store, image, options.platform, "save");
  if (format === "docker-archive") {
    // A docker-archive names its layers by diffID (manifest.json, the config's rootfs): check them before a
    // byte is written, as `docker load` would refuse them (errRootFSMismatch). Layers whose diffID the store
    // recorded (a verified pull, an unpack, an earlier save) are not decompressed again.
    await checkDiffIds(store, resolved.manifest.layers, resolved.config.rootfs?.diff_ids ?? [], {
      hasher: options.hasher ?? nodeHasher,
      signal: options.signal,
    });
  }
  let bytes = 0;
  const counted = writeTar(members(store, resolved, format, options.signal)).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }),
  );
  const result = () => ({ manifest: resolved.descriptor, repoTags: repoTags(resolved), bytes });
  if (typeof output !== "string") {
    await counted.pipeTo(output, { signal: options.signal });
    return result();
  }
  const temp = `${output}.tug-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const handle = await open(temp, "wx", 0o644);
  try {
    // Blobs arrive in chunks of up to 1 MiB from the store; only the 512-byte headers are small writes.
    const writer = new WritableStream<Uint8Array>({
      async write(chunk) {
        let at = 0;
        while (at < chunk.byteLength) at += (await handle.write(chunk, at)).bytesWritten;
      },
    });
    await counted.pipeTo(writer, { signal: options.signal });
    await handle.close();
    await rename(temp, output);
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(temp, { force: true }).catch(() => {});
    throw err;
  }
  return result();
}
