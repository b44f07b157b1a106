// This module is browser compatible.
/**
 * {@linkcode parseSize}: a size as the Docker CLI reads its size flags (`docker builder prune --keep-storage
 * 10GB`, `docker run --memory 512m`: go-units' `RAMInBytes`), for `--cache-max-bytes` and the worker's
 * `CACHE_MAX_BYTES`.
 *
 * @module
 */

const SIZE = /^(\d+(?:\.\d+)?) ?(?:([kmgtp])i?)?b?$/i;
const POWERS: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, p: 5 };

/**
 * Reads a size in bytes: a number, an optional unit k, m, g, t or p (any case) with an optional `i`, and an
 * optional `b`, one space allowed before the unit. Units are powers of 1024, as in Docker: `10GB` is 10 GiB.
 *
 * @param text The size, e.g. `10GB`, `512m`, `1.5GiB` or `1073741824`.
 * @returns The bytes (rounded down), or undefined when `text` is not a size.
 *
 * @example
 * ```ts
 * import { parseSize } from "./parse_size.ts";
 *
 * console.assert(parseSize("10GB") === 10 * 1024 ** 3);
 * console.assert(parseSize("512m") === 512 * 1024 ** 2);
 * console.assert(parseSize("ten") === undefined);
 * ```
 */
export function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (m === null) return undefined;
  const bytes = Math.floor(Number(m[1]) * 1024 ** (m[2] ? POWERS[m[2].toLowerCase()] : 0));
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
