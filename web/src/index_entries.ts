/**
 * What each entry of an image index is: an image for a platform, the attestation manifest Docker buildx
 * adds for one of them, or another artifact. buildx writes an attestation as an entry with platform
 * `unknown/unknown` and the annotations `vnd.docker.reference.type: attestation-manifest` and
 * `vnd.docker.reference.digest: <the image manifest it attests>` (buildx docs, "Attestation storage").
 *
 * @module
 */

import type { Descriptor, ImageIndex } from "../../src/mod.ts";
import { formatPlatform } from "../../src/manifest/mod.ts";
import { shortDigest } from "./format.ts";

/** The annotation buildx puts on an attestation manifest's index entry. */
export const REFERENCE_TYPE = "vnd.docker.reference.type";
/** The annotation naming the image manifest an attestation is for. */
export const REFERENCE_DIGEST = "vnd.docker.reference.digest";

/** One entry of an index, as the page shows it. */
export interface IndexEntry {
  /** `image`: a platform image that can be opened; `attestation`: buildx's; `other`: anything else. */
  readonly kind: "image" | "attestation" | "other";
  /** The text shown: the platform, `attestation for linux/amd64`, or what the entry is. */
  readonly label: string;
  /** For an image, its platform as the `platform` parameter takes it. */
  readonly platform?: string;
  /** For an attestation, the digest of the image manifest it is for. */
  readonly subject?: string;
}

/**
 * Describes `entry` of `index`: an attestation is labelled with the platform of the manifest it attests
 * (found in the same index), or that manifest's short digest when the index does not list it. Entries
 * without a usable platform (`unknown/unknown`, none) are never images to show, as Docker's platform
 * matcher skips them.
 *
 * @example
 * ```ts
 * import { describeIndexEntry } from "./index_entries.ts";
 *
 * const image = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: "sha256:" + "a".repeat(64), size: 1, platform: { os: "linux", architecture: "amd64" } };
 * const attestation = {
 *   mediaType: "application/vnd.oci.image.manifest.v1+json",
 *   digest: "sha256:" + "b".repeat(64),
 *   size: 1,
 *   platform: { os: "unknown", architecture: "unknown" },
 *   annotations: { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": image.digest },
 * };
 * const index = { schemaVersion: 2 as const, manifests: [image, attestation] };
 * console.assert(describeIndexEntry(index, attestation).label === "attestation for linux/amd64");
 * ```
 */
export function describeIndexEntry(index: ImageIndex, entry: Descriptor): IndexEntry {
  const type = entry.annotations?.[REFERENCE_TYPE];
  if (type === "attestation-manifest") {
    const subject = entry.annotations?.[REFERENCE_DIGEST];
    if (subject === undefined) return { kind: "attestation", label: "attestation" };
    const target = index.manifests.find((d) => d.digest === subject);
    const of = target && isImagePlatform(target) ? formatPlatform(target.platform!) : shortDigest(subject);
    return { kind: "attestation", label: `attestation for ${of}`, subject };
  }
  if (isImagePlatform(entry) && type === undefined) {
    const platform = formatPlatform(entry.platform!);
    return { kind: "image", label: platform, platform };
  }
  const platform = entry.platform ? formatPlatform(entry.platform) : "no platform";
  return { kind: "other", label: `${platform} (${type ?? entry.artifactType ?? "artifact"})` };
}

function isImagePlatform(d: Descriptor): boolean {
  const p = d.platform;
  return p !== undefined && typeof p.os === "string" && typeof p.architecture === "string" &&
    p.os !== "" && p.architecture !== "" && p.os !== "unknown" && p.architecture !== "unknown";
}
