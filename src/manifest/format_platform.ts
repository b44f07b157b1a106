// This module is browser compatible.
/**
 * Formatting a platform as `os/arch[/variant]`.
 *
 * @module
 */
import type { Platform } from "./types.ts";

/**
 * Formats a platform as `os/architecture[/variant]`, the form `docker pull --platform` takes and
 * Docker's messages show. The platform is not normalized first; pass it through `normalizePlatform`
 * for the canonical spelling. A platform without an os formats as `unknown`, as containerd's
 * `platforms.Format` does.
 *
 * @example
 * ```ts
 * import { formatPlatform } from "./format_platform.ts";
 *
 * console.assert(formatPlatform({ os: "linux", architecture: "arm64", variant: "v8" }) === "linux/arm64/v8");
 * console.assert(formatPlatform({ os: "linux", architecture: "amd64" }) === "linux/amd64");
 * ```
 */
export function formatPlatform(platform: Platform): string {
  if (!platform?.os) return "unknown";
  let text = platform.os;
  if (platform.architecture) text += "/" + platform.architecture;
  if (platform.variant) text += "/" + platform.variant;
  return text;
}
