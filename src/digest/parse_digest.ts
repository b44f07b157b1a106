// This module is browser compatible.
/**
 * Digest parsing and validation. A digest from a manifest, a URL or a user is untrusted: it is used to name
 * blobs on disk (`blobs/sha256/<hex>`) and in registry URLs (`/v2/<name>/blobs/<digest>`), so it is checked
 * against the strict grammar here before it touches either.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import type { DigestAlgorithm } from "./hasher.ts";

/** A parsed, validated content digest such as `sha256:e3b0c442…`. */
export interface Digest {
  /** The hash algorithm (`sha256` or `sha512`). */
  readonly algorithm: DigestAlgorithm;
  /** The lowercase hex encoding: 64 characters for sha256, 128 for sha512. */
  readonly hex: string;
  /** The canonical `algorithm:hex` form. */
  toString(): string;
}

// OCI image spec, "Digests": sha256 and sha512 are the registered algorithms, each encoded as lowercase hex
// of a fixed length ("/[a-f0-9]{64}/" and "/[a-f0-9]{128}/"). Implementations must refuse other encodings.
const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha512: 128 };
const LOWER_HEX = /^[0-9a-f]*$/;
// OCI image spec grammar: algorithm ::= algorithm-component (algorithm-separator algorithm-component)*,
// algorithm-component ::= [a-z0-9]+, algorithm-separator ::= [+._-]; encoded ::= [a-zA-Z0-9=_-]+.
// A digest in this shape whose algorithm tug does not implement is "unsupported", not "malformed".
const ALGORITHM_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;
const ENCODED_GRAMMAR = /^[a-zA-Z0-9=_-]+$/;
// Error messages quote the input; keep a hostile multi-megabyte string out of logs.
const QUOTE_LIMIT = 200;

function quote(input: string): string {
  return JSON.stringify(input.length > QUOTE_LIMIT ? `${input.slice(0, QUOTE_LIMIT)}…` : input);
}

function refuse(input: string, reason: string): never {
  throw new TugError(
    "DIGEST_INVALID_FORMAT",
    `Invalid digest ${
      quote(input)
    }: ${reason}; expected "sha256:" + 64 or "sha512:" + 128 lowercase hex characters`,
    { detail: { digest: input } },
  );
}

class ParsedDigest implements Digest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  constructor(algorithm: DigestAlgorithm, hex: string) {
    this.algorithm = algorithm;
    this.hex = hex;
    Object.freeze(this);
  }
  toString(): string {
    return `${this.algorithm}:${this.hex}`;
  }
}

/**
 * Parses and validates a content digest. Only `sha256:` + 64 and `sha512:` + 128 lowercase hex characters
 * pass, so the result is safe to put into a file path or a URL (no `/`, `..`, `%`, whitespace or uppercase
 * can get through).
 *
 * @param input The digest string, e.g. from a descriptor, a `Docker-Content-Digest` header or a URL.
 * @returns The algorithm and hex encoding.
 * @throws {TypeError} If `input` is not a string.
 * @throws {TugError} `DIGEST_INVALID_FORMAT` if `input` is malformed; `DIGEST_UNSUPPORTED` if it is a
 * well-formed `algorithm:encoded` digest with an algorithm other than sha256 or sha512.
 *
 * @example Parse a digest
 * ```ts
 * import { parseDigest } from "./parse_digest.ts";
 *
 * const digest = parseDigest("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
 * console.assert(digest.algorithm === "sha256");
 * console.assert(digest.hex.length === 64);
 * console.assert(`${digest}` === "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
 * ```
 *
 * @example Refuse an unsafe digest
 * ```ts
 * import { parseDigest } from "./parse_digest.ts";
 * import { isTugError } from "../errors.ts";
 *
 * try {
 *   parseDigest("sha256:../../etc/passwd");
 *   throw new Error("unreachable");
 * } catch (err) {
 *   console.assert(isTugError(err, "DIGEST_INVALID_FORMAT"));
 * }
 * ```
 */
export function parseDigest(input: string): Digest {
  if (typeof input !== "string") {
    throw new TypeError(
      `Cannot parse a digest from a ${input === null ? "null" : typeof input}: expected a string`,
    );
  }
  if (input.length === 0) refuse(input, "it is empty");
  const colon = input.indexOf(":");
  if (colon < 0) refuse(input, 'it has no "algorithm:" prefix');
  const algorithm = input.slice(0, colon);
  const encoded = input.slice(colon + 1);
  if (algorithm.length === 0) refuse(input, "the algorithm before the colon is empty");
  if (!ALGORITHM_GRAMMAR.test(algorithm)) {
    refuse(
      input,
      /[A-Z]/.test(algorithm)
        ? `the algorithm ${quote(algorithm)} has uppercase letters`
        : `the algorithm ${quote(algorithm)} has characters outside [a-z0-9] and separators [+._-]`,
    );
  }
  if (encoded.length === 0) refuse(input, "the encoded part after the colon is empty");
  const wanted = (HEX_LENGTH as Record<string, number | undefined>)[algorithm];
  if (wanted === undefined) {
    if (!ENCODED_GRAMMAR.test(encoded)) {
      refuse(input, "the encoded part has characters outside [a-zA-Z0-9=_-]");
    }
    throw new TugError(
      "DIGEST_UNSUPPORTED",
      `Unsupported digest ${quote(input)}: algorithm ${quote(algorithm)} is not supported; ` +
        `expected "sha256:" + 64 or "sha512:" + 128 lowercase hex characters`,
      { detail: { digest: input, algorithm } },
    );
  }
  if (!LOWER_HEX.test(encoded)) {
    refuse(
      input,
      /^[0-9a-fA-F]*$/.test(encoded)
        ? `the ${algorithm} hex has uppercase letters`
        : `the ${algorithm} hex has characters outside [0-9a-f]`,
    );
  }
  if (encoded.length !== wanted) {
    refuse(input, `${algorithm} needs exactly ${wanted} hex characters, got ${encoded.length}`);
  }
  return new ParsedDigest(algorithm as DigestAlgorithm, encoded);
}
