/**
 * Finds one platform image in a store from a name or a descriptor: shared by unpack() and save().
 *
 * @module
 */
import { TugError } from "../../src/errors.ts";
import { parseImageConfig } from "../../src/manifest/parse_image_config.ts";
import { MAX_MANIFEST_SIZE, parseManifest } from "../../src/manifest/parse_manifest.ts";
import { parsePlatform } from "../../src/manifest/parse_platform.ts";
import { selectManifest } from "../../src/manifest/select_manifest.ts";
import type { Descriptor, ImageConfig, ImageManifest, Platform } from "../../src/manifest/types.ts";
import { parseReference } from "../../src/reference/parse_reference.ts";
import { withDefaultTag } from "../../src/reference/with_default_tag.ts";
import type { Reference } from "../../src/reference/reference.ts";
import type { Store } from "../../src/store/types.ts";

/** One platform image read from a store. */
export interface ResolvedImage {
  /** The reference it was named by (undefined when a descriptor was given). */
  reference?: Reference;
  /** The reference as the store keys it (`host/repo:tag` or `host/repo@sha256:…`). */
  key?: string;
  /** Descriptor of the image manifest (a platform entry when the name pointed at an index). */
  descriptor: Descriptor;
  /** The manifest, parsed. */
  manifest: ImageManifest;
  /** The manifest's exact bytes. */
  manifestBytes: Uint8Array;
  /** The image configuration's exact bytes. */
  configBytes: Uint8Array;
  /** The image configuration, parsed. */
  config: ImageConfig;
}

/** Reads a small JSON blob (manifest or config) whole; they are capped at 4 MiB as pull caps them. */
export async function readSmallBlob(store: Store, descriptor: Descriptor): Promise<Uint8Array> {
  if (descriptor.size > MAX_MANIFEST_SIZE) {
    throw new TugError(
      "MANIFEST_TOO_LARGE",
      `Cannot read ${descriptor.digest}: ${descriptor.size} bytes is more than the 4 MiB allowed`,
    );
  }
  const bytes = new Uint8Array(await new Response(await store.blobs.get(descriptor.digest)).arrayBuffer());
  if (bytes.length !== descriptor.size) {
    throw new TugError(
      "STORE_CORRUPT",
      `Cannot read ${descriptor.digest}: the store holds ${bytes.length} bytes, the descriptor says ${descriptor.size}`,
    );
  }
  return bytes;
}

/** The key the store files a reference under (`tug inspect` looks names up the same way). */
function storeKey(ref: Reference): string {
  if (ref.tag !== undefined && ref.digest !== undefined) return `${ref.name}@${ref.digest}`;
  if (ref.tag === undefined && ref.digest === undefined) return `${ref.name}:latest`;
  return ref.toString();
}

/**
 * Resolves `image` (a name the store holds, or a manifest/index descriptor) to one platform image.
 * An index is narrowed to `platform` (default linux/amd64, as pull() defaults).
 */
export async function resolveImage(
  store: Store,
  image: string | Descriptor,
  platform: Platform | string | undefined,
  command: string,
): Promise<ResolvedImage> {
  let descriptor: Descriptor;
  let reference: Reference | undefined;
  let key: string | undefined;
  if (typeof image === "string") {
    // A name without a tag means NAME:latest (docker's default): the archive then records that tag.
    reference = withDefaultTag(parseReference(image));
    key = storeKey(reference);
    const found = await store.references.get(key);
    if (!found) {
      throw new TugError(
        "NOT_FOUND",
        `Cannot ${command} "${image}": no such image in the store (pull it first)`,
      );
    }
    descriptor = found;
  } else {
    descriptor = image;
  }
  let bytes = await readSmallBlob(store, descriptor);
  let parsed = parseManifest(bytes, { contentType: descriptor.mediaType, source: descriptor.digest });
  if (parsed.kind === "index") {
    const wanted = typeof platform === "string"
      ? parsePlatform(platform)
      : platform ?? parsePlatform("linux/amd64");
    descriptor = selectManifest(parsed.index, wanted);
    if (!(await store.blobs.stat(descriptor.digest))) {
      throw new TugError(
        "NOT_FOUND",
        `Cannot ${command} "${
          key ?? image
        }": the store lacks the manifest ${descriptor.digest} of its platform image`,
      );
    }
    bytes = await readSmallBlob(store, descriptor);
    parsed = parseManifest(bytes, { contentType: descriptor.mediaType, source: descriptor.digest });
    if (parsed.kind !== "manifest") {
      throw new TugError(
        "MANIFEST_INVALID",
        `Cannot ${command}: ${descriptor.digest} is an index inside an index`,
      );
    }
  }
  const manifest = parsed.manifest;
  const configBytes = await readSmallBlob(store, manifest.config);
  const config = parseImageConfig(configBytes);
  return { reference, key, descriptor, manifest, manifestBytes: bytes, configBytes, config };
}
