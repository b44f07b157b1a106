// This module is browser compatible.
/**
 * The signal a puller gives the pull loop that the next endpoint may be tried, as Docker's
 * `fallbackError` does (moby distribution/errors.go): the underlying error, whether the endpoint
 * confirmed it speaks v2, and whether the transport (TLS) worked.
 *
 * @module
 */

import { TugError } from "../errors.ts";

/**
 * Wraps an error that lets the pull move on to the next endpoint.
 *
 * @example
 * ```ts
 * import { FallbackError } from "./fallback_error.ts";
 *
 * const err = new FallbackError(new Error("connection refused"), { confirmedV2: false, transportOK: false });
 * console.assert(err.err.message === "connection refused");
 * ```
 */
export class FallbackError extends Error {
  /** The error that made this endpoint fail. */
  readonly err: Error;
  /** Whether the endpoint showed it speaks the v2 protocol. */
  readonly confirmedV2: boolean;
  /** Whether a connection (and TLS, for https) was established. */
  readonly transportOK: boolean;

  constructor(err: Error, options: { confirmedV2: boolean; transportOK: boolean }) {
    super(err.message, { cause: err });
    this.name = "FallbackError";
    this.err = err;
    this.confirmedV2 = options.confirmedV2;
    this.transportOK = options.transportOK;
  }
}

/**
 * Docker's `continueOnError`: whether an error from a puller lets the loop try the next endpoint.
 * Registry errors fall back only for UNAUTHORIZED, MANIFEST_UNKNOWN and NAME_UNKNOWN — except that
 * anything from a mirror falls back (Docker 17.12); DENIED, TOOMANYREQUESTS and UNKNOWN stop; image
 * config errors stop unless from a mirror; unexpected HTTP responses and other errors fall back,
 * except running out of disk space.
 *
 * @example
 * ```ts
 * import { continueOnError } from "./fallback_error.ts";
 * import { TugError } from "../errors.ts";
 *
 * console.assert(continueOnError(new TugError("MANIFEST_UNKNOWN", "no such tag"), false));
 * console.assert(!continueOnError(new TugError("DENIED", "denied"), false));
 * console.assert(continueOnError(new TugError("DENIED", "denied"), true));
 * ```
 */
export function continueOnError(err: unknown, mirror: boolean): boolean {
  if (err instanceof TugError) {
    switch (err.code) {
      case "UNAUTHORIZED":
      case "MANIFEST_UNKNOWN":
      case "NAME_UNKNOWN":
        return true;
      case "UNEXPECTED_STATUS":
      case "NETWORK":
      case "TIMEOUT":
        return true;
      case "ABORTED":
        return false;
      case "CONFIG_INVALID":
        return mirror;
      case "STORE_IO":
        return mirror || !isNoSpace(err);
      // The remaining registry error codes (errcode.Error in Docker) fall back only from a mirror.
      case "DENIED":
      case "TOOMANYREQUESTS":
      case "UNKNOWN":
      case "UNSUPPORTED":
      case "BLOB_UNKNOWN":
      case "BLOB_UPLOAD_INVALID":
      case "BLOB_UPLOAD_UNKNOWN":
      case "DIGEST_INVALID":
      case "MANIFEST_BLOB_UNKNOWN":
      case "MANIFEST_UNVERIFIED":
      case "NAME_INVALID":
      case "SIZE_INVALID":
      case "TAG_INVALID":
        return mirror;
    }
  }
  return !isNoSpace(err);
}

function isNoSpace(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOSPC") return true;
    if (e instanceof Error && /no space left on device/i.test(e.message)) return true;
  }
  return false;
}
