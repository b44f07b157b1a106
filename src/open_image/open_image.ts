// This module is browser compatible.
/**
 * An image-level view of one platform image, from a store or from a registry, on the model of
 * go-containerregistry's `v1.Image` / `v1.Layer` (`remote.Image`, `layout.Image`): the manifest, the config
 * and the layers, each layer readable compressed, uncompressed or as a file listing. Every byte is checked
 * against the digest that names it, through the same checks the puller uses: manifests by
 * `verifyManifestDigest` and the platform pick of `resolveManifest` (src/remote/), blobs by the digest
 * verifier while they stream.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import { DigestVerifier } from "../digest/digest_verifier.ts";
import { verifyingStream } from "../digest/verifying_stream.ts";
import type { HasherFactory } from "../digest/hasher.ts";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from "../manifest/types.ts";
import { MAX_MANIFEST_SIZE, parseManifest } from "../manifest/parse_manifest.ts";
import { parseImageConfig } from "../manifest/parse_image_config.ts";
import { parsePlatform } from "../manifest/parse_platform.ts";
import { normalizePlatform } from "../manifest/normalize_platform.ts";
import { parseReference } from "../reference/parse_reference.ts";
import type { Reference } from "../reference/reference.ts";
import { RegistryClient, type RegistryClientOptions } from "../registry/registry_client.ts";
import { lookupEndpoints } from "../registry/lookup_endpoints.ts";
import { readLimited } from "../registry/read_limited.ts";
import type { Store } from "../store/types.ts";
import {
  checkConfigSize,
  type FetchedManifest,
  fetchManifest,
  readBlob,
  readConfigBytes,
  resolveManifest,
} from "../remote/read_image.ts";
import { verifyManifestDigest } from "../remote/verify_manifest_digest.ts";
import { decompressLayer, type DecompressLayerOptions } from "../image/decompress_layer.ts";
import { readTar, type TarHeader } from "../image/tar_reader.ts";
import { headerOf } from "../image/header_of.ts";

/**
 * Where {@linkcode openImage} reads from: a {@linkcode Store}, a {@linkcode RegistryClient} for the image's
 * repository, or the options of a registry client (the repository is taken from the reference).
 */
export type ImageSource = Store | RegistryClient | RegistrySource;

/**
 * A registry to read from, as the options of a {@linkcode RegistryClient} without the repository. Without
 * `registry`, the reference's domain is reached the way a pull reaches it (`https://<domain>`, then plain
 * http for a loopback address such as `127.0.0.1:5000`; Docker Hub at `https://registry-1.docker.io`); mirrors
 * are the puller's.
 */
export interface RegistrySource extends Omit<RegistryClientOptions, "repository" | "registry"> {
  /** The registry's base URL, e.g. `"http://127.0.0.1:5000"` (default: from the reference's domain). */
  registry?: string;
}

/** Options for {@linkcode openImage}. */
export interface OpenImageOptions {
  /** The platform an index is resolved to (default `linux/amd64`, as `pull` defaults). */
  platform?: Platform | string;
  /** Aborts the reads of the manifest (and, unless a read is given its own, of everything later). */
  signal?: AbortSignal;
  /** The hasher blobs are verified with (default: the WebAssembly one). */
  hasher?: HasherFactory;
}

/** Options for one read of a {@linkcode Layer}. */
export interface LayerReadOptions {
  /** Aborts the read. */
  signal?: AbortSignal;
}

/** Options for {@linkcode Layer.uncompressed} and {@linkcode Layer.files}. */
export interface LayerUncompressedOptions extends LayerReadOptions {
  /** Which gzip decoder to use (see {@linkcode DecompressLayerOptions}). */
  gzipDecoder?: DecompressLayerOptions["gzipDecoder"];
  /** The largest zstd window a frame may declare (see {@linkcode DecompressLayerOptions}). */
  maxZstdWindow?: number;
}

/** One layer of an {@linkcode Image} (go-containerregistry's `v1.Layer`). */
export interface Layer {
  /** The layer's descriptor in the manifest. */
  readonly descriptor: Descriptor;
  /** The digest of the compressed blob (`descriptor.digest`). */
  readonly digest: string;
  /** The digest of the uncompressed tar, from the config's `rootfs.diff_ids`, when the config lists it. */
  readonly diffId?: string;
  /** The size of the compressed blob in bytes (`descriptor.size`). */
  readonly size: number;
  /** The layer's media type (`descriptor.mediaType`). */
  readonly mediaType: string;
  /**
   * The blob's bytes, verified while they flow: the stream errors with a `TugError` of code
   * `SIZE_MISMATCH` or `DIGEST_MISMATCH` when they are not the bytes the digest names. Trust what was read
   * only once the stream has ended without an error.
   */
  compressed(options?: LayerReadOptions): Promise<ReadableStream<Uint8Array>>;
  /**
   * The uncompressed tar: the verified blob through the bounded decompressor (gzip, zstd or none, sniffed
   * from the first bytes as Docker does). Read to its end, it errors as {@linkcode Layer.compressed} does
   * when the blob is wrong.
   */
  uncompressed(options?: LayerUncompressedOptions): Promise<ReadableStream<Uint8Array>>;
  /**
   * The metadata of every entry, in archive order (whiteouts as they are). After the last entry the rest of
   * the blob is still read and checked, so the iteration ends normally only for a verified blob; a wrong
   * blob makes it throw (`DIGEST_MISMATCH`, `SIZE_MISMATCH`), possibly after entries were yielded.
   */
  files(options?: LayerUncompressedOptions): AsyncIterable<TarHeader>;
}

/** One platform image (go-containerregistry's `v1.Image`), as {@linkcode openImage} returns it. */
export interface Image {
  /** The reference it was opened by. */
  readonly reference: Reference;
  /** The image manifest's digest (for an index: of the platform's manifest). */
  readonly digest: string;
  /** Digest, size and media type of what the reference points at (an index or a manifest). */
  readonly descriptor: Descriptor;
  /** The image manifest's descriptor (for an index: the entry picked for the platform). */
  readonly manifestDescriptor: Descriptor;
  /** The index, when the reference points at one. */
  readonly index?: ImageIndex;
  /** The image manifest. */
  manifest(): Promise<ImageManifest>;
  /** The image manifest's exact bytes (they hash to {@linkcode Image.digest}). */
  rawManifest(): Promise<Uint8Array>;
  /** The image configuration (read once, then kept). */
  config(): Promise<ImageConfig>;
  /** The image configuration's exact bytes (they hash to the manifest's `config.digest`). */
  rawConfig(): Promise<Uint8Array>;
  /** The layers, base first, each with its diff ID from the config. */
  layers(): Promise<Layer[]>;
}

/** How blobs are read from the source: a verified stream of the blob `descriptor` names. */
type BlobOpener = (descriptor: Descriptor, signal?: AbortSignal) => Promise<ReadableStream<Uint8Array>>;

/**
 * Opens one platform image from a store or a registry. The manifest is read now (an index resolved to
 * `options.platform`, default `linux/amd64`) and checked against its digest; the config and the layers
 * are read when asked for, each checked against its digest.
 *
 * From a store, `reference` is a name the store holds (`alpine:3.20` is looked up as
 * `docker.io/library/alpine:3.20`, a name without tag as `:latest`), or a reference by digest whose
 * manifest blob the store holds. From a registry, the manifest is fetched by tag or digest; by tag it is
 * checked against the registry's `Docker-Content-Digest`.
 *
 * Errors are `TugError`s: `NOT_FOUND` (not in the store), the registry's (`MANIFEST_UNKNOWN`, `DENIED`, …),
 * `DIGEST_MISMATCH`, `SIZE_MISMATCH`, `MANIFEST_INVALID`, `PLATFORM_NOT_FOUND` (no index entry for the
 * platform). A `TypeError` when a `RegistryClient` serves another repository than the reference's.
 *
 * @param source A store, a registry client, or registry client options.
 * @param reference The image reference, e.g. `alpine:3.20` or `registry.example/team/app@sha256:…`.
 * @param options Platform, abort signal, hasher.
 * @returns The image.
 *
 * @example List the files of an image's layers from a store
 * ```ts
 * import { MemoryStore } from "../store/memory_store.ts";
 * import { openImage } from "./open_image.ts";
 *
 * const store = new MemoryStore();
 * // … fill it with `pull(…, { store })` first; an empty store has nothing to open:
 * try {
 *   await openImage(store, "alpine:3.20");
 * } catch (err) {
 *   console.assert((err as { code?: string }).code === "NOT_FOUND");
 * }
 * ```
 *
 * @example Read an image straight from its registry (needs a reachable registry, so not run here)
 * ```ts ignore
 * import { openImage } from "./open_image.ts";
 *
 * const image = await openImage({}, "alpine:3.20", { platform: "linux/arm64" });
 * for (const layer of await image.layers()) {
 *   for await (const file of layer.files()) console.log(file.name);
 * }
 * ```
 */
export async function openImage(
  source: ImageSource,
  reference: string | Reference,
  options: OpenImageOptions = {},
): Promise<Image> {
  const parsed = typeof reference === "string" ? parseReference(reference) : reference;
  const ref = parsed.tag === undefined && parsed.digest === undefined
    ? parseReference(`${parsed.name}:latest`)
    : parsed;
  const platform = normalizePlatform(
    options.platform === undefined
      ? { os: "linux", architecture: "amd64" }
      : typeof options.platform === "string"
      ? parsePlatform(options.platform)
      : options.platform,
  );
  const { signal, hasher } = options;
  if (isStore(source)) {
    const opener: BlobOpener = (descriptor, s) => storeBlob(source, descriptor, s ?? signal, hasher);
    const top = await storeTop(source, ref);
    const read = (target: string | undefined, size: number | undefined) =>
      storeManifest(source, target === undefined ? top : { mediaType: "", digest: target, size: size! }, ref);
    const resolved = await resolveManifest(read, ref.familiar, platform);
    return new OpenedImage(ref, resolved, opener, async (descriptor) => {
      checkConfigSize(descriptor);
      return await readAll(await opener(descriptor, signal));
    });
  }
  const client = source instanceof RegistryClient ? source : await registryClient(source, ref, signal);
  if (client.repository !== ref.path) {
    throw new TypeError(
      `Cannot open "${ref.familiar}" through a client of repository "${client.repository}"`,
    );
  }
  const resolved = await resolveManifest(
    (target, size) => fetchManifest(client, ref, target, { size, signal }),
    ref.familiar,
    platform,
  );
  return new OpenedImage(
    ref,
    resolved,
    (descriptor, s) => readBlob(client, descriptor, { signal: s ?? signal, hasher }),
    (descriptor) => readConfigBytes(client, ref, descriptor, signal),
  );
}

function isStore(source: ImageSource): source is Store {
  return !(source instanceof RegistryClient) && "blobs" in source && "references" in source;
}

/**
 * A client for `ref`'s repository: at `source.registry`, else at the first of the pull's v2 endpoints for
 * the reference's domain (moby's lookupEndpoints order: https, then plain http for an insecure registry such
 * as 127.0.0.1) that answers `GET /v2/`, as the puller's ping picks it.
 */
async function registryClient(
  source: RegistrySource,
  ref: Reference,
  signal: AbortSignal | undefined,
): Promise<RegistryClient> {
  const { registry, ...options } = source;
  if (registry !== undefined) return new RegistryClient({ ...options, registry, repository: ref.path });
  const endpoints = lookupEndpoints(ref.domain!, { legacyRegistry: false });
  let lastErr: unknown;
  for (const [i, endpoint] of endpoints.entries()) {
    const client = new RegistryClient({ ...options, registry: endpoint.url, repository: ref.path });
    if (i === endpoints.length - 1) return client;
    try {
      await client.ping(signal);
      return client;
    } catch (err) {
      if (signal?.aborted) throw err;
      lastErr = err;
    }
  }
  throw lastErr ?? new TugError("NO_ENDPOINTS", `no endpoints found for ${ref.familiar}`);
}

/** The descriptor a store files `ref` under, or (by digest) the manifest blob it holds. */
async function storeTop(store: Store, ref: Reference): Promise<Descriptor> {
  // The key pull() files a reference under: `name:tag`, `name@digest` (a tag beside a digest is dropped).
  const key = ref.digest !== undefined ? `${ref.name}@${ref.digest}` : ref.toString();
  const found = await store.references.get(key);
  if (found) return found;
  if (ref.digest !== undefined) {
    const info = await store.blobs.stat(ref.digest);
    if (info) return { mediaType: "", digest: ref.digest, size: info.size };
  }
  throw new TugError(
    "NOT_FOUND",
    `Cannot open "${ref.familiar}": no such image in the store (pull it first)`,
  );
}

/** Reads a manifest from a store, capped and checked against its digest like one from a registry. */
async function storeManifest(store: Store, descriptor: Descriptor, ref: Reference): Promise<FetchedManifest> {
  if (descriptor.size > MAX_MANIFEST_SIZE) {
    throw new TugError(
      "MANIFEST_TOO_LARGE",
      `Cannot read manifest ${descriptor.digest} of ${ref.familiar}: ${descriptor.size} bytes is more than 4 MiB`,
    );
  }
  const { bytes, truncated } = await readLimited(await store.blobs.get(descriptor.digest), MAX_MANIFEST_SIZE);
  if (truncated) {
    throw new TugError(
      "MANIFEST_TOO_LARGE",
      `Manifest ${descriptor.digest} in the store is larger than 4 MiB`,
    );
  }
  const digest = await verifyManifestDigest(bytes, {
    expected: descriptor.digest,
    name: `${ref.name}@${descriptor.digest}`,
  });
  if (bytes.length !== descriptor.size) {
    throw new TugError(
      "SIZE_MISMATCH",
      `Manifest ${descriptor.digest} of ${ref.familiar} is ${bytes.length} bytes, its descriptor says ${descriptor.size}`,
    );
  }
  const contentType = descriptor.mediaType;
  return { bytes, contentType, digest, parsed: parseManifest(bytes, { contentType, source: digest }) };
}

/** A blob from a store, verified while it flows (a store keeps bytes; its callers verify them). */
async function storeBlob(
  store: Store,
  descriptor: Descriptor,
  signal: AbortSignal | undefined,
  hasher: HasherFactory | undefined,
): Promise<ReadableStream<Uint8Array>> {
  signal?.throwIfAborted();
  const verifier = await DigestVerifier.create(descriptor, {
    name: `blob ${descriptor.digest} in the store`,
    ...(hasher ? { hasher } : {}),
  });
  const body = (await store.blobs.get(descriptor.digest)).pipeThrough(verifyingStream(verifier));
  if (signal === undefined) return body;
  return body.pipeThrough(new TransformStream(), { signal });
}

/** Reads a (verified, size-bounded) stream whole. */
async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

class OpenedImage implements Image {
  readonly reference: Reference;
  readonly digest: string;
  readonly descriptor: Descriptor;
  readonly manifestDescriptor: Descriptor;
  readonly index?: ImageIndex;
  readonly #manifest: ImageManifest;
  readonly #manifestBytes: Uint8Array;
  readonly #open: BlobOpener;
  readonly #readConfig: (descriptor: Descriptor) => Promise<Uint8Array>;
  #configBytes: Promise<Uint8Array> | undefined;

  constructor(
    reference: Reference,
    resolved: Awaited<ReturnType<typeof resolveManifest>>,
    open: BlobOpener,
    readConfig: (descriptor: Descriptor) => Promise<Uint8Array>,
  ) {
    this.reference = reference;
    this.digest = resolved.manifestDescriptor.digest;
    this.descriptor = resolved.descriptor;
    this.manifestDescriptor = resolved.manifestDescriptor;
    if (resolved.index !== undefined) this.index = resolved.index;
    this.#manifest = resolved.manifest;
    this.#manifestBytes = resolved.manifestBytes;
    this.#open = open;
    this.#readConfig = readConfig;
  }

  manifest(): Promise<ImageManifest> {
    // A copy: what a caller does with it cannot change the layers this image reads.
    return Promise.resolve(structuredClone(this.#manifest));
  }

  rawManifest(): Promise<Uint8Array> {
    return Promise.resolve(this.#manifestBytes.slice());
  }

  rawConfig(): Promise<Uint8Array> {
    // A failed read is not kept, so a retry reads again.
    this.#configBytes ??= this.#readConfig(this.#manifest.config).catch((err) => {
      this.#configBytes = undefined;
      throw err;
    });
    return this.#configBytes.then((bytes) => bytes.slice());
  }

  async config(): Promise<ImageConfig> {
    return parseImageConfig(await this.rawConfig());
  }

  async layers(): Promise<Layer[]> {
    const diffIds = (await this.config()).rootfs?.diff_ids ?? [];
    return this.#manifest.layers.map((descriptor, i) => new OpenedLayer(descriptor, diffIds[i], this.#open));
  }
}

class OpenedLayer implements Layer {
  readonly descriptor: Descriptor;
  readonly digest: string;
  readonly diffId?: string;
  readonly size: number;
  readonly mediaType: string;
  readonly #open: BlobOpener;

  constructor(descriptor: Descriptor, diffId: string | undefined, open: BlobOpener) {
    this.descriptor = descriptor;
    this.digest = descriptor.digest;
    if (diffId !== undefined) this.diffId = diffId;
    this.size = descriptor.size;
    this.mediaType = descriptor.mediaType;
    this.#open = open;
  }

  compressed(options: LayerReadOptions = {}): Promise<ReadableStream<Uint8Array>> {
    return this.#open(this.descriptor, options.signal);
  }

  async uncompressed(options: LayerUncompressedOptions = {}): Promise<ReadableStream<Uint8Array>> {
    return decompressLayer(await this.compressed(options), "auto", decompressOptions(options));
  }

  async *files(options: LayerUncompressedOptions = {}): AsyncGenerator<TarHeader, void, undefined> {
    const blob = (await this.compressed(options)).getReader();
    // The tar reader stops at the end-of-archive blocks and cancels its input. The decompressor is fed
    // from this reader, which a cancel leaves open, so that the rest of the blob is read and its digest
    // checked afterwards, as Docker reads a layer to its end before it trusts it.
    const feed = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const r = await blob.read();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      },
      cancel() {},
    }, { highWaterMark: 0 });
    let ended = false;
    try {
      for await (const entry of readTar(decompressLayer(feed, "auto", decompressOptions(options)))) {
        yield headerOf(entry);
      }
      // Bounded: the verifier errors at the first byte past the descriptor's size.
      for (;;) if ((await blob.read()).done) break;
      ended = true;
    } finally {
      if (!ended) await blob.cancel().catch(() => {});
    }
  }
}

function decompressOptions(options: LayerUncompressedOptions): DecompressLayerOptions {
  return {
    ...(options.gzipDecoder !== undefined ? { gzipDecoder: options.gzipDecoder } : {}),
    ...(options.maxZstdWindow !== undefined ? { maxZstdWindow: options.maxZstdWindow } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  };
}
