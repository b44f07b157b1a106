// This module is browser compatible.
/**
 * Manifests, indexes and image configs: media types, parsing with validation, platform selection, and
 * the legacy Docker schema1 manifest.
 *
 * @example Pick the arm64 image from an index
 * ```ts
 * import { parseManifest, parsePlatform, selectManifest } from "./mod.ts";
 *
 * const d = (n: string) => `sha256:${n.repeat(64)}`;
 * const mt = "application/vnd.oci.image.manifest.v1+json";
 * const json = JSON.stringify({
 *   schemaVersion: 2,
 *   mediaType: "application/vnd.oci.image.index.v1+json",
 *   manifests: [
 *     { mediaType: mt, digest: d("1"), size: 10, platform: { os: "linux", architecture: "amd64" } },
 *     { mediaType: mt, digest: d("2"), size: 10, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
 *   ],
 * });
 * const parsed = parseManifest(new TextEncoder().encode(json));
 * if (parsed.kind === "index") {
 *   console.assert(selectManifest(parsed.index, parsePlatform("linux/arm64")).digest === d("2"));
 * }
 * ```
 *
 * @module
 */
export type * from "./types.ts";
export * from "./media_types.ts";
export * from "./parse_manifest.ts";
export * from "./check_image_config_media_type.ts";
export * from "./parse_image_config.ts";
export * from "./parse_platform.ts";
export * from "./format_platform.ts";
export * from "./normalize_platform.ts";
export * from "./platform_matches.ts";
export * from "./select_manifest.ts";
export * from "./schema1.ts";
