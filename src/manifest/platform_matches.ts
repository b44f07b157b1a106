// This module is browser compatible.
/**
 * Whether an image's platform can serve a wanted platform.
 *
 * @module
 */
import { normalizePlatform } from "./normalize_platform.ts";
import { platformKey, platformVector, sameKey } from "./_platform_vector.ts";
import type { Platform } from "./types.ts";

/** Options for {@linkcode platformMatches}. */
export interface PlatformMatchesOptions {
  /**
   * Only the very same platform (after normalization) matches: no older variants, no 386 for amd64, no
   * 32-bit arm for arm64 (containerd's `OnlyStrict`). Default `false`.
   */
  strict?: boolean;
}

/**
 * Whether an image built for `candidate` can run where `wanted` is asked for. Both are normalized first
 * (`aarch64` = `arm64` = `arm64/v8`). By default older compatible variants match too, as containerd's
 * `platforms.Only` (Docker's choice when pulling) allows: amd64/v3 runs amd64/v2, amd64 and 386; arm/v7
 * runs arm/v6 and arm/v5; arm64 runs arm64 variants below it and 32-bit arm/v8…v5. `os.version` and
 * features are not compared.
 *
 * To pick the best of several candidates use `selectManifest`, which ranks these fallbacks below an
 * exact match.
 *
 * @example
 * ```ts
 * import { platformMatches } from "./platform_matches.ts";
 *
 * const arm64 = { os: "linux", architecture: "arm64" };
 * console.assert(platformMatches(arm64, { os: "linux", architecture: "arm64", variant: "v8" }));
 * console.assert(platformMatches({ os: "linux", architecture: "arm", variant: "v7" },
 *   { os: "linux", architecture: "arm", variant: "v6" }));
 * console.assert(!platformMatches({ os: "linux", architecture: "arm", variant: "v7" },
 *   { os: "linux", architecture: "arm", variant: "v6" }, { strict: true }));
 * ```
 */
export function platformMatches(
  wanted: Platform,
  candidate: Platform,
  options: PlatformMatchesOptions = {},
): boolean {
  const w = normalizePlatform(wanted);
  const c = platformKey(normalizePlatform(candidate));
  if (options.strict) return sameKey(platformKey(w), c);
  return platformVector(w).some((k) => sameKey(k, c));
}
