// This module is browser compatible.
/**
 * Byte counts as Docker prints them.
 *
 * @module
 */

// Decimal units, as docker/go-units' HumanSize uses for every size `docker pull` and `docker images` show.
const UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"] as const;

/** Options for {@linkcode humanSize}. */
export interface HumanSizeOptions {
  /** Significant digits, 1 to 21. Docker's HumanSize uses 4 (`1.234MB`); `docker images` uses 3 (`7.8MB`). */
  readonly precision?: number;
}

/**
 * Formats a byte count the way Docker does (go-units `HumanSize`): divide by 1000 while the value is at
 * least 1000, then print Go's `%.4g` (four significant digits, trailing zeros dropped) followed by the unit
 * with no space: `0B`, `999B`, `1.234kB`, `45.6MB`, `1.2GB`.
 *
 * @param bytes A finite, non-negative byte count.
 * @throws {RangeError} When `bytes` is negative or not finite, or `precision` is out of range.
 *
 * @example
 * ```ts
 * import { humanSize } from "./human_size.ts";
 *
 * console.assert(humanSize(0) === "0B");
 * console.assert(humanSize(1234) === "1.234kB");
 * console.assert(humanSize(45_600_000) === "45.6MB");
 * console.assert(humanSize(7_812_345, { precision: 3 }) === "7.81MB");
 * ```
 */
export function humanSize(bytes: number, options: HumanSizeOptions = {}): string {
  const precision = options.precision ?? 4;
  if (!Number.isInteger(precision) || precision < 1 || precision > 21) {
    throw new RangeError(
      `Cannot format a size with precision ${precision}: expected an integer from 1 to 21`,
    );
  }
  if (typeof bytes !== "number" || !Number.isFinite(bytes) || bytes < 0) {
    throw new RangeError(`Cannot format size ${bytes}: expected a finite, non-negative number of bytes`);
  }
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < UNITS.length - 1) {
    size /= 1000;
    unit++;
  }
  return formatG(size, precision) + UNITS[unit];
}

/** Go's `%.<precision>g`: shortest of fixed or exponent form, trailing zeros removed, exponent ≥ 2 digits. */
function formatG(value: number, precision: number): string {
  const text = value.toPrecision(precision);
  const e = text.indexOf("e");
  if (e === -1) return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
  const mantissa = text.slice(0, e);
  const exponent = Number(text.slice(e + 1));
  const digits = String(Math.abs(exponent)).padStart(2, "0");
  return `${mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa}e${
    exponent < 0 ? "-" : "+"
  }${digits}`;
}
