// This module is browser compatible.
/**
 * Picking one platform's manifest from an index or manifest list.
 *
 * @module
 */
import { TugError } from "../errors.ts";
import { formatPlatform } from "./format_platform.ts";
import { normalizePlatform } from "./normalize_platform.ts";
import { platformKey, platformVector, sameKey } from "./_platform_vector.ts";
import type { Descriptor, ImageIndex, Platform } from "./types.ts";

// buildx stores attestations (SBOM, provenance) as index entries with platform unknown/unknown.
function isUsable(platform: Platform | undefined): platform is Platform {
  return platform !== undefined && typeof platform.os === "string" &&
    typeof platform.architecture === "string" &&
    platform.os !== "" && platform.architecture !== "" &&
    !(platform.os === "unknown" && platform.architecture === "unknown");
}

/**
 * Picks the manifest for `wanted` from an index, as Docker's puller does with containerd's
 * `platforms.Only` matcher: an entry of the very platform (after normalization, so `linux/arm64` matches
 * an entry `linux/arm64/v8` and the other way round) beats an older compatible variant (amd64/v2 for
 * amd64/v3, arm/v6 then arm/v5 for arm/v7, arm64/v8.x below the wanted one, then 32-bit arm for arm64,
 * 386 for amd64); among equally good entries the first in index order wins.
 *
 * Entries without a platform, or with `unknown/unknown` (buildx attestation manifests), are skipped.
 * (Docker keeps platform-less entries as a last resort; tug does not guess what they hold.) `os.version`
 * is not compared.
 *
 * No match is a {@linkcode TugError} `PLATFORM_NOT_FOUND` whose message lists the platforms the index
 * has, e.g. `no matching manifest for linux/s390x in the manifest list entries (available: linux/amd64,
 * linux/arm64/v8)`.
 *
 * @example
 * ```ts
 * import { selectManifest } from "./select_manifest.ts";
 * import type { ImageIndex } from "./types.ts";
 *
 * const d = (n: string) => `sha256:${n.repeat(64)}`;
 * const mt = "application/vnd.oci.image.manifest.v1+json";
 * const index: ImageIndex = {
 *   schemaVersion: 2,
 *   manifests: [
 *     { mediaType: mt, digest: d("1"), size: 1, platform: { os: "linux", architecture: "amd64" } },
 *     { mediaType: mt, digest: d("2"), size: 1, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
 *   ],
 * };
 * console.assert(selectManifest(index, { os: "linux", architecture: "arm64" }).digest === d("2"));
 * ```
 */
export function selectManifest(index: ImageIndex, wanted: Platform): Descriptor {
  if (!Array.isArray(index?.manifests)) {
    throw new TypeError("selectManifest() expects an index with a manifests array");
  }
  const want = normalizePlatform(wanted);
  const vector = platformVector(want);
  let best: Descriptor | undefined;
  let bestRank = vector.length;
  for (const entry of index.manifests) {
    if (!isUsable(entry.platform)) continue;
    const key = platformKey(normalizePlatform(entry.platform));
    // Only a strictly better rank replaces the current choice, so ties keep index order.
    for (let rank = 0; rank < bestRank; rank++) {
      if (sameKey(vector[rank], key)) {
        best = entry;
        bestRank = rank;
        break;
      }
    }
    if (bestRank === 0) break;
  }
  if (best !== undefined) return best;

  const available = [
    ...new Set(index.manifests.map((m) => m.platform).filter(isUsable).map((p) => formatPlatform(p))),
  ];
  throw new TugError(
    "PLATFORM_NOT_FOUND",
    `no matching manifest for ${formatPlatform(want)} in the manifest list entries (available: ${
      available.length === 0 ? "none" : available.join(", ")
    })`,
    { detail: { wanted: want, available } },
  );
}
