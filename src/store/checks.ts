// This module is browser compatible.
/**
 * Argument checks every store shares: digests (they name files on disk), blob ranges, reference names and
 * descriptors. Shared by every store (src/store/ and the adapters' stores).
 *
 * @module
 */

import { parseDigest } from "../digest/parse_digest.ts";
import type { Digest } from "../digest/parse_digest.ts";
import type { Descriptor } from "../manifest/types.ts";
import type { BlobInfo } from "./types.ts";

/** Parses a digest given to a store; TypeError or TugError DIGEST_INVALID_FORMAT/DIGEST_UNSUPPORTED. */
export function checkDigest(digest: string): Digest {
  return parseDigest(digest);
}

/** Checks the `expected` argument of `BlobStore.writer()`. */
export function checkExpected(expected: BlobInfo): Digest {
  if (typeof expected !== "object" || expected === null) {
    throw new TypeError("Cannot open a blob writer: expected { digest, size }");
  }
  const parsed = parseDigest(expected.digest);
  checkSize(expected.size, `Cannot open a blob writer for ${expected.digest}`);
  return parsed;
}

function checkSize(size: unknown, what: string): void {
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new TypeError(`${what}: size ${String(size)} is not a non-negative integer`);
  }
}

/**
 * Resolves a read range against a blob's size. `start` must lie in [0, size]; `end` (exclusive) must be
 * ≥ start and is clamped to `size`, as an HTTP Range whose last byte lies beyond the end (RFC 9110 §14.1.2).
 */
export function resolveRange(
  digest: string,
  size: number,
  range: { start: number; end?: number } | undefined,
): { start: number; end: number } {
  if (range === undefined) return { start: 0, end: size };
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new RangeError(`Cannot read blob ${digest}: range start ${start} is not a non-negative integer`);
  }
  if (start > size) {
    throw new RangeError(`Cannot read blob ${digest}: range start ${start} lies beyond its size ${size}`);
  }
  if (end === undefined) return { start, end: size };
  if (!Number.isSafeInteger(end) || end < start) {
    throw new RangeError(`Cannot read blob ${digest}: range end ${end} is not an integer ≥ start ${start}`);
  }
  return { start, end: Math.min(end, size) };
}

/**
 * Checks the range given to `BlobWriter.readWritten()`: `0 ≤ start ≤ end ≤ readable` (the bytes the write
 * can give back now; unlike a committed blob's range, `end` is not clamped: bytes past it do not exist yet).
 */
export function checkWrittenRange(digest: string, start: number, end: number, readable: number): void {
  if (
    !Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > readable
  ) {
    throw new RangeError(
      `Cannot read back bytes ${start}-${end} of blob ${digest} being written: ${readable} are readable`,
    );
  }
}

/** Checks a reference name (any non-empty string; stores do not parse references). */
export function checkName(name: string): void {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`Reference name ${JSON.stringify(name)} must be a non-empty string`);
  }
}

/** Checks a descriptor before a store records it (digest grammar, size, media type). */
export function checkDescriptor(name: string, descriptor: Descriptor): void {
  if (typeof descriptor !== "object" || descriptor === null) {
    throw new TypeError(`Cannot set reference "${name}": the descriptor is not an object`);
  }
  parseDigest(descriptor.digest);
  checkSize(descriptor.size, `Cannot set reference "${name}"`);
  if (typeof descriptor.mediaType !== "string" || descriptor.mediaType.length === 0) {
    throw new TypeError(`Cannot set reference "${name}": the descriptor has no mediaType`);
  }
}
