// This module is browser compatible.
/**
 * The signal a puller gives the pull loop that the next endpoint may be tried, as Docker's
 * `fallbackError` does (moby distribution/errors.go): the underlying error, whether the endpoint
 * confirmed it speaks v2, and whether the transport (TLS) worked.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import { REGISTRY_ERROR_CODES } from "../registry/_error_body.ts";

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
 * An error met while fetching an image's configuration blob (Docker's `ImageConfigPullError`): it stops
 * the pull unless it came from a mirror, since another endpoint would serve the same image config. The
 * message is Docker's: `error pulling image configuration: …`; the original error is the `cause`.
 *
 * @example
 * ```ts
 * import { ImageConfigPullError } from "./fallback_error.ts";
 * import { TugError } from "../errors.ts";
 *
 * const err = new ImageConfigPullError(new TugError("DIGEST_MISMATCH", "blob sha256:ab… does not match"));
 * console.assert(err.message === "error pulling image configuration: blob sha256:ab… does not match");
 * console.assert(err.code === "DIGEST_MISMATCH");
 * ```
 */
export class ImageConfigPullError extends TugError {
  constructor(err: Error) {
    super(
      err instanceof TugError ? err.code : "CONFIG_INVALID",
      `error pulling image configuration: ${err.message}`,
      { cause: err, ...(err instanceof TugError && err.detail !== undefined ? { detail: err.detail } : {}) },
    );
    this.name = "ImageConfigPullError";
  }
}

/** Options for {@linkcode continueOnError}. */
export interface ContinueOnErrorOptions {
  /**
   * The error came from a layer download. Docker's download manager wraps the registry errors it will
   * not retry (UNAUTHORIZED, UNSUPPORTED, DENIED, TOOMANYREQUESTS, NAME_UNKNOWN, an unknown blob) in
   * `xfer.DoNotRetry`, which `continueOnError` then treats as a plain error: the next endpoint is tried.
   */
  layer?: boolean;
}

/** Layer errors Docker's `retryOnError` wraps in `xfer.DoNotRetry` (distribution/errors.go). */
const DO_NOT_RETRY_CODES: ReadonlySet<string> = new Set([
  "UNAUTHORIZED",
  "UNSUPPORTED",
  "DENIED",
  "TOOMANYREQUESTS",
  "NAME_UNKNOWN",
  "BLOB_UNKNOWN",
]);

/**
 * Docker's `continueOnError` (distribution/errors.go): whether an error from a puller lets the loop try
 * the next endpoint.
 *
 * - Registry errors fall back for UNAUTHORIZED, MANIFEST_UNKNOWN and NAME_UNKNOWN (`shouldV2Fallback`);
 *   every other registry code (DENIED, TOOMANYREQUESTS, UNKNOWN, …) stops the pull — except that
 *   anything from a mirror falls back (Docker 17.12).
 * - Image config errors ({@linkcode ImageConfigPullError}) stop unless from a mirror.
 * - Unexpected HTTP responses, transport failures and every other error fall back, except running out
 *   of disk space and a cancelled pull.
 * - With `layer: true`, registry errors Docker does not retry fall back like plain errors.
 *
 * A registry answer that carried no `MANIFEST_INVALID` code but whose manifest failed tug's own parsing
 * is a plain error (fallback); `MANIFEST_INVALID` here is the registry's code.
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
export function continueOnError(
  err: unknown,
  mirror: boolean,
  options: ContinueOnErrorOptions = {},
): boolean {
  if (err instanceof FallbackError) return true;
  if (err instanceof ImageConfigPullError) return mirror;
  if (err instanceof TugError) {
    if (err.code === "ABORTED") return false;
    // ErrNoSupport: decided by the error it carries.
    if (err.code === "NO_SUPPORT" && err.cause instanceof Error) {
      return continueOnError(err.cause, mirror, options);
    }
    if (options.layer && DO_NOT_RETRY_CODES.has(err.code)) return !isNoSpace(err);
    switch (err.code) {
      case "UNAUTHORIZED":
      case "MANIFEST_UNKNOWN":
      case "NAME_UNKNOWN":
        return true;
      case "CONFIG_INVALID":
        return mirror;
    }
    // Any other registry code (the distribution spec's `errcode.Error`) falls back only from a mirror.
    if (REGISTRY_ERROR_CODES.has(err.code) && isRegistryAnswer(err)) return mirror;
  }
  // Docker's catch-all: a plain error falls back; running out of disk space would fail anywhere.
  return !isNoSpace(err);
}

/**
 * Whether a TugError carrying a registry code came from a registry's error body (`detail.errors`) or
 * status, rather than from tug's own checks that reuse the name (e.g. a manifest tug could not parse).
 */
function isRegistryAnswer(err: TugError): boolean {
  return err.code !== "MANIFEST_INVALID" || typeof (err.detail as { status?: unknown })?.status === "number";
}
function isNoSpace(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOSPC") return true;
    if (e instanceof Error && /no space left on device/i.test(e.message)) return true;
  }
  return false;
}
