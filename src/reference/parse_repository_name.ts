// This module is browser compatible.
/**
 * Parse a bare repository name.
 *
 * @module
 */

import { matchName, PATH_MAX_LENGTH } from "./_grammar.ts";
import { makeReference, refuse, requireString } from "./_reference.ts";
import type { Reference } from "./reference.ts";

/**
 * Parses a repository name with no tag or digest, as distribution's WithName does: the grammar only, no
 * Docker defaults, so `library/alpine` stays `library/alpine`. This is the check for the `<name>` of a
 * registry URL (`/v2/<name>/manifests/<reference>`).
 *
 * @param name The repository name, with an optional domain: `library/alpine`, `localhost:5000/app`.
 * @returns A reference with no tag and no digest; `domain` is `undefined` when the name has none.
 * @throws {TypeError} If `name` is not a string.
 * @throws {TugError} `REFERENCE_INVALID_FORMAT` if `name` is empty or not a valid name (a tag, a digest and
 * uppercase letters in the path are all refused); `NAME_TOO_LONG` if its path exceeds 255 characters.
 *
 * @example
 * ```ts
 * import { parseRepositoryName } from "./parse_repository_name.ts";
 *
 * const repo = parseRepositoryName("localhost:5000/team/app");
 * console.assert(repo.domain === "localhost:5000");
 * console.assert(repo.path === "team/app");
 * console.assert(repo.tag === undefined);
 * ```
 */
export function parseRepositoryName(name: string): Reference {
  requireString(name, "The repository name");
  const parts = matchName(name, 0, name.length);
  if ("reason" in parts) refuse("REFERENCE_INVALID_FORMAT", name, parts.reason, "repository name");
  if (parts.path.length > PATH_MAX_LENGTH) {
    refuse(
      "NAME_TOO_LONG",
      name,
      `the repository path is ${parts.path.length} characters, at most ${PATH_MAX_LENGTH} are allowed`,
      "repository name",
    );
  }
  return makeReference(parts.domain, parts.path, undefined, undefined);
}
