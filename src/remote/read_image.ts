// This module is browser compatible.
/**
 * The verified read path for a remote image, on the model of go-containerregistry's pkg/v1/remote: fetch a
 * manifest → check its digest ({@linkcode verifyManifestDigest}) → parse → pick the platform → read the
 * capped config. The puller, `inspectRemote` and the others read through these functions so the checks
 * are the same everywhere.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import { digestBytes } from "../digest/digest_bytes.ts";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from "../manifest/types.ts";
import { MANIFEST_ACCEPT } from "../manifest/media_types.ts";
import { MAX_MANIFEST_SIZE, type ParsedManifest, parseManifest } from "../manifest/parse_manifest.ts";
import { parseImageConfig } from "../manifest/parse_image_config.ts";
import { selectManifest } from "../manifest/select_manifest.ts";
import type { RegistryClient } from "../registry/registry_client.ts";
import { readLimited } from "../registry/read_limited.ts";
import type { Reference } from "../reference/reference.ts";
import { verifyManifestDigest } from "./verify_manifest_digest.ts";
import { DigestVerifier } from "../digest/digest_verifier.ts";
import { verifyingStream } from "../digest/verifying_stream.ts";
import type { HasherFactory } from "../digest/hasher.ts";

/** A manifest as fetched, verified and parsed. */
export interface FetchedManifest {
  readonly bytes: Uint8Array;
  readonly contentType: string;
  /** What the bytes hash to (checked against what was asked for, or the registry's header). */
  readonly digest: string;
  readonly parsed: ParsedManifest;
}

/** Options for {@linkcode fetchManifest}. */
export interface FetchManifestOptions {
  /** The media types to ask for (default {@linkcode MANIFEST_ACCEPT}). */
  readonly accept?: readonly string[];
  /** The size the referring descriptor declares: the bytes must have exactly that length. */
  readonly size?: number;
  readonly signal?: AbortSignal;
}

/**
 * Fetches `ref`'s manifest by its digest or tag (or by `target`, a digest from an index), checks the digest
 * ({@linkcode verifyManifestDigest}: by digest, or against `Docker-Content-Digest`), the declared size when
 * given, and parses it. The registry client caps the bytes at {@linkcode MAX_MANIFEST_SIZE}.
 *
 * @example Fetch and verify (needs a reachable registry, so not run here)
 * ```ts ignore
 * import { fetchManifest } from "./read_image.ts";
 *
 * const { digest, parsed } = await fetchManifest(client, ref);
 * ```
 */
export async function fetchManifest(
  client: RegistryClient,
  ref: Reference,
  target: string | undefined = undefined,
  options: FetchManifestOptions = {},
): Promise<FetchedManifest> {
  const requested = target ?? ref.digest ?? ref.tag!;
  const expected = target ?? ref.digest;
  const got = await client.getManifest(requested, {
    accept: [...(options.accept ?? MANIFEST_ACCEPT)],
    signal: options.signal,
  });
  const digest = await verifyManifestDigest(got.bytes, {
    expected,
    digestHeader: got.digestHeader,
    name: expected === undefined ? ref.familiar : `${ref.name}@${requested}`,
  });
  if (options.size !== undefined && got.bytes.length !== options.size) {
    throw new TugError(
      "SIZE_MISMATCH",
      `Manifest ${requested} of ${ref.familiar} is ${got.bytes.length} bytes, the index says ${options.size}`,
    );
  }
  return {
    bytes: got.bytes,
    contentType: got.contentType,
    digest,
    parsed: parseManifest(got.bytes, { contentType: got.contentType }),
  };
}

/**
 * Refuses an image config declared larger than the document cap ({@linkcode MAX_MANIFEST_SIZE}) before a
 * byte of it is fetched: configs are buffered and parsed whole.
 *
 * @example
 * ```ts
 * import { checkConfigSize } from "./read_image.ts";
 *
 * checkConfigSize({ mediaType: "application/vnd.oci.image.config.v1+json", digest: "sha256:" + "a".repeat(64), size: 2 });
 * ```
 */
export function checkConfigSize(descriptor: Descriptor): void {
  if (descriptor.size > MAX_MANIFEST_SIZE) {
    throw new TugError(
      "CONFIG_INVALID",
      `Image config ${descriptor.digest} is declared ${descriptor.size} bytes, larger than 4 MiB`,
    );
  }
}

/**
 * Reads an image config from the registry: refused by its declared size, read up to the cap, checked
 * against its digest, then parsed.
 *
 * @example Read a config (needs a reachable registry, so not run here)
 * ```ts ignore
 * import { readConfig } from "./read_image.ts";
 *
 * const config = await readConfig(client, ref, manifest.config);
 * ```
 */
export async function readConfig(
  client: RegistryClient,
  ref: Reference,
  descriptor: Descriptor,
  signal?: AbortSignal,
): Promise<ImageConfig> {
  return parseImageConfig(await readConfigBytes(client, ref, descriptor, signal));
}

/**
 * The exact bytes of an image config from the registry, as {@linkcode readConfig} reads them: refused by
 * their declared size, read up to the cap and checked against the digest (for callers that keep or
 * compare the bytes, such as `openImage`'s `rawConfig()`).
 *
 * @example Read a config's bytes (needs a reachable registry, so not run here)
 * ```ts ignore
 * import { readConfigBytes } from "./read_image.ts";
 *
 * const bytes = await readConfigBytes(client, ref, manifest.config);
 * ```
 */
export async function readConfigBytes(
  client: RegistryClient,
  ref: Reference,
  descriptor: Descriptor,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  checkConfigSize(descriptor);
  const blob = await client.getBlob(descriptor.digest, { signal });
  const { bytes, truncated } = await readLimited(blob.body, MAX_MANIFEST_SIZE);
  if (truncated) {
    throw new TugError("CONFIG_INVALID", `Image config ${descriptor.digest} is larger than 4 MiB`);
  }
  const digest = await digestBytes(bytes, descriptor.digest.startsWith("sha512:") ? "sha512" : "sha256");
  if (digest !== descriptor.digest) {
    throw new TugError(
      "DIGEST_MISMATCH",
      `Config ${descriptor.digest} of ${ref.familiar} hashes to ${digest}`,
    );
  }
  return bytes;
}

/**
 * Opens a blob (a layer) from the registry as a stream that is verified while it flows: it errors with a
 * `TugError` of code `SIZE_MISMATCH` at the first byte past `descriptor.size`, and at its end with
 * `SIZE_MISMATCH` or `DIGEST_MISMATCH` when the bytes are short or wrong (the OCI descriptor rule, checked
 * by the same {@linkcode DigestVerifier} the puller uses). Bytes read from it are trustworthy only once it
 * has ended without an error, as with go-containerregistry's verifying reader.
 *
 * @example Stream a layer (needs a reachable registry, so not run here)
 * ```ts ignore
 * import { readBlob } from "./read_image.ts";
 *
 * const stream = await readBlob(client, manifest.layers[0]);
 * ```
 */
export async function readBlob(
  client: RegistryClient,
  descriptor: Descriptor,
  options: { signal?: AbortSignal; hasher?: HasherFactory } = {},
): Promise<ReadableStream<Uint8Array>> {
  const verifier = await DigestVerifier.create(descriptor, {
    name: `blob ${client.host}/${client.repository}@${descriptor.digest}`,
    ...(options.hasher ? { hasher: options.hasher } : {}),
  });
  const blob = await client.getBlob(descriptor.digest, { signal: options.signal });
  return blob.body.pipeThrough(verifyingStream(verifier));
}

/** An image as read from its registry by {@linkcode readImage}. */
export interface RemoteImageParts {
  /** Digest and media type of what the reference points at (an index or a manifest). */
  readonly descriptor: Descriptor;
  /** The index, when the reference points at one. */
  readonly index?: ImageIndex;
  /** The image manifest (for an index: the one picked for the platform). */
  readonly manifestDescriptor: Descriptor;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
}

/**
 * Reads one verified manifest for {@linkcode resolveManifest}: the top one (`target` undefined) or an
 * index entry by digest, whose bytes must be `size` long.
 */
export type ManifestReader = (
  target: string | undefined,
  size: number | undefined,
) => Promise<FetchedManifest>;

/** A manifest resolved to one platform image by {@linkcode resolveManifest}. */
export interface ResolvedManifest {
  /** Digest and media type of what the reference points at (an index or a manifest). */
  readonly descriptor: Descriptor;
  /** The index, when the reference points at one. */
  readonly index?: ImageIndex;
  /** The image manifest's descriptor (for an index: the entry picked for the platform). */
  readonly manifestDescriptor: Descriptor;
  /** The image manifest. */
  readonly manifest: ImageManifest;
  /** The image manifest's exact bytes. */
  readonly manifestBytes: Uint8Array;
}

/**
 * The one platform pick of every image reader (registry or store): reads the top manifest with `read`; an
 * index is narrowed to `platform` ({@linkcode selectManifest}) and its entry read by digest and size; an
 * index inside an index is refused (`MANIFEST_INVALID`), as Docker refuses it.
 *
 * @example Resolve from a registry (needs a reachable registry, so not run here)
 * ```ts ignore
 * import { fetchManifest, resolveManifest } from "./read_image.ts";
 *
 * const resolved = await resolveManifest(
 *   (target, size) => fetchManifest(client, ref, target, { size }),
 *   ref.familiar,
 *   { os: "linux", architecture: "arm64" },
 * );
 * ```
 */
export async function resolveManifest(
  read: ManifestReader,
  name: string,
  platform: Platform,
): Promise<ResolvedManifest> {
  const top = await read(undefined, undefined);
  const descriptor: Descriptor = {
    mediaType: top.parsed.mediaType,
    digest: top.digest,
    size: top.bytes.length,
  };
  if (top.parsed.kind !== "index") {
    return {
      descriptor,
      manifestDescriptor: descriptor,
      manifest: top.parsed.manifest,
      manifestBytes: top.bytes,
    };
  }
  const index = top.parsed.index;
  const manifestDescriptor = selectManifest(index, platform);
  const child = await read(manifestDescriptor.digest, manifestDescriptor.size);
  if (child.parsed.kind !== "manifest") {
    throw new TugError("MANIFEST_INVALID", `Index ${top.digest} of ${name} nests another index`);
  }
  return {
    descriptor,
    index,
    manifestDescriptor,
    manifest: child.parsed.manifest,
    manifestBytes: child.bytes,
  };
}

/**
 * Reads `ref`'s image from its registry: the manifest (an index resolved to `platform`), verified, and the
 * config, capped and verified.
 *
 * @example Read an image (needs a reachable registry, so not run here)
 * ```ts ignore
 * import { readImage } from "./read_image.ts";
 *
 * const image = await readImage(client, ref, { os: "linux", architecture: "arm64" });
 * ```
 */
export async function readImage(
  client: RegistryClient,
  ref: Reference,
  platform: Platform,
  signal?: AbortSignal,
): Promise<RemoteImageParts> {
  const { descriptor, index, manifestDescriptor, manifest } = await resolveManifest(
    (target, size) => fetchManifest(client, ref, target, { size, signal }),
    ref.familiar,
    platform,
  );
  const config = await readConfig(client, ref, manifest.config, signal);
  return { descriptor, index, manifestDescriptor, manifest, config };
}
