/**
 * Which manifests a name stands for, for `tug rmi` and `tug prune -a`: the one it points at, and, when that
 * is an index, the platform manifests it lists. A pull of one platform names the index by its digest
 * (`NAME@<index digest>`, Docker's addDigestReference) and the platform manifest by the tag; Docker points
 * both at one image ID, so both names stand for the same image here too.
 *
 * @module
 */
import { isIndexMediaType } from "../../src/manifest/media_types.ts";
import { parseManifest } from "../../src/manifest/parse_manifest.ts";
import type { Descriptor } from "../../src/manifest/types.ts";
import type { Store } from "../../src/store/types.ts";
import { readSmallBlob } from "./resolve_image.ts";

/**
 * The digests `descriptor` stands for: its own, plus the entries of an index the store holds.
 *
 * @example
 * ```ts ignore
 * const digests = await imageDigests(store, (await store.references.get("reg/multi@sha256:…"))!);
 * ```
 */
export async function imageDigests(store: Store, descriptor: Descriptor): Promise<Set<string>> {
  const digests = new Set([descriptor.digest]);
  if (!isIndexMediaType(descriptor.mediaType)) return digests;
  try {
    const parsed = parseManifest(await readSmallBlob(store, descriptor), {
      contentType: descriptor.mediaType,
    });
    if (parsed.kind === "index") { for (const m of parsed.index.manifests) digests.add(m.digest); }
  } catch {
    // An index the store lacks or cannot parse stands for itself only.
  }
  return digests;
}
