// This module is browser compatible.
/**
 * Refuse repository names Docker refuses to pull.
 *
 * @module
 */

import { parseNormalized } from "./_parse.ts";
import { refuse } from "./_reference.ts";
import { requireReference } from "./_require_reference.ts";
import type { Reference } from "./reference.ts";

/** The reserved name of the empty base image (Docker's NoBaseImageSpecifier), which cannot be pulled. */
export const RESERVED_NAME = "scratch";

/**
 * Checks a repository name the way the Docker daemon does before a pull (validateRepoName): an empty name is
 * refused, and so is `scratch` (`docker.io/library/scratch`), the reserved name of the empty base image.
 *
 * @param ref A parsed reference, or a string to parse with Docker's defaults.
 * @throws {TypeError} If `ref` is neither a string nor a reference.
 * @throws {TugError} `NAME_EMPTY` for an empty name; `NAME_RESERVED` for `scratch`; for a string, the codes
 * of `parseReference`.
 *
 * @example
 * ```ts
 * import { validateRepositoryName } from "./validate_repository_name.ts";
 * import { isTugError } from "../errors.ts";
 *
 * validateRepositoryName("alpine"); // fine
 * try {
 *   validateRepositoryName("scratch");
 * } catch (err) {
 *   console.assert(isTugError(err, "NAME_RESERVED"));
 * }
 * ```
 */
export function validateRepositoryName(ref: Reference | string): void {
  if (typeof ref === "string") {
    ref = parseNormalized(ref);
  } else {
    requireReference(ref, "validateRepositoryName");
  }
  if (ref.path === "") refuse("NAME_EMPTY", ref.name, "the repository name is empty", "repository name");
  if (ref.familiarName === RESERVED_NAME) {
    refuse("NAME_RESERVED", ref.familiarName, `"${RESERVED_NAME}" is a reserved name`, "repository name");
  }
}
