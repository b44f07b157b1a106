// This module is browser compatible.
/**
 * Turns a registry's failed response into a {@linkcode TugError} that names what was attempted and what
 * came back.
 *
 * @module
 */

import { TugError, type TugErrorCode } from "../errors.ts";
import {
  attemptsMade,
  ERROR_BODY_LIMIT,
  parseErrorBody,
  REGISTRY_ERROR_CODES,
  type RegistryErrorEntry,
} from "./error_body.ts";
import { readLimited } from "./read_limited.ts";
import { parseWwwAuthenticate } from "./parse_www_authenticate.ts";

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

/**
 * The code for a response without a usable error body. Docker's registry client (distribution
 * registry/client/errors.go `HandleErrorResponse`) makes a 401 `UNAUTHORIZED` and every other status an
 * `UnexpectedHTTPResponseError`, which its pull falls back on: a 403 or 429 from a CDN or a load balancer
 * says nothing about the image. The 404 is the endpoint's "unknown" code (manifests by tag, blobs).
 */
function codeForStatus(status: number, notFound: TugErrorCode): TugErrorCode {
  switch (status) {
    case 401:
      return "UNAUTHORIZED";
    case 404:
      return notFound;
    default:
      return "UNEXPECTED_STATUS";
  }
}

/** RFC 6750 §3.1 error codes of a Bearer challenge, as Docker's `HandleErrorResponse` maps them. */
const BEARER_ERRORS: Readonly<Record<string, TugErrorCode>> = {
  invalid_token: "UNAUTHORIZED",
  insufficient_scope: "DENIED",
};

/** The registry error a 4xx's `WWW-Authenticate: Bearer error="…"` carries, if any. */
function bearerError(response: Response): RegistryErrorEntry | undefined {
  if (response.status < 400 || response.status > 499) return undefined;
  const header = response.headers.get("www-authenticate");
  if (header === null) return undefined;
  let challenges;
  try {
    challenges = parseWwwAuthenticate(header);
  } catch {
    return undefined;
  }
  for (const c of challenges) {
    const code = c.scheme === "bearer" ? BEARER_ERRORS[c.params.error ?? ""] : undefined;
    if (code === undefined) continue;
    const message = c.params.error_description ||
      (code === "DENIED" ? "requested access to the resource is denied" : "authentication required");
    return { code, message };
  }
  return undefined;
}

/**
 * The old `{"details": "…"}` error body Docker still reads (registry/client/errors.go
 * `parseHTTPErrorResponse`): 401 `UNAUTHORIZED`, 403 `DENIED`, 429 `TOOMANYREQUESTS`, else `UNKNOWN`.
 */
function detailsError(status: number, bytes: Uint8Array): RegistryErrorEntry | undefined {
  let details: unknown;
  try {
    details = (JSON.parse(new TextDecoder().decode(bytes)) as { details?: unknown } | null)?.details;
  } catch {
    return undefined;
  }
  if (typeof details !== "string" || details === "") return undefined;
  const code = status === 401
    ? "UNAUTHORIZED"
    : status === 403
    ? "DENIED"
    : status === 429
    ? "TOOMANYREQUESTS"
    : "UNKNOWN";
  return { code, message: details };
}

async function readErrors(response: Response): Promise<RegistryErrorEntry[]> {
  let bytes: Uint8Array;
  try {
    ({ bytes } = await readLimited(response.body, ERROR_BODY_LIMIT));
  } catch {
    bytes = new Uint8Array();
  }
  const fromBody = bytes.byteLength === 0 ? [] : (() => {
    const details = detailsError(response.status, bytes);
    return details ? [details] : parseErrorBody(bytes);
  })();
  // Docker puts the challenge's error first and merges the body's after it.
  const challenge = bearerError(response);
  return challenge ? [challenge, ...fromBody] : fromBody;
}

/**
 * Reads the error body of a failed registry response (at most 64 KiB; OCI distribution spec, "Error
 * Codes") and makes a {@linkcode TugError} of it, as Docker's registry client does (distribution
 * registry/client/errors.go `HandleErrorResponse`). The code is the first of: a 4xx's
 * `WWW-Authenticate: Bearer error="insufficient_scope"` (`DENIED`) or `error="invalid_token"`
 * (`UNAUTHORIZED`); the registry's first error code when tug knows it (`UNKNOWN` when not); the old
 * `{"details": …}` body (401 `UNAUTHORIZED`, 403 `DENIED`, 429 `TOOMANYREQUESTS`); and without any of
 * those, 401 `UNAUTHORIZED`, 404 the context's `notFound`, and anything else — a bare 403 or 429 too —
 * `UNEXPECTED_STATUS` (Docker's `UnexpectedHTTPResponseError`, which a pull falls back on). The error's
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
  const errors = await readErrors(response);
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
