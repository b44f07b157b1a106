// This module is browser compatible.
/**
 * Turns a registry's failed response into a {@linkcode TugError} that names what was attempted and what
 * came back.
 *
 * @module
 */

import { TugError, type TugErrorCode } from "../errors.ts";
import { attemptsMade, readErrorBody, REGISTRY_ERROR_CODES, type RegistryErrorEntry } from "./error_body.ts";

export type { RegistryErrorEntry } from "./error_body.ts";

/** The `detail` of a {@linkcode TugError} made by {@linkcode registryError}. */
export interface RegistryErrorDetail {
  /** The HTTP status. */
  readonly status: number;
  /** The entries of the registry's error body (`[]` when it sent none). */
  readonly errors: readonly RegistryErrorEntry[];
}

/** What was attempted, for {@linkcode registryError}'s message and code. */
export interface RegistryErrorContext {
  /** What was attempted, as a verb phrase: `"fetch manifest"`, `"fetch blob"`, `"list tags of"`. */
  action: string;
  /** What it was attempted on: `"127.0.0.1:5000/small:v1"`. */
  target: string;
  /** The code of a 404 without an error body: `MANIFEST_UNKNOWN` for manifests, … (default `NAME_UNKNOWN`). */
  notFound?: TugErrorCode;
}

/** The code for a response without a usable error body. */
function codeForStatus(status: number, notFound: TugErrorCode): TugErrorCode {
  switch (status) {
    case 401:
      return "UNAUTHORIZED";
    case 403:
      return "DENIED";
    case 404:
      return notFound;
    case 429:
      return "TOOMANYREQUESTS";
    default:
      return "UNEXPECTED_STATUS";
  }
}

/**
 * Reads the error body of a failed registry response (at most 64 KiB; OCI distribution spec, "Error
 * Codes") and makes a {@linkcode TugError} of it. The code is the registry's first error code when tug
 * knows it (`UNKNOWN` when not), and otherwise follows the status: 401 `UNAUTHORIZED`, 403 `DENIED`,
 * 429 `TOOMANYREQUESTS`, 404 the context's `notFound`, anything else `UNEXPECTED_STATUS`. The error's
 * `detail` is a {@linkcode RegistryErrorDetail}. The body is consumed.
 *
 * @example
 * ```ts
 * import { registryError } from "./registry_error.ts";
 *
 * const response = Response.json(
 *   { errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] },
 *   { status: 404 },
 * );
 * const err = await registryError(response, { action: "fetch manifest", target: "127.0.0.1:5000/small:v1" });
 * console.assert(err.code === "MANIFEST_UNKNOWN");
 * console.assert(
 *   err.message ===
 *     'Cannot fetch manifest "127.0.0.1:5000/small:v1": registry returned 404 MANIFEST_UNKNOWN (manifest unknown)',
 * );
 * ```
 */
export async function registryError(response: Response, context: RegistryErrorContext): Promise<TugError> {
  const errors = await readErrorBody(response);
  const status = response.status;
  let code: TugErrorCode;
  let what: string;
  if (errors.length > 0) {
    code = REGISTRY_ERROR_CODES.has(errors[0].code) ? errors[0].code as TugErrorCode : "UNKNOWN";
    what = `${status} ${errors.map((e) => `${e.code}${e.message ? ` (${e.message})` : ""}`).join(", ")}`;
  } else {
    code = codeForStatus(status, context.notFound ?? "NAME_UNKNOWN");
    what = String(status);
  }
  let message = `Cannot ${context.action} "${context.target}": registry returned ${what}`;
  const attempts = attemptsMade.get(response);
  if (attempts !== undefined) message += ` after ${attempts} attempts`;
  const retryAfter = response.headers.get("retry-after");
  if (status === 429 && retryAfter !== null) message += ` (Retry-After: ${retryAfter})`;
  const detail: RegistryErrorDetail = { status, errors };
  return new TugError(code, message, { detail });
}
