// This module is browser compatible.
/**
 * Reading an image from its registry, verified (on the model of go-containerregistry's pkg/v1/remote):
 * {@linkcode fetchManifest}, {@linkcode verifyManifestDigest}, {@linkcode readConfig}, {@linkcode readImage}.
 *
 * @module
 */

export * from "./verify_manifest_digest.ts";
export * from "./read_image.ts";
