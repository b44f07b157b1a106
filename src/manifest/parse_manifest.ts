// This module is browser compatible.
/**
 * Parsing and validation of image manifests and indexes (OCI and Docker schema 2).
 *
 * @module
 */
import { TugError } from "../errors.ts";
import { checkDocumentSize, Checker, describe } from "./_validate.ts";
import {
  isIndexMediaType,
  isManifestMediaType,
  isSchema1MediaType,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
} from "./media_types.ts";
import type { ImageIndex, ImageManifest } from "./types.ts";

/**
 * The largest manifest (and image config) tug reads: 4 MiB, the limit distribution's registry and client
 * put on manifests, so a hostile registry cannot make tug buffer an unbounded body.
 *
 * @example
 * ```ts
 * import { MAX_MANIFEST_SIZE } from "./parse_manifest.ts";
 * console.assert(MAX_MANIFEST_SIZE === 4 * 1024 * 1024);
 * ```
 */
export const MAX_MANIFEST_SIZE: number = 4 * 1024 * 1024;

/** A parsed and validated manifest or index, with the exact bytes it came from (for digests and storing). */
export type ParsedManifest =
  | {
    /** A single-platform image manifest. */
    kind: "manifest";
    /** The resolved media type (body `mediaType`, else Content-Type, else inferred as OCI). */
    mediaType: string;
    /** The manifest. */
    manifest: ImageManifest;
    /** The bytes it was parsed from, unchanged. */
    bytes: Uint8Array;
  }
  | {
    /** A multi-platform index or manifest list. */
    kind: "index";
    /** The resolved media type (body `mediaType`, else Content-Type, else inferred as OCI). */
    mediaType: string;
    /** The index. */
    index: ImageIndex;
    /** The bytes it was parsed from, unchanged. */
    bytes: Uint8Array;
  };

/** Options for {@linkcode parseManifest}. */
export interface ParseManifestOptions {
  /** The `Content-Type` the registry sent with the manifest (parameters are ignored). */
  contentType?: string;
  /** What the bytes are, for error messages: a reference or a digest such as `docker.io/library/alpine:3`. */
  source?: string;
}

// Content types that carry no information about the manifest's kind: registries send them for
// documents they do not recognise, so they neither decide the type nor conflict with the body.
function knownManifestType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const base = contentType.split(";", 1)[0].trim().toLowerCase();
  if (isIndexMediaType(base) || isManifestMediaType(base) || isSchema1MediaType(base)) return base;
  return undefined;
}

/**
 * Parses and validates an image manifest or index.
 *
 * The media type is resolved as Docker's and containerd's clients do:
 * 1. the body's `mediaType` field wins when present; if the registry's `Content-Type` names a different
 *    manifest type the document is refused (`MANIFEST_INVALID`) — a registry that labels one document
 *    as another is either broken or hostile;
 * 2. otherwise the `Content-Type`, when it names a manifest type (generic types such as
 *    `application/json` are ignored);
 * 3. otherwise the structure: `manifests` makes an OCI index, `config`/`layers` an OCI manifest (the OCI
 *    image spec only says `mediaType` SHOULD be present).
 *
 * As containerd's `validateMediaType` does, a manifest that also carries `manifests`, or an index that
 * carries `config`/`layers`, is refused: such ambiguous documents could be read two ways.
 *
 * Errors (all {@linkcode TugError}): `MANIFEST_TOO_LARGE` above {@linkcode MAX_MANIFEST_SIZE};
 * `MANIFEST_UNSUPPORTED` for Docker schema 1 (the legacy path handles it) and unknown media types;
 * `MANIFEST_INVALID` for everything malformed, naming the field.
 *
 * This does not apply Docker's config media type rule (plugins, artifacts); see
 * `checkImageConfigMediaType` for that.
 *
 * @example Parse an OCI manifest
 * ```ts
 * import { parseManifest } from "./parse_manifest.ts";
 *
 * const hex = "a".repeat(64);
 * const json = JSON.stringify({
 *   schemaVersion: 2,
 *   mediaType: "application/vnd.oci.image.manifest.v1+json",
 *   config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${hex}`, size: 2 },
 *   layers: [],
 * });
 * const parsed = parseManifest(new TextEncoder().encode(json));
 * console.assert(parsed.kind === "manifest");
 * if (parsed.kind === "manifest") console.assert(parsed.manifest.config.size === 2);
 * ```
 */
export function parseManifest(bytes: Uint8Array, options: ParseManifestOptions = {}): ParsedManifest {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`parseManifest() expects a Uint8Array, got ${describe(bytes)}`);
  }
  const what = options.source === undefined ? "manifest" : `manifest ${JSON.stringify(options.source)}`;
  checkDocumentSize(bytes, MAX_MANIFEST_SIZE, what);
  const check: Checker = new Checker("MANIFEST_INVALID", what);

  const doc = check.jsonObject(bytes);

  const bodyType = doc.mediaType;
  if (bodyType !== undefined && typeof bodyType !== "string") {
    check.fail(`mediaType must be a string, got ${describe(bodyType)}`);
  }
  if (doc.schemaVersion === 1 || (bodyType !== undefined && isSchema1MediaType(bodyType))) {
    throw new TugError(
      "MANIFEST_UNSUPPORTED",
      `Cannot read ${what}: it is a Docker schema 1 manifest; schema 1 is only read by the legacy pull path`,
    );
  }
  if (doc.schemaVersion !== 2) check.fail(`schemaVersion must be 2, got ${describe(doc.schemaVersion)}`);

  const headerType = knownManifestType(options.contentType);
  if (bodyType !== undefined && headerType !== undefined && bodyType !== headerType) {
    check.fail(
      `its mediaType is "${bodyType}" but the registry sent it as Content-Type "${options.contentType}"`,
    );
  }
  let mediaType = bodyType ?? headerType;
  if (mediaType === undefined) {
    const looksLikeIndex = doc.manifests !== undefined;
    const looksLikeManifest = doc.config !== undefined || doc.layers !== undefined;
    if (looksLikeIndex === looksLikeManifest) {
      check.fail(
        "mediaType is missing and the structure does not tell a manifest (config, layers) from an index (manifests)",
      );
    }
    mediaType = looksLikeIndex ? MEDIA_TYPE_OCI_INDEX : MEDIA_TYPE_OCI_MANIFEST;
  } else if (isSchema1MediaType(mediaType)) {
    check.fail(
      `the registry sent it as schema 1 (Content-Type "${options.contentType}") but schemaVersion is 2`,
    );
  }

  if (isIndexMediaType(mediaType)) {
    if (doc.config !== undefined || doc.layers !== undefined) {
      check.fail(`it is an index ("${mediaType}") but also has config or layers, which only a manifest has`);
    }
    const manifests = doc.manifests;
    if (!Array.isArray(manifests)) check.fail(`manifests must be an array, got ${describe(manifests)}`);
    for (let i = 0; i < manifests.length; i++) check.descriptor(manifests[i], `manifests[${i}]`);
    checkCommon(check, doc);
    return { kind: "index", mediaType, index: doc as unknown as ImageIndex, bytes };
  }
  if (isManifestMediaType(mediaType)) {
    if (doc.manifests !== undefined) {
      check.fail(`it is a manifest ("${mediaType}") but also has manifests, which only an index has`);
    }
    if (doc.config === undefined) check.fail("config is missing");
    check.descriptor(doc.config, "config");
    const layers = doc.layers;
    if (!Array.isArray(layers)) check.fail(`layers must be an array, got ${describe(layers)}`);
    for (let i = 0; i < layers.length; i++) check.descriptor(layers[i], `layers[${i}]`);
    checkCommon(check, doc);
    return { kind: "manifest", mediaType, manifest: doc as unknown as ImageManifest, bytes };
  }
  throw new TugError(
    "MANIFEST_UNSUPPORTED",
    `Cannot read ${what}: unsupported manifest media type "${mediaType}"`,
  );
}

// Fields both manifests and indexes may carry (image-spec 1.1: artifactType, subject, annotations).
function checkCommon(check: Checker, doc: Record<string, unknown>): void {
  check.string(doc.artifactType, "artifactType", { optional: true });
  if (doc.subject !== undefined) check.descriptor(doc.subject, "subject");
  check.stringMap(doc.annotations, "annotations");
}
