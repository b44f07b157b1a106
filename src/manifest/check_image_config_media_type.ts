// This module is browser compatible.
/**
 * Docker's rule for which manifests are images: the config descriptor's media type.
 *
 * @module
 */
import { TugError } from "../errors.ts";
import {
  MEDIA_TYPE_DOCKER_CONFIG,
  MEDIA_TYPE_DOCKER_PLUGIN_CONFIG,
  MEDIA_TYPE_OCI_CONFIG,
} from "./media_types.ts";
import type { Descriptor } from "./types.ts";

// The config types Docker's v2 puller accepts as images (its `defaultImageTypes`). Besides the Docker and
// OCI config types it takes three types old registries and tools wrote by mistake (distribution issue
// 1621, moby issues 22378 and 30083) and the empty string ("treat defaulted values as images").
const IMAGE_CONFIG_TYPES: ReadonlySet<string> = new Set([
  MEDIA_TYPE_DOCKER_CONFIG,
  MEDIA_TYPE_OCI_CONFIG,
  "application/octet-stream",
  "application/json",
  "text/html",
  "",
]);

/**
 * Refuses a manifest whose config is not an image config, as Docker's v2 puller does before it downloads
 * anything:
 * - the Docker plugin config type → `TARGET_IS_PLUGIN` ("target is plugin"; `docker plugin install`
 *   reads those, `docker pull` does not);
 * - any other type that is not an image config → `TARGET_IS_UNKNOWN` ("target is unknown"). This covers
 *   OCI artifacts (Helm charts, signatures, SBOMs, `application/vnd.oci.empty.v1+json` configs) and
 *   Docker's AI model type; Docker refuses those too, either with this check (schema 2) or with its
 *   "unsupported media type" check (OCI manifests).
 *
 * The accepted types are `application/vnd.docker.container.image.v1+json`,
 * `application/vnd.oci.image.config.v1+json`, and — as Docker accepts them for old pushes —
 * `application/octet-stream`, `application/json`, `text/html` and the empty string.
 *
 * Kept apart from `parseManifest` so callers choose: `tug pull` applies it; the proxy and the inspection
 * page, which serve or show any artifact, do not.
 *
 * @example Refuse a plugin
 * ```ts
 * import { checkImageConfigMediaType } from "./check_image_config_media_type.ts";
 * import { isTugError } from "../errors.ts";
 *
 * const digest = `sha256:${"0".repeat(64)}`;
 * checkImageConfigMediaType({ mediaType: "application/vnd.oci.image.config.v1+json", digest, size: 1 });
 * try {
 *   checkImageConfigMediaType({ mediaType: "application/vnd.docker.plugin.v1+json", digest, size: 1 });
 * } catch (err) {
 *   console.assert(isTugError(err, "TARGET_IS_PLUGIN"));
 * }
 * ```
 */
export function checkImageConfigMediaType(descriptor: Descriptor): void {
  const mediaType = descriptor.mediaType ?? "";
  if (IMAGE_CONFIG_TYPES.has(mediaType)) return;
  if (mediaType === MEDIA_TYPE_DOCKER_PLUGIN_CONFIG) {
    throw new TugError(
      "TARGET_IS_PLUGIN",
      `target is plugin: the manifest's config is "${mediaType}" (install it as a Docker plugin, not an image)`,
      { detail: { mediaType } },
    );
  }
  const hint = mediaType.toLowerCase().startsWith("application/vnd.docker.ai.")
    ? " (an AI model, not a container image)"
    : " (not an image config; an OCI artifact or another kind of content)";
  throw new TugError(
    "TARGET_IS_UNKNOWN",
    `target is unknown: the manifest's config is "${mediaType}"${hint}`,
    { detail: { mediaType } },
  );
}
