// This module is browser compatible.
/**
 * Docker's `TranslatePullError` (distribution/errors.go, `notFoundError`): the registry answers that
 * mean "not there or not yours" — DENIED, MANIFEST_UNKNOWN, NAME_UNKNOWN — become the messages Docker
 * users know; every other error is passed through.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import { FallbackError, ImageConfigPullError } from "./fallback_policy.ts";
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
  if (err instanceof FallbackError) err = err.err;
  // Only the registry's own error codes are translated; an image config failure keeps Docker's
  // "error pulling image configuration: …" whatever its code.
  if (!(err instanceof TugError) || err instanceof ImageConfigPullError) return err;
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
    // Docker 17.12 to 24: "repository X not found" (17.06 and older said "…: does not exist or no pull
    // access" for DENIED, which 17.09 replaced with the "pull access denied" message above).
    case "NAME_UNKNOWN":
      return new TugError(
        "NAME_UNKNOWN",
        `repository ${ref.familiarName} not found`,
        { cause: err, detail: err.detail },
      );
  }
  return err;
}
