// This module is browser compatible.
/**
 * Image references as Docker and distribution/reference parse them: the grammar, Docker Hub's defaults
 * (`docker.io`, `library/`), familiar short forms, and helpers to set or drop tags and digests.
 *
 * @example
 * ```ts
 * import { parseDockerRef, parseReference, withTag } from "./mod.ts";
 *
 * const ref = parseReference("ghcr.io/acme/app");
 * console.assert(withTag(ref, "v2").toString() === "ghcr.io/acme/app:v2");
 * console.assert(parseDockerRef("alpine").familiar === "alpine:latest");
 * ```
 *
 * @module
 */

export * from "./reference.ts";
export * from "./parse_reference.ts";
export * from "./parse_docker_ref.ts";
export * from "./parse_any_reference.ts";
export * from "./parse_repository_name.ts";
export * from "./with_tag.ts";
export * from "./with_digest.ts";
export * from "./with_default_tag.ts";
export * from "./trim_to_name.ts";
export * from "./is_digest_only.ts";
export * from "./reference_key.ts";
export * from "./validate_repository_name.ts";
