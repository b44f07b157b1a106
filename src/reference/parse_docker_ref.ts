// This module is browser compatible.
/**
 * Parse a reference into exactly what `docker pull` fetches.
 *
 * @module
 */

import { parseNormalized } from "./_parse.ts";
import { makeReference, requireString } from "./_reference.ts";
import type { Reference } from "./reference.ts";
import { withDefaultTag } from "./with_default_tag.ts";

/**
 * Parses a reference with Docker's defaults and resolves it to one thing to fetch (distribution's
 * ParseDockerRef): when a digest is given the tag is dropped (the digest wins); when neither is given the
 * tag `latest` is added.
 *
 * @param input The reference, e.g. `busybox` or `busybox:1.36@sha256:…`.
 * @returns A normalized reference with either a tag or a digest, never both.
 * @throws {TypeError} If `input` is not a string.
 * @throws {TugError} The codes of `parseReference`.
 *
 * @example
 * ```ts
 * import { parseDockerRef } from "./parse_docker_ref.ts";
 *
 * console.assert(parseDockerRef("busybox").toString() === "docker.io/library/busybox:latest");
 * const digest = "sha256:" + "e".repeat(64);
 * console.assert(parseDockerRef(`busybox:1.36@${digest}`).toString() === `docker.io/library/busybox@${digest}`);
 * ```
 */
export function parseDockerRef(input: string): Reference {
  requireString(input, "The reference");
  const ref = parseNormalized(input);
  if (ref.digest !== undefined) {
    return ref.tag === undefined ? ref : makeReference(ref.domain, ref.path, undefined, ref.digest);
  }
  return withDefaultTag(ref);
}
