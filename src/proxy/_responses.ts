// This module is browser compatible.
/**
 * Error bodies and common headers of the proxy's registry API (OCI distribution spec, "Error Codes").
 * Private to the proxy.
 *
 * @module
 */

import { TugError } from "../errors.ts";

/** `Docker-Distribution-API-Version`, sent on every /v2/ answer as distribution does. */
export const API_VERSION_HEADER = "docker-distribution-api-version";

/** Headers of a /v2/ answer: `extra` plus the API version header. */
export function v2Headers(extra: Record<string, string>): Headers {
  const headers = new Headers(extra);
  headers.set(API_VERSION_HEADER, "registry/2.0");
  return headers;
}

/** The distribution spec's error JSON: `{"errors":[{"code","message","detail"}]}`. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  detail?: unknown,
): Response {
  const body = JSON.stringify({ errors: [{ code, message, ...(detail !== undefined ? { detail } : {}) }] });
  return new Response(body, {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      [API_VERSION_HEADER]: "registry/2.0",
      ...headers,
    },
  });
}

/** Whether an upstream failure means "the upstream is unreachable or broken" (serve stale content then). */
export function isUpstreamDown(err: unknown): boolean {
  if (!(err instanceof TugError)) return err instanceof TypeError;
  if (err.code === "NETWORK" || err.code === "TIMEOUT") return true;
  const status = (err.detail as { status?: unknown } | undefined)?.status;
  return typeof status === "number" && (status >= 500 || status === 429 || status === 408);
}

/** The HTTP status an upstream error is relayed with. */
export function statusOf(err: unknown): number | undefined {
  if (!(err instanceof TugError)) return undefined;
  const status = (err.detail as { status?: unknown } | undefined)?.status;
  return typeof status === "number" ? status : undefined;
}

/** Turns an error met upstream into the client's answer, keeping the upstream's status and code. */
export function upstreamErrorResponse(err: unknown, challenge: string): Response {
  if (err instanceof TugError) {
    const status = statusOf(err);
    if (err.code === "AUTH_FAILED" || err.code === "UNAUTHORIZED" || status === 401) {
      return errorResponse(401, "UNAUTHORIZED", err.message, { "www-authenticate": challenge });
    }
    if (status === 403 || err.code === "DENIED") return errorResponse(403, "DENIED", err.message);
    if (status === 404) {
      const code = ["MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_UNKNOWN"].includes(err.code)
        ? err.code
        : "NAME_UNKNOWN";
      return errorResponse(404, code, err.message);
    }
    if (status === 429 || err.code === "TOOMANYREQUESTS") {
      return errorResponse(429, "TOOMANYREQUESTS", err.message);
    }
    if (err.code === "DIGEST_MISMATCH" || err.code === "SIZE_MISMATCH") {
      return errorResponse(
        502,
        "UNKNOWN",
        `The upstream sent content that failed verification: ${err.message}`,
      );
    }
    if (isUpstreamDown(err)) {
      return errorResponse(503, "UNAVAILABLE", `The upstream is unavailable: ${err.message}`);
    }
    return errorResponse(502, "UNKNOWN", err.message);
  }
  if (err instanceof TypeError) {
    return errorResponse(503, "UNAVAILABLE", `The upstream is unavailable: ${err.message}`);
  }
  throw err;
}

/**
 * The 400 for an error that a client's input caused deeper down (a digest, a name or a reference the
 * route's own checks let through), or undefined for any other error. Such an error is the client's
 * fault, never a 500.
 */
export function clientInputResponse(err: unknown): Response | undefined {
  if (!(err instanceof TugError)) return undefined;
  switch (err.code) {
    case "DIGEST_INVALID_FORMAT":
    case "DIGEST_UNSUPPORTED":
    case "DIGEST_INVALID":
      return errorResponse(400, "DIGEST_INVALID", err.message);
    case "TAG_INVALID_FORMAT":
    case "TAG_INVALID":
      return errorResponse(400, "TAG_INVALID", err.message);
    case "NAME_EMPTY":
    case "NAME_TOO_LONG":
    case "NAME_CONTAINS_UPPERCASE":
    case "NAME_NOT_CANONICAL":
    case "NAME_RESERVED":
    case "NAME_INVALID":
    case "REFERENCE_INVALID_FORMAT":
      return errorResponse(400, "NAME_INVALID", err.message);
    default:
      return undefined;
  }
}
