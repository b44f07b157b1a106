// This module is browser compatible.
/**
 * Reads the distribution spec's error body (`{"errors":[{code,message,detail}]}`, OCI distribution spec
 * "Error Codes") from a response, capped, and remembers how many attempts a response took.
 *
 * @module
 */

import type { TugErrorCode } from "../errors.ts";
import { readLimited } from "./read_limited.ts";

/** Error bodies are small; a registry that sends more than this is not sending an error body. */
export const ERROR_BODY_LIMIT: number = 64 * 1024;

/**
 * The distribution spec's error codes (`errcode`), which tug's error union carries under the same name.
 * Shared with the pull loop's `continueOnError`, which tells a registry's answer from other failures by them.
 */
export const REGISTRY_ERROR_CODES: ReadonlySet<string> = new Set<TugErrorCode>([
  "BLOB_UNKNOWN",
  "BLOB_UPLOAD_INVALID",
  "BLOB_UPLOAD_UNKNOWN",
  "DIGEST_INVALID",
  "MANIFEST_BLOB_UNKNOWN",
  "MANIFEST_INVALID",
  "MANIFEST_UNKNOWN",
  "MANIFEST_UNVERIFIED",
  "NAME_INVALID",
  "NAME_UNKNOWN",
  "SIZE_INVALID",
  "TAG_INVALID",
  "UNAUTHORIZED",
  "DENIED",
  "UNSUPPORTED",
  "TOOMANYREQUESTS",
  "UNKNOWN",
]);

/** One entry of a registry's error body. */
export interface RegistryErrorEntry {
  /** The registry's code, e.g. `MANIFEST_UNKNOWN`. */
  readonly code: string;
  /** The registry's message. */
  readonly message?: string;
  /** The registry's detail (any JSON). */
  readonly detail?: unknown;
}

/** Reads and parses an error body; `[]` when there is none or it is not the spec's shape. */
export async function readErrorBody(response: Response): Promise<RegistryErrorEntry[]> {
  let bytes: Uint8Array;
  try {
    ({ bytes } = await readLimited(response.body, ERROR_BODY_LIMIT));
  } catch {
    return [];
  }
  return parseErrorBody(bytes);
}

/** Parses the bytes of an error body; `[]` when they are not the spec's shape. */
export function parseErrorBody(bytes: Uint8Array): RegistryErrorEntry[] {
  if (bytes.byteLength === 0) return [];
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return [];
  }
  const errors = (json as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  const out: RegistryErrorEntry[] = [];
  for (const e of errors) {
    if (typeof e !== "object" || e === null || typeof (e as { code?: unknown }).code !== "string") continue;
    const { code, message, detail } = e as { code: string; message?: unknown; detail?: unknown };
    out.push({
      code,
      ...(typeof message === "string" ? { message } : {}),
      ...(detail !== undefined ? { detail } : {}),
    });
  }
  return out;
}

/** How many attempts `withRetry` made for a response it returned (set only when more than one). */
export const attemptsMade: WeakMap<Response, number> = new WeakMap();
