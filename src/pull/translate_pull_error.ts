// This module is browser compatible.
/**
 * Docker's `TranslatePullError`: registry answers that mean "not there or not yours" become the
 * messages Docker users know.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import type { Reference } from "../reference/reference.ts";

/**
 * Translates the error that ended a pull into Docker's wording, keeping the original as `cause`.
 *
 * @example
 * ```ts
 * import { translatePullError } from "./translate_pull_error.ts";
 * import { parseReference } from "../reference/parse_reference.ts";
 * import { TugError } from "../errors.ts";
 *
 * const err = translatePullError(new TugError("MANIFEST_UNKNOWN", "manifest unknown"), parseReference("alpine:9"));
 * console.assert(err.message === "manifest for alpine:9 not found");
 * ```
 */
export function translatePullError(err: Error, ref: Reference): Error {
  if (!(err instanceof TugError)) return err;
  switch (err.code) {
    case "DENIED":
      return new TugError(
        "DENIED",
        `pull access denied for ${ref.familiarName}, repository does not exist or may require 'docker login'`,
        { cause: err, detail: err.detail },
      );
    case "MANIFEST_UNKNOWN":
      return new TugError("MANIFEST_UNKNOWN", `manifest for ${ref.familiar} not found`, {
        cause: err,
        detail: err.detail,
      });
    case "NAME_UNKNOWN":
      return new TugError(
        "NAME_UNKNOWN",
        `repository ${ref.familiarName} not found: does not exist or no pull access`,
        { cause: err, detail: err.detail },
      );
  }
  return err;
}
