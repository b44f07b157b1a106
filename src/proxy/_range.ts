// This module is browser compatible.
/**
 * HTTP byte ranges for blob requests (RFC 9110 §14). Private to the proxy.
 *
 * @module
 */

/** A satisfiable single range: bytes `[start, end)`. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Parses a `Range` header against a blob of `size` bytes. Returns `undefined` when there is no usable
 * single range (absent, another unit, several ranges: RFC 9110 §14.2 lets a server ignore those and send
 * the whole blob), `"unsatisfiable"` for a range that starts past the end (416), else the range.
 */
export function parseRange(header: string | null, size: number): ByteRange | "unsatisfiable" | undefined {
  if (header === null) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (m === null || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    // Suffix range: the last N bytes.
    const n = Number(m[2]);
    if (n === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size };
  }
  const start = Number(m[1]);
  if (!Number.isSafeInteger(start)) return undefined;
  if (start >= size) return "unsatisfiable";
  const last = m[2] === "" ? size - 1 : Number(m[2]);
  if (!Number.isSafeInteger(last) || last < start) return undefined;
  return { start, end: Math.min(size, last + 1) };
}

/** Parses only the start and (optional) end of a `Range` header, before the size is known. */
export function parseOpenRange(header: string | null): { start: number; last?: number } | undefined {
  if (header === null) return undefined;
  const m = /^\s*bytes\s*=\s*(\d+)\s*-\s*(\d*)\s*$/i.exec(header);
  if (m === null) return undefined;
  const start = Number(m[1]);
  if (m[2] === "") return { start };
  const last = Number(m[2]);
  return last < start ? undefined : { start, last };
}
