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
  return parseImageConfig(bytes);
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
  const top = await fetchManifest(client, ref, undefined, { signal });
  const descriptor: Descriptor = {
    mediaType: top.parsed.mediaType,
    digest: top.digest,
    size: top.bytes.length,
  };
  let index: ImageIndex | undefined;
  let manifestDescriptor = descriptor;
  let manifest: ImageManifest;
  if (top.parsed.kind === "index") {
    index = top.parsed.index;
    manifestDescriptor = selectManifest(index, platform);
    const child = await fetchManifest(client, ref, manifestDescriptor.digest, {
      size: manifestDescriptor.size,
      signal,
    });
    if (child.parsed.kind !== "manifest") {
      throw new TugError("MANIFEST_INVALID", `Index ${top.digest} of ${ref.familiar} nests another index`);
    }
    manifest = child.parsed.manifest;
  } else {
    manifest = top.parsed.manifest;
  }
  const config = await readConfig(client, ref, manifest.config, signal);
  return { descriptor, index, manifestDescriptor, manifest, config };
}
