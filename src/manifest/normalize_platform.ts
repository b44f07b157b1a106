// This module is browser compatible.
/**
 * Platform normalization, as containerd's `platforms` package does it.
 *
 * @module
 */
import type { Platform } from "./types.ts";

const DIGITS = /^\d+$/;

/**
 * Returns `platform` in canonical form so that equal platforms compare equal (containerd's
 * `platforms.Normalize`, which Docker uses):
 * - `os` lowercase; `macos` → `darwin`;
 * - `x86_64`, `x86-64`, `amd64` → `amd64` (variant `v1` is the baseline, so it is dropped; `"3"` → `"v3"`);
 * - `aarch64`, `arm64` → `arm64` with variant `v8` when none is given (`"8"`, `"8.0"`, `"v8.0"` → `"v8"`,
 *   `"9"` → `"v9"`). containerd spells the default as an empty variant instead; tug spells it `v8`, the way
 *   registries list arm64 images (`linux/arm64/v8`). Both sides of every comparison are normalized, so
 *   the two spellings match each other either way;
 * - `armhf` → `arm` v7, `armel` → `arm` v6, `arm` → variant `v7` when none is given (`"6"` → `"v6"`);
 * - `i386` → `386` (no variant);
 * - other architectures and variants are only lowercased.
 *
 * `os.version`, `os.features` and `features` are kept as they are. The input is not modified.
 *
 * @example
 * ```ts
 * import { normalizePlatform } from "./normalize_platform.ts";
 *
 * const p = normalizePlatform({ os: "Linux", architecture: "aarch64" });
 * console.assert(p.os === "linux" && p.architecture === "arm64" && p.variant === "v8");
 * console.assert(normalizePlatform({ os: "linux", architecture: "armhf" }).variant === "v7");
 * ```
 */
export function normalizePlatform(platform: Platform): Platform {
  if (typeof platform?.os !== "string" || typeof platform.architecture !== "string") {
    throw new TypeError("normalizePlatform() expects a platform with string os and architecture");
  }
  if (platform.variant !== undefined && typeof platform.variant !== "string") {
    throw new TypeError("normalizePlatform() expects the platform's variant to be a string when present");
  }
  let os = platform.os.toLowerCase();
  if (os === "macos") os = "darwin";
  let architecture = platform.architecture.toLowerCase();
  let variant = (platform.variant ?? "").toLowerCase();
  switch (architecture) {
    case "i386":
      architecture = "386";
      variant = "";
      break;
    case "x86_64":
    case "x86-64":
    case "amd64":
      architecture = "amd64";
      if (DIGITS.test(variant)) variant = "v" + variant;
      if (variant === "v1") variant = "";
      break;
    case "aarch64":
    case "arm64": {
      architecture = "arm64";
      // "8", "8.0", "v8.0" → "v8"; "9.2" → "v9.2"
      const m = /^v?(\d+)(?:\.(\d+))?$/.exec(variant);
      if (variant === "") variant = "v8";
      else if (m) variant = m[2] === undefined || m[2] === "0" ? `v${m[1]}` : `v${m[1]}.${m[2]}`;
      break;
    }
    case "armhf":
      architecture = "arm";
      variant = "v7";
      break;
    case "armel":
      architecture = "arm";
      variant = "v6";
      break;
    case "arm":
      if (variant === "") variant = "v7";
      else if (DIGITS.test(variant)) variant = "v" + variant;
      break;
  }
  const result: Platform = { ...platform, os, architecture };
  if (variant === "") delete result.variant;
  else result.variant = variant;
  return result;
}
