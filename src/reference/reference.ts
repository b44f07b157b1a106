// This module is browser compatible.
/**
 * The shape of a parsed image reference.
 *
 * @module
 */

/**
 * A parsed image reference: a repository name (an optional domain and a path), with an optional tag and
 * an optional digest. Every function of `tug/reference` returns a frozen object of this shape; make one with
 * {@linkcode parseReference} or derive one with `withTag`, `withDigest`, `withDefaultTag` or `trimToName`.
 *
 * @example Read the parts of a reference
 * ```ts
 * import type { Reference } from "./reference.ts";
 * import { parseReference } from "./parse_reference.ts";
 *
 * const ref: Reference = parseReference("ghcr.io/acme/app:1.2@sha256:" + "a".repeat(64));
 * console.assert(ref.domain === "ghcr.io");
 * console.assert(ref.path === "acme/app");
 * console.assert(ref.name === "ghcr.io/acme/app");
 * console.assert(ref.tag === "1.2");
 * console.assert(ref.digest === "sha256:" + "a".repeat(64));
 * ```
 */
export interface Reference {
  /**
   * The registry host, with its port if any (`docker.io`, `localhost:5000`, `[::1]:5000`). Always set on a
   * normalized reference; `undefined` when a reference parsed with `normalize: false` names no domain.
   */
  readonly domain: string | undefined;
  /** The repository path inside the registry, e.g. `library/alpine`. */
  readonly path: string;
  /** The tag, or `undefined` when the reference has none. */
  readonly tag: string | undefined;
  /** The digest (`algorithm:hex`), or `undefined` when the reference has none. */
  readonly digest: string | undefined;
  /** The repository name: `domain/path`, or the path alone when there is no domain. */
  readonly name: string;
  /**
   * Docker's short form of the whole reference, as `docker` prints it: `docker.io/` is dropped, and so is
   * `library/` for official images (`alpine:3.20`, `user/app@sha256:…`, `ghcr.io/acme/app:1`).
   */
  readonly familiar: string;
  /** Docker's short form of the repository name alone (`alpine`, `user/app`, `ghcr.io/acme/app`). */
  readonly familiarName: string;
  /** The canonical form: `name[:tag][@digest]`, e.g. `docker.io/library/alpine:3.20`. */
  toString(): string;
  /** The canonical form, so that `JSON.stringify` writes a reference as its string. */
  toJSON(): string;
}
