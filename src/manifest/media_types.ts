// This module is browser compatible.
/**
 * Media types of the OCI image spec and of Docker's image formats, the Accept list tug sends for
 * manifests, and small classifiers.
 *
 * @example Classify a descriptor's media type
 * ```ts
 * import { isLayerMediaType, layerCompression, MEDIA_TYPE_OCI_LAYER_ZSTD } from "./media_types.ts";
 *
 * console.assert(isLayerMediaType(MEDIA_TYPE_OCI_LAYER_ZSTD));
 * console.assert(layerCompression(MEDIA_TYPE_OCI_LAYER_ZSTD) === "zstd");
 * ```
 *
 * @module
 */

// ---- OCI image spec (media-types.md) ----

/**
 * OCI image manifest (image-spec manifest.md).
 *
 * @example
 * ```ts
 * import { MEDIA_TYPE_OCI_MANIFEST } from "./media_types.ts";
 * console.assert(MEDIA_TYPE_OCI_MANIFEST === "application/vnd.oci.image.manifest.v1+json");
 * ```
 */
export const MEDIA_TYPE_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/**
 * OCI image index (image-spec image-index.md).
 *
 * @example
 * ```ts
 * import { MEDIA_TYPE_OCI_INDEX } from "./media_types.ts";
 * console.assert(MEDIA_TYPE_OCI_INDEX.endsWith("index.v1+json"));
 * ```
 */
export const MEDIA_TYPE_OCI_INDEX = "application/vnd.oci.image.index.v1+json";

/**
 * OCI image configuration (image-spec config.md).
 *
 * @example
 * ```ts
 * import { MEDIA_TYPE_OCI_CONFIG } from "./media_types.ts";
 * console.assert(MEDIA_TYPE_OCI_CONFIG === "application/vnd.oci.image.config.v1+json");
 * ```
 */
export const MEDIA_TYPE_OCI_CONFIG = "application/vnd.oci.image.config.v1+json";

/**
 * OCI layer, uncompressed tar.
 *
 * @example
 * ```ts
 * import { layerCompression, MEDIA_TYPE_OCI_LAYER } from "./media_types.ts";
 * console.assert(layerCompression(MEDIA_TYPE_OCI_LAYER) === "none");
 * ```
 */
export const MEDIA_TYPE_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";

/**
 * OCI layer, gzip-compressed tar.
 *
 * @example
 * ```ts
 * import { layerCompression, MEDIA_TYPE_OCI_LAYER_GZIP } from "./media_types.ts";
 * console.assert(layerCompression(MEDIA_TYPE_OCI_LAYER_GZIP) === "gzip");
 * ```
 */
export const MEDIA_TYPE_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";

/**
 * OCI layer, zstd-compressed tar.
 *
 * @example
 * ```ts
 * import { layerCompression, MEDIA_TYPE_OCI_LAYER_ZSTD } from "./media_types.ts";
 * console.assert(layerCompression(MEDIA_TYPE_OCI_LAYER_ZSTD) === "zstd");
 * ```
 */
export const MEDIA_TYPE_OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";

/**
 * OCI non-distributable layer, uncompressed (deprecated by image-spec 1.1, still readable).
 *
 * @example
 * ```ts
 * import { isLayerMediaType, MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE } from "./media_types.ts";
 * console.assert(isLayerMediaType(MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE));
 * ```
 */
export const MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE =
  "application/vnd.oci.image.layer.nondistributable.v1.tar";

/**
 * OCI non-distributable layer, gzip-compressed.
 *
 * @example
 * ```ts
 * import { layerCompression, MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_GZIP } from "./media_types.ts";
 * console.assert(layerCompression(MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_GZIP) === "gzip");
 * ```
 */
export const MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_GZIP =
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";

/**
 * OCI non-distributable layer, zstd-compressed.
 *
 * @example
 * ```ts
 * import { layerCompression, MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_ZSTD } from "./media_types.ts";
 * console.assert(layerCompression(MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_ZSTD) === "zstd");
 * ```
 */
export const MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_ZSTD =
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

/**
 * The empty descriptor's media type (image-spec manifest.md, "Guidance for an Empty Descriptor"): the
 * config of artifacts that have none, whose content is `{}`.
 *
 * @example
 * ```ts
 * import { MEDIA_TYPE_OCI_EMPTY } from "./media_types.ts";
 * console.assert(MEDIA_TYPE_OCI_EMPTY === "application/vnd.oci.empty.v1+json");
 * ```
 */
export const MEDIA_TYPE_OCI_EMPTY = "application/vnd.oci.empty.v1+json";

// ---- Docker (distribution's manifest-v2-2.md, Docker's schema1 and plugin formats) ----

/**
 * Docker image manifest, schema 2.
 *
 * @example
 * ```ts
 * import { isManifestMediaType, MEDIA_TYPE_DOCKER_MANIFEST } from "./media_types.ts";
 * console.assert(isManifestMediaType(MEDIA_TYPE_DOCKER_MANIFEST));
 * ```
 */
export const MEDIA_TYPE_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

/**
 * Docker manifest list (the schema 2 "fat manifest").
 *
 * @example
 * ```ts
 * import { isIndexMediaType, MEDIA_TYPE_DOCKER_MANIFEST_LIST } from "./media_types.ts";
 * console.assert(isIndexMediaType(MEDIA_TYPE_DOCKER_MANIFEST_LIST));
 * ```
 */
export const MEDIA_TYPE_DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

/**
 * Docker container image configuration.
 *
 * @example
 * ```ts
 * import { MEDIA_TYPE_DOCKER_CONFIG } from "./media_types.ts";
 * console.assert(MEDIA_TYPE_DOCKER_CONFIG === "application/vnd.docker.container.image.v1+json");
 * ```
 */
export const MEDIA_TYPE_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";

/**
 * Docker layer, gzip-compressed tar (the usual schema 2 layer).
 *
 * @example
 * ```ts
 * import { layerCompression, MEDIA_TYPE_DOCKER_LAYER } from "./media_types.ts";
 * console.assert(layerCompression(MEDIA_TYPE_DOCKER_LAYER) === "gzip");
 * ```
 */
export const MEDIA_TYPE_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/**
 * Docker layer, uncompressed tar (written by some tools; containerd reads it).
 *
 * @example
 * ```ts
 * import { layerCompression, MEDIA_TYPE_DOCKER_LAYER_TAR } from "./media_types.ts";
 * console.assert(layerCompression(MEDIA_TYPE_DOCKER_LAYER_TAR) === "none");
 * ```
 */
export const MEDIA_TYPE_DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar";

/**
 * Docker layer, zstd-compressed tar (written by BuildKit's zstd export to Docker-format manifests).
 *
 * @example
 * ```ts
 * import { layerCompression, MEDIA_TYPE_DOCKER_LAYER_ZSTD } from "./media_types.ts";
 * console.assert(layerCompression(MEDIA_TYPE_DOCKER_LAYER_ZSTD) === "zstd");
 * ```
 */
export const MEDIA_TYPE_DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd";

/**
 * Docker foreign layer (Windows base layers), gzip-compressed, fetched from the descriptor's `urls`.
 *
 * @example
 * ```ts
 * import { isLayerMediaType, MEDIA_TYPE_DOCKER_FOREIGN_LAYER } from "./media_types.ts";
 * console.assert(isLayerMediaType(MEDIA_TYPE_DOCKER_FOREIGN_LAYER));
 * ```
 */
export const MEDIA_TYPE_DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

/**
 * Docker plugin configuration: a manifest with this config is a plugin, not an image.
 *
 * @example
 * ```ts
 * import { MEDIA_TYPE_DOCKER_PLUGIN_CONFIG } from "./media_types.ts";
 * console.assert(MEDIA_TYPE_DOCKER_PLUGIN_CONFIG === "application/vnd.docker.plugin.v1+json");
 * ```
 */
export const MEDIA_TYPE_DOCKER_PLUGIN_CONFIG = "application/vnd.docker.plugin.v1+json";

/**
 * Docker image manifest, schema 1 (unsigned). Legacy.
 *
 * @example
 * ```ts
 * import { isSchema1MediaType, MEDIA_TYPE_DOCKER_SCHEMA1_MANIFEST } from "./media_types.ts";
 * console.assert(isSchema1MediaType(MEDIA_TYPE_DOCKER_SCHEMA1_MANIFEST));
 * ```
 */
export const MEDIA_TYPE_DOCKER_SCHEMA1_MANIFEST = "application/vnd.docker.distribution.manifest.v1+json";

/**
 * Docker image manifest, schema 1, signed with JWS. Legacy.
 *
 * @example
 * ```ts
 * import { isSchema1MediaType, MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST } from "./media_types.ts";
 * console.assert(isSchema1MediaType(MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST));
 * ```
 */
export const MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST =
  "application/vnd.docker.distribution.manifest.v1+prettyjws";

/**
 * The manifest media types tug accepts, most preferred first, for the `Accept` header of a manifest
 * request. Indexes come first so that a registry hands out the multi-platform document and tug picks the
 * platform itself, as Docker and containerd do. Schema 1 is not listed: the legacy path adds it.
 *
 * @example Build the Accept header
 * ```ts
 * import { MANIFEST_ACCEPT } from "./media_types.ts";
 *
 * const headers = new Headers({ Accept: MANIFEST_ACCEPT.join(", ") });
 * console.assert(headers.get("accept")!.startsWith("application/vnd.oci.image.index.v1+json"));
 * ```
 */
export const MANIFEST_ACCEPT: readonly string[] = Object.freeze([
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_DOCKER_MANIFEST,
]);

/**
 * The legacy schema 1 manifest media types, signed first, for the end of an `Accept` header: Docker asks
 * for them last, so a registry sends schema 1 only for images it has in no other format.
 *
 * @example
 * ```ts
 * import { MANIFEST_ACCEPT, SCHEMA1_MANIFEST_ACCEPT } from "./media_types.ts";
 *
 * const accept = [...MANIFEST_ACCEPT, ...SCHEMA1_MANIFEST_ACCEPT];
 * console.assert(accept.at(-1) === "application/vnd.docker.distribution.manifest.v1+json");
 * ```
 */
export const SCHEMA1_MANIFEST_ACCEPT: readonly string[] = Object.freeze([
  MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST,
  MEDIA_TYPE_DOCKER_SCHEMA1_MANIFEST,
]);

/**
 * Whether `mediaType` names a multi-platform document: an OCI index or a Docker manifest list.
 *
 * @example
 * ```ts
 * import { isIndexMediaType } from "./media_types.ts";
 *
 * console.assert(isIndexMediaType("application/vnd.oci.image.index.v1+json"));
 * console.assert(!isIndexMediaType("application/vnd.oci.image.manifest.v1+json"));
 * ```
 */
export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPE_OCI_INDEX || mediaType === MEDIA_TYPE_DOCKER_MANIFEST_LIST;
}

/**
 * Whether `mediaType` names a single-platform image manifest: OCI or Docker schema 2 (not schema 1).
 *
 * @example
 * ```ts
 * import { isManifestMediaType } from "./media_types.ts";
 *
 * console.assert(isManifestMediaType("application/vnd.docker.distribution.manifest.v2+json"));
 * console.assert(!isManifestMediaType("application/vnd.docker.distribution.manifest.v1+prettyjws"));
 * ```
 */
export function isManifestMediaType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPE_OCI_MANIFEST || mediaType === MEDIA_TYPE_DOCKER_MANIFEST;
}

/**
 * Whether `mediaType` names a Docker schema 1 manifest (signed or not).
 *
 * @example
 * ```ts
 * import { isSchema1MediaType } from "./media_types.ts";
 *
 * console.assert(isSchema1MediaType("application/vnd.docker.distribution.manifest.v1+prettyjws"));
 * ```
 */
export function isSchema1MediaType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPE_DOCKER_SCHEMA1_MANIFEST ||
    mediaType === MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST;
}

const LAYER_COMPRESSION: ReadonlyMap<string, "gzip" | "zstd" | "none"> = new Map([
  [MEDIA_TYPE_OCI_LAYER, "none"],
  [MEDIA_TYPE_OCI_LAYER_GZIP, "gzip"],
  [MEDIA_TYPE_OCI_LAYER_ZSTD, "zstd"],
  [MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE, "none"],
  [MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_GZIP, "gzip"],
  [MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_ZSTD, "zstd"],
  [MEDIA_TYPE_DOCKER_LAYER, "gzip"],
  [MEDIA_TYPE_DOCKER_LAYER_TAR, "none"],
  [MEDIA_TYPE_DOCKER_LAYER_ZSTD, "zstd"],
  [MEDIA_TYPE_DOCKER_FOREIGN_LAYER, "gzip"],
]);

/**
 * Whether `mediaType` is one of the known OCI or Docker filesystem layer types (plain, gzip, zstd,
 * non-distributable, foreign). Artifact layers (Helm charts, signatures, …) are not.
 *
 * @example
 * ```ts
 * import { isLayerMediaType } from "./media_types.ts";
 *
 * console.assert(isLayerMediaType("application/vnd.docker.image.rootfs.diff.tar.gzip"));
 * console.assert(!isLayerMediaType("application/vnd.cncf.helm.chart.content.v1.tar+gzip"));
 * ```
 */
export function isLayerMediaType(mediaType: string): boolean {
  return LAYER_COMPRESSION.has(mediaType);
}

/**
 * How a layer of this media type is compressed. Known layer types map exactly; for any other type the
 * structured suffix decides (`+gzip`/`.gzip` → gzip, `+zstd`/`.zstd` → zstd) and anything else is
 * `"none"`. Docker itself sniffs the stream's magic bytes, so callers unpacking a layer of an unknown type
 * should do the same rather than trust `"none"`.
 *
 * @example
 * ```ts
 * import { layerCompression } from "./media_types.ts";
 *
 * console.assert(layerCompression("application/vnd.oci.image.layer.v1.tar+gzip") === "gzip");
 * console.assert(layerCompression("application/vnd.oci.image.layer.v1.tar") === "none");
 * ```
 */
export function layerCompression(mediaType: string): "gzip" | "zstd" | "none" {
  const known = LAYER_COMPRESSION.get(mediaType);
  if (known !== undefined) return known;
  if (/[+.]gzip$/.test(mediaType)) return "gzip";
  if (/[+.]zstd$/.test(mediaType)) return "zstd";
  return "none";
}
