// This module is browser compatible.
/**
 * One error base class for every domain failure in tug, with a machine-readable `code` and the
 * underlying `cause`. Bad arguments throw the built-in `TypeError`/`RangeError`/`SyntaxError`
 * instead; everything that went wrong while talking to a registry or a store is a {@linkcode TugError}.
 *
 * @module
 */

/** Every code a {@linkcode TugError} can carry. */
export type TugErrorCode =
  // references (names as distribution/reference reports them)
  | "NAME_EMPTY"
  | "NAME_TOO_LONG"
  | "NAME_CONTAINS_UPPERCASE"
  | "NAME_NOT_CANONICAL"
  | "NAME_RESERVED"
  | "REFERENCE_INVALID_FORMAT"
  | "TAG_INVALID_FORMAT"
  // digests
  | "DIGEST_INVALID_FORMAT"
  | "DIGEST_UNSUPPORTED"
  | "DIGEST_MISMATCH"
  | "SIZE_MISMATCH"
  // manifests and platforms
  | "MANIFEST_INVALID"
  | "MANIFEST_TOO_LARGE"
  | "MANIFEST_UNSUPPORTED"
  | "CONFIG_INVALID"
  | "PLATFORM_INVALID"
  | "PLATFORM_NOT_FOUND"
  | "TARGET_IS_PLUGIN"
  | "TARGET_IS_UNKNOWN"
  // registry errors (the distribution spec's codes) and transport
  | "BLOB_UNKNOWN"
  | "BLOB_UPLOAD_INVALID"
  | "BLOB_UPLOAD_UNKNOWN"
  | "DIGEST_INVALID"
  | "MANIFEST_BLOB_UNKNOWN"
  | "MANIFEST_UNKNOWN"
  | "MANIFEST_UNVERIFIED"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "SIZE_INVALID"
  | "TAG_INVALID"
  | "UNAUTHORIZED"
  | "DENIED"
  | "UNSUPPORTED"
  | "TOOMANYREQUESTS"
  | "UNKNOWN"
  | "UNEXPECTED_STATUS"
  | "NETWORK"
  | "TIMEOUT"
  | "TOO_MANY_REDIRECTS"
  | "AUTH_FAILED"
  | "NO_SUPPORT"
  | "NO_ENDPOINTS"
  // pulling and storing
  | "ABORTED"
  | "STORE_CORRUPT"
  | "STORE_IO"
  | "NOT_FOUND"
  | "LAYERS_MISMATCH"
  | "UNSAFE_PATH"
  | "TAR_INVALID"
  | "DECOMPRESSION_LIMIT";

/** Options for {@linkcode TugError}. */
export interface TugErrorOptions {
  /** What this error was caused by. */
  cause?: unknown;
  /** Extra details (a registry's `detail`, the HTTP status, …) for programs to read. */
  detail?: unknown;
}

/**
 * The base class of every tug domain error.
 *
 * @example Check the code of a failure
 * ```ts
 * import { TugError } from "./errors.ts";
 *
 * const err = new TugError("DIGEST_MISMATCH", 'Blob "sha256:ab…" failed verification');
 * console.assert(err.code === "DIGEST_MISMATCH");
 * console.assert(err instanceof Error);
 * ```
 */
export class TugError extends Error {
  /** What kind of failure this is. */
  readonly code: TugErrorCode;
  /** Extra details for programs. */
  readonly detail?: unknown;

  /** Makes an error with a `code`, a message for people, and optionally a `cause` and `detail`. */
  constructor(code: TugErrorCode, message: string, options: TugErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TugError";
    this.code = code;
    if (options.detail !== undefined) this.detail = options.detail;
  }
}

/**
 * Whether `err` is a {@linkcode TugError}, optionally with one of the given codes.
 *
 * @example
 * ```ts
 * import { isTugError, TugError } from "./errors.ts";
 *
 * const err: unknown = new TugError("NAME_UNKNOWN", "repository not found");
 * console.assert(isTugError(err, "NAME_UNKNOWN", "MANIFEST_UNKNOWN"));
 * ```
 */
export function isTugError(err: unknown, ...codes: TugErrorCode[]): err is TugError {
  return err instanceof TugError && (codes.length === 0 || codes.includes(err.code));
}
