/**
 * `verifyStore()`: checks that a store is sound. Every blob is hashed again and compared with its name,
 * every reference must resolve to a stored manifest or index, and every blob those reference (config,
 * layers, child manifests, recursively) must be there. Leftovers of interrupted writes under `.tug/` are
 * reported; they are not corruption (a later pull resumes from them). With `repair`, corrupt blobs and
 * stale leftovers (of processes no longer running) are removed.
 *
 * @module
 */

import type { HasherFactory } from "../../src/digest/hasher.ts";
import { parseDigest } from "../../src/digest/parse_digest.ts";
import { isIndexMediaType, isManifestMediaType, isSchema1MediaType } from "../../src/manifest/media_types.ts";
import { MAX_MANIFEST_SIZE, parseManifest } from "../../src/manifest/parse_manifest.ts";
import type { Descriptor, ImageManifest } from "../../src/manifest/types.ts";
import { MEDIA_TYPE_DOCKER_CONFIG, MEDIA_TYPE_OCI_CONFIG } from "../../src/manifest/media_types.ts";
import { parseImageConfig } from "../../src/manifest/parse_image_config.ts";
import { layerDiffId, ROOTFS_MISMATCH } from "../../src/image/check_diff_ids.ts";
import type { Store } from "../../src/store/types.ts";
import { nodeHasher } from "../crypto/node_hasher.ts";
import type { OciLayoutStore, TempFile } from "./oci_layout_store.ts";

/** A blob whose bytes do not hash to its name (or that cannot be read). */
export interface CorruptBlob {
  readonly digest: string;
  readonly size: number;
  /** The digest its bytes hash to, when they could be read. */
  readonly actual?: string;
  /** What is wrong, in words. */
  readonly reason: string;
}

/** A blob something refers to that is not in the store (or has another size). */
export interface MissingBlob {
  readonly digest: string;
  /** Who refers to it: a reference name, or the digest of the manifest or index that lists it. */
  readonly referencedBy: string;
  /** What is wrong, in words. */
  readonly reason: string;
}

/** An image whose layers do not decompress to the diffIDs its config lists (`diffIds: true`). */
export interface DiffIdMismatch {
  /** The image manifest. */
  readonly manifest: string;
  /** The layer blob. */
  readonly layer: string;
  /** The diffID the config lists for it. */
  readonly expected: string;
  /** The diffID its bytes decompress to, when they could be decompressed. */
  readonly actual?: string;
  /** What is wrong, in words. */
  readonly reason: string;
}

/** What {@linkcode verifyStore} found (and, with `repair`, did). */
export interface VerifyReport {
  /** No corrupt blob, no dangling reference, no missing or unreadable manifest or blob. */
  readonly sound: boolean;
  /** Blobs hashed. */
  readonly blobs: number;
  /** Bytes hashed. */
  readonly bytes: number;
  /** References checked. */
  readonly references: number;
  /** Blobs whose content does not match their digest. */
  readonly corrupt: CorruptBlob[];
  /** Blobs referenced but absent (or of another size), and manifests that do not parse. */
  readonly missing: MissingBlob[];
  /** Leftovers of interrupted writes (partials kept for resumes, temp files of dead or running processes). */
  readonly temp: TempFile[];
  /** With `repair`: the corrupt blobs removed. */
  readonly removedBlobs: string[];
  /** With `repair`: the leftovers removed (never those of a running process). */
  readonly removedTemp: TempFile[];
  /** With `diffIds`: the image manifests whose layers were checked against their config's diffIDs. */
  readonly diffIdImages: number;
  /** With `diffIds`: layers that do not decompress to the diffID their image's config lists. */
  readonly diffIdMismatches: DiffIdMismatch[];
}

/** Options for {@linkcode verifyStore}. */
export interface VerifyStoreOptions {
  /** Hasher for re-hashing blobs (default: node:crypto). */
  hasher?: HasherFactory;
  /** Remove corrupt blobs and stale leftovers. */
  repair?: boolean;
  /** Called for each blob as it is checked (for progress output). */
  onBlob?: (digest: string, size: number) => void;
  /**
   * Also check every image's layers against its config's `rootfs.diff_ids` (as Docker's pull does): each
   * layer is decompressed once, unless the store recorded its diffID before (`store.diffIds`; the blob was
   * just re-hashed, so the record still holds), and what is found is recorded.
   */
  diffIds?: boolean;
}

const MAX_MANIFEST = MAX_MANIFEST_SIZE;

function isTempStore(store: Store): store is OciLayoutStore {
  return typeof (store as Partial<OciLayoutStore>).listTemp === "function";
}

/** Foreign (non-distributable) layers are not downloaded (Docker, image-spec layer.md): not expected here. */
function isForeign(descriptor: Descriptor): boolean {
  return /nondistributable|foreign/.test(descriptor.mediaType) && (descriptor.urls?.length ?? 0) > 0;
}

async function rehash(
  store: Store,
  digest: string,
  size: number,
  hasher: HasherFactory,
): Promise<CorruptBlob | undefined> {
  const parsed = parseDigest(digest);
  let actualSize = 0;
  let actual: string;
  try {
    const hash = await hasher(parsed.algorithm);
    const reader = (await store.blobs.get(digest)).getReader();
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      actualSize += value.byteLength;
    }
    actual = `${parsed.algorithm}:${hash.digest()}`;
  } catch (err) {
    return { digest, size, reason: `cannot be read: ${(err as Error).message}` };
  }
  if (actual !== digest) return { digest, size, actual, reason: `its content hashes to ${actual}` };
  if (actualSize !== size) {
    return { digest, size, actual, reason: `read ${actualSize} bytes, listed as ${size}` };
  }
  return undefined;
}

/**
 * Verifies a store: re-hashes every blob, resolves every reference and every blob a stored manifest or
 * index lists (recursively), and lists leftovers of interrupted writes (an {@linkcode OciLayoutStore}'s
 * `.tug/`). With `repair`, removes the corrupt blobs and the leftovers of processes no longer running.
 *
 * @example
 * ```ts
 * import { OciLayoutStore } from "./oci_layout_store.ts";
 * import { verifyStore } from "./verify_store.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const report = await verifyStore(await OciLayoutStore.open(dir));
 * console.assert(report.sound && report.blobs === 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function verifyStore(store: Store, options: VerifyStoreOptions = {}): Promise<VerifyReport> {
  const hasher = options.hasher ?? nodeHasher;
  const corrupt: CorruptBlob[] = [];
  const sizes = new Map<string, number>();
  let blobs = 0;
  let bytes = 0;
  for await (const blob of store.blobs.list()) {
    options.onBlob?.(blob.digest, blob.size);
    blobs++;
    bytes += blob.size;
    const problem = await rehash(store, blob.digest, blob.size, hasher);
    if (problem) corrupt.push(problem);
    else sizes.set(blob.digest, blob.size);
  }

  const removedBlobs: string[] = [];
  if (options.repair) {
    for (const blob of corrupt) {
      if (await store.blobs.delete(blob.digest)) removedBlobs.push(blob.digest);
    }
  }

  // Every reference, then every blob a manifest or index lists. A corrupt blob counts as absent.
  const missing: MissingBlob[] = [];
  const checked = new Set<string>();
  const references = await store.references.list();
  /** What tags name (a digest name has an `@`): an index among them must list only blobs the store has. */
  const tagged = new Set(references.filter((r) => !r.name.includes("@")).map((r) => r.descriptor.digest));
  const images = new Map<string, ImageManifest>();
  const visit = async (descriptor: Descriptor, referencedBy: string, inIndex = false): Promise<void> => {
    const key = `${descriptor.digest}\0${referencedBy}`;
    if (checked.has(key)) return;
    checked.add(key);
    if (isForeign(descriptor)) return;
    const size = sizes.get(descriptor.digest);
    // A pull of one platform keeps the index for its digest name (NAME@<index digest>) without the other
    // platforms' manifests, as containerd keeps a partial index: an absent entry of an index that only digest
    // names reach is not missing. An index a tag names (a pull with --all-platforms) must be whole, and a
    // corrupt entry is always reported.
    if (size === undefined && inIndex && !corrupt.some((c) => c.digest === descriptor.digest)) return;
    if (size === undefined) {
      const bad = corrupt.some((c) => c.digest === descriptor.digest);
      const removed = removedBlobs.includes(descriptor.digest);
      missing.push({
        digest: descriptor.digest,
        referencedBy,
        reason: removed
          ? "it was corrupt and has been removed"
          : bad
          ? "it is corrupt"
          : "it is not in the store",
      });
      return;
    }
    if (size !== descriptor.size) {
      missing.push({
        digest: descriptor.digest,
        referencedBy,
        reason: `it has ${size} bytes, the descriptor says ${descriptor.size}`,
      });
      return;
    }
    const type = descriptor.mediaType;
    if (!isManifestMediaType(type) && !isIndexMediaType(type) || isSchema1MediaType(type)) return;
    // Visit each manifest's children once, whoever refers to it.
    const childKey = `children\0${descriptor.digest}`;
    if (checked.has(childKey)) return;
    checked.add(childKey);
    if (size > MAX_MANIFEST) {
      missing.push({ digest: descriptor.digest, referencedBy, reason: "the manifest is larger than 4 MiB" });
      return;
    }
    let children: Descriptor[];
    let isIndex = false;
    try {
      const body = new Uint8Array(await new Response(await store.blobs.get(descriptor.digest)).arrayBuffer());
      const parsed = parseManifest(body, { contentType: type, source: descriptor.digest });
      isIndex = parsed.kind === "index";
      if (parsed.kind === "manifest" && isImageConfig(parsed.manifest.config.mediaType)) {
        images.set(descriptor.digest, parsed.manifest);
      }
      children = parsed.kind === "index"
        ? parsed.index.manifests
        : [parsed.manifest.config, ...parsed.manifest.layers];
    } catch (err) {
      missing.push({
        digest: descriptor.digest,
        referencedBy,
        reason: `the manifest cannot be read: ${(err as Error).message}`,
      });
      return;
    }
    const partialAllowed = isIndex && !tagged.has(descriptor.digest);
    for (const child of children) await visit(child, descriptor.digest, partialAllowed);
  };
  for (const record of references) await visit(record.descriptor, record.name);
  const diffIdMismatches = options.diffIds ? await checkImages(store, images, sizes, hasher) : [];

  let temp: TempFile[] = [];
  let removedTemp: TempFile[] = [];
  if (isTempStore(store)) {
    temp = await store.listTemp();
    if (options.repair) {
      // Only leftovers of processes no longer running (removeTemp skips files in use).
      removedTemp = await store.removeTemp();
      const gone = new Set(removedTemp.map((f) => f.path));
      temp = temp.filter((f) => !gone.has(f.path));
    }
  }

  const remainingCorrupt = options.repair ? corrupt.filter((c) => !removedBlobs.includes(c.digest)) : corrupt;
  return {
    sound: remainingCorrupt.length === 0 && missing.length === 0 && diffIdMismatches.length === 0,
    blobs,
    bytes,
    references: references.length,
    corrupt,
    missing,
    temp,
    removedBlobs,
    removedTemp,
    diffIdImages: options.diffIds ? images.size : 0,
    diffIdMismatches,
  };
}

function isImageConfig(mediaType: string): boolean {
  return mediaType === MEDIA_TYPE_DOCKER_CONFIG || mediaType === MEDIA_TYPE_OCI_CONFIG;
}

/** The diffID check of every image whose config and layers are sound (absent or corrupt ones are reported already). */
async function checkImages(
  store: Store,
  images: Map<string, ImageManifest>,
  sound: Map<string, number>,
  hasher: HasherFactory,
): Promise<DiffIdMismatch[]> {
  const found: DiffIdMismatch[] = [];
  for (const [digest, manifest] of images) {
    if (!sound.has(manifest.config.digest)) continue;
    let diffIds: readonly string[];
    try {
      const bytes = new Uint8Array(
        await new Response(await store.blobs.get(manifest.config.digest)).arrayBuffer(),
      );
      diffIds = parseImageConfig(bytes).rootfs?.diff_ids ?? [];
    } catch (err) {
      found.push({
        manifest: digest,
        layer: manifest.config.digest,
        expected: "",
        reason: `the config cannot be read: ${(err as Error).message}`,
      });
      continue;
    }
    if (diffIds.length !== manifest.layers.length) {
      found.push({
        manifest: digest,
        layer: manifest.config.digest,
        expected: "",
        reason: `${ROOTFS_MISMATCH} (${manifest.layers.length} layers, ${diffIds.length} diff_ids)`,
      });
      continue;
    }
    for (let i = 0; i < manifest.layers.length; i++) {
      const layer = manifest.layers[i];
      if (!sound.has(layer.digest)) continue;
      const expected = diffIds[i];
      try {
        const actual = await layerDiffId(store, layer, { hasher, like: expected });
        if (actual !== expected) {
          found.push({
            manifest: digest,
            layer: layer.digest,
            expected,
            actual,
            reason: `${ROOTFS_MISMATCH}: it decompresses to ${actual}, the config says ${expected}`,
          });
        }
      } catch (err) {
        found.push({
          manifest: digest,
          layer: layer.digest,
          expected,
          reason: `it cannot be decompressed: ${(err as Error).message}`,
        });
      }
    }
  }
  return found;
}
