// This module is browser compatible.
/**
 * Parse an image reference the way Docker does.
 *
 * @module
 */

import { parseNormalized, parsePlain } from "./_parse.ts";
import { refuse, requireString } from "./_reference.ts";
import type { Reference } from "./reference.ts";

/** Options for {@linkcode parseReference}. */
export interface ParseReferenceOptions {
  /**
   * Apply Docker's defaults (distribution's ParseNormalizedNamed): names without a domain are on
   * `docker.io`, one-element Docker Hub names get `library/`, `index.docker.io` becomes `docker.io`.
   * With `false`, the input is only checked against the grammar (distribution's Parse) and `domain` is
   * `undefined` when the input names none. Defaults to `true`.
   */
  normalize?: boolean;
  /**
   * Refuse input that is not already in canonical form (distribution's ParseNamed): `docker.io/library/redis`
   * passes, `redis` does not (`NAME_NOT_CANONICAL`). Use it where a full name is required, such as store keys.
   * Implies `normalize`. Defaults to `false`.
   */
  canonical?: boolean;
}

/**
 * Parses an image reference (`name[:tag][@digest]`) as `docker pull` does, with the grammar and the error
 * rules of distribution/reference.
 *
 * - Name components are lowercase letters and digits separated by `.`, `_`, `__` or a run of `-`; components
 *   are separated by `/`; the path (the name after its domain) is at most 255 characters.
 * - The first component is a domain when the rest is a valid path and it is a host name or IPv4 address
 *   (letters of either case), or an IPv6 address in brackets, with an optional `:port`. When normalizing,
 *   Docker's stricter rule applies on top: it must also be `localhost`, contain `.` or `:`, or contain an
 *   uppercase letter; otherwise the name is a Docker Hub name (`user/app` is `docker.io/user/app`).
 * - A tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
 * - A digest is `algorithm:hex`; `sha256` (64 lowercase hex digits) and `sha512` (128) are supported.
 * - A bare 64-digit hex string is an image ID and is refused as a name when normalizing.
 *
 * @param input The reference, e.g. `alpine`, `alpine:3.20`, `ghcr.io/acme/app@sha256:…`.
 * @param options Whether to apply Docker's defaults, and whether to insist on the canonical form.
 * @returns The parsed reference. A normalized reference never gains a tag: see `withDefaultTag` and
 * `parseDockerRef` for `docker pull`'s `:latest`.
 * @throws {TypeError} If `input` is not a string.
 * @throws {TugError} `NAME_EMPTY` for `""`; `NAME_CONTAINS_UPPERCASE` when only uppercase letters in the
 * repository name are wrong; `NAME_TOO_LONG` when the path exceeds 255 characters; `REFERENCE_INVALID_FORMAT`
 * for anything else the grammar refuses; `DIGEST_INVALID_FORMAT` for a digest of the wrong length or case;
 * `DIGEST_UNSUPPORTED` for a digest algorithm other than sha256 or sha512; `NAME_NOT_CANONICAL` with
 * `canonical: true`.
 *
 * @example Docker Hub names
 * ```ts
 * import { parseReference } from "./parse_reference.ts";
 *
 * const ref = parseReference("alpine:3.20");
 * console.assert(ref.domain === "docker.io");
 * console.assert(ref.path === "library/alpine");
 * console.assert(ref.toString() === "docker.io/library/alpine:3.20");
 * console.assert(ref.familiar === "alpine:3.20");
 * ```
 *
 * @example The grammar alone
 * ```ts
 * import { parseReference } from "./parse_reference.ts";
 *
 * const ref = parseReference("alpine:3.20", { normalize: false });
 * console.assert(ref.domain === undefined);
 * console.assert(ref.name === "alpine");
 * ```
 *
 * @example Errors carry a code
 * ```ts
 * import { parseReference } from "./parse_reference.ts";
 * import { isTugError } from "../errors.ts";
 *
 * try {
 *   parseReference("docker/Docker");
 * } catch (err) {
 *   console.assert(isTugError(err, "NAME_CONTAINS_UPPERCASE"));
 * }
 * ```
 */
export function parseReference(input: string, options: ParseReferenceOptions = {}): Reference {
  requireString(input, "The reference");
  const { normalize = true, canonical = false } = options;
  if (!normalize && !canonical) return parsePlain(input);
  const ref = parseNormalized(input);
  if (canonical && ref.toString() !== input) {
    refuse("NAME_NOT_CANONICAL", input, `the repository name must be canonical, as in "${ref}"`);
  }
  return ref;
}
