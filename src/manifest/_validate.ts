// This module is browser compatible.
// Shared checks of manifest, index and config JSON. Private to src/manifest/.
import type { TugErrorCode } from "../errors.ts";
import { TugError } from "../errors.ts";
import type { Descriptor, Platform } from "./types.ts";

// The two algorithms the OCI image spec registers ("Digests"), lowercase hex of the exact length. Kept local
// because the digest module is built separately; tug's digest module is the full implementation.
const DIGEST_RE = /^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/;

/** Whether `value` is a sha256/sha512 digest string as the OCI image spec registers them. */
export function isDigest(value: unknown): value is string {
  return typeof value === "string" && DIGEST_RE.test(value);
}

/** A plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Describes a JSON value briefly for an error message. */
export function describe(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 80 ? text.slice(0, 77) + "..." : text}`;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Refuses a document of more than `max` bytes with TugError MANIFEST_TOO_LARGE before it is decoded (the
 * 4 MiB cap on manifests and configs); `what` names the document (`manifest "x"`).
 */
export function checkDocumentSize(bytes: Uint8Array, max: number, what: string): void {
  if (bytes.byteLength > max) {
    const mib = max / 1048576;
    throw new TugError(
      "MANIFEST_TOO_LARGE",
      `Cannot read ${what}: it is ${bytes.byteLength} bytes, more than the ${max} (${mib} MiB) tug accepts`,
    );
  }
}

/** Throws the domain error for one document; `what` names the document (`manifest "x"`). */
export class Checker {
  readonly #code: TugErrorCode;
  readonly #what: string;

  constructor(code: TugErrorCode, what: string) {
    this.#code = code;
    this.#what = what;
  }

  fail(message: string, cause?: unknown): never {
    throw new TugError(this.#code, `Invalid ${this.#what}: ${message}`, { cause });
  }

  /** Decodes `bytes` (strict UTF-8) as a JSON object; `where` prefixes the failure (`the signed payload: `). */
  jsonObject(bytes: Uint8Array, where = ""): Record<string, unknown> {
    let doc: unknown;
    try {
      doc = JSON.parse(decoder.decode(bytes));
    } catch (err) {
      this.fail(`${where}not valid JSON (${err instanceof Error ? err.message : String(err)})`, err);
    }
    if (!isObject(doc)) this.fail(`${where}expected a JSON object, got ${describe(doc)}`);
    return doc;
  }

  string(
    value: unknown,
    field: string,
    { optional = false, nonEmpty = false }: { optional?: boolean; nonEmpty?: boolean } = {},
  ): void {
    if (value === undefined && optional) return;
    if (typeof value !== "string") this.fail(`${field} must be a string, got ${describe(value)}`);
    if (nonEmpty && value === "") this.fail(`${field} must not be empty`);
  }

  stringArray(value: unknown, field: string): void {
    if (value === undefined) return;
    if (!Array.isArray(value)) this.fail(`${field} must be an array of strings, got ${describe(value)}`);
    for (let i = 0; i < value.length; i++) this.string(value[i], `${field}[${i}]`);
  }

  stringMap(value: unknown, field: string): void {
    if (value === undefined) return;
    if (!isObject(value)) this.fail(`${field} must be an object of strings, got ${describe(value)}`);
    for (const key in value) this.string(value[key], `${field}[${JSON.stringify(key)}]`);
  }

  digest(value: unknown, field: string): void {
    if (!isDigest(value)) {
      this.fail(
        `${field} must be a digest like "sha256:<64 hex>" or "sha512:<128 hex>", got ${describe(value)}`,
      );
    }
  }

  platform(value: unknown, field: string): asserts value is Platform | undefined {
    if (value === undefined) return;
    if (!isObject(value)) this.fail(`${field} must be an object, got ${describe(value)}`);
    this.string(value.architecture, `${field}.architecture`);
    this.string(value.os, `${field}.os`);
    this.string(value.variant, `${field}.variant`, { optional: true });
    this.string(value["os.version"], `${field}["os.version"]`, { optional: true });
    this.stringArray(value["os.features"], `${field}["os.features"]`);
    this.stringArray(value.features, `${field}.features`);
  }

  /** Checks a content descriptor (image-spec descriptor.md): mediaType, digest, size, optional fields. */
  descriptor(value: unknown, field: string): asserts value is Descriptor {
    if (!isObject(value)) this.fail(`${field} must be a descriptor object, got ${describe(value)}`);
    // The spec requires mediaType; Docker treats an empty one as "image" for old pushes
    // (distribution issue 1621), so only the type is enforced.
    this.string(value.mediaType, `${field}.mediaType`);
    this.digest(value.digest, `${field}.digest`);
    const size = value.size;
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
      this.fail(`${field}.size must be a non-negative integer, got ${describe(size)}`);
    }
    this.stringArray(value.urls, `${field}.urls`);
    this.stringMap(value.annotations, `${field}.annotations`);
    this.string(value.artifactType, `${field}.artifactType`, { optional: true });
    this.platform(value.platform, `${field}.platform`);
  }
}
