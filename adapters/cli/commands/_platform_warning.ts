/**
 * Docker's warnings when a pulled image is for another platform than the one asked for (a single-platform
 * image is pulled whatever its platform, for backward compatibility, as Docker pulls it).
 *
 * @module
 */
import type { PulledImage } from "../../../src/pull/types.ts";
import type { Store } from "../../../src/store/types.ts";
import { formatPlatform } from "../../../src/manifest/format_platform.ts";
import { normalizePlatform } from "../../../src/manifest/normalize_platform.ts";
import { parseImageConfig } from "../../../src/manifest/parse_image_config.ts";
import { parsePlatform } from "../../../src/manifest/parse_platform.ts";
import { platformMatches } from "../../../src/manifest/platform_matches.ts";
import { readSmallBlob } from "../../fs/resolve_image.ts";

/**
 * The warning for `image` (pulled as `name` for `wanted`), or undefined when its platform serves `wanted`.
 * `explicit`: `--platform` was given. Docker's two texts:
 * - moby daemon/images (GetImage, printed by the pull as "WARNING: …"): `image with reference NAME was
 *   found but does not match the specified platform: wanted P, actual: Q`;
 * - docker run/create, when no platform was asked for: `The requested image's platform (Q) does not match
 *   the detected host platform (P) and no specific platform was requested`.
 */
export async function platformWarning(
  store: Store,
  image: PulledImage,
  name: string,
  wanted: string,
  explicit: boolean,
): Promise<string | undefined> {
  // Picked from an index for `wanted`: it matches by construction.
  if (image.platform !== undefined) return undefined;
  let actual;
  try {
    const config = parseImageConfig(await readSmallBlob(store, image.manifest.config));
    if (!config.os || !config.architecture) return undefined; // nothing to compare (e.g. a schema1 image)
    actual = normalizePlatform({
      os: config.os,
      architecture: config.architecture,
      ...(config.variant ? { variant: config.variant } : {}),
    });
  } catch {
    return undefined; // not an image config tug can read: no claim about its platform
  }
  const want = parsePlatform(wanted);
  if (platformMatches(want, actual)) return undefined;
  return explicit
    ? `WARNING: image with reference ${name} was found but does not match the specified platform: ` +
      `wanted ${formatPlatform(want)}, actual: ${formatPlatform(actual)}`
    : `WARNING: The requested image's platform (${formatPlatform(actual)}) does not match the detected ` +
      `host platform (${formatPlatform(want)}) and no specific platform was requested`;
}
