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

/** A range asked for before the blob's size is known: from `start`, to `last` (inclusive) when given. */
export interface OpenRange {
  readonly start: number;
  readonly last?: number;
}

/**
 * Parses only the start and (optional) end of a `Range` header, before the size is known. Offsets that are
 * not safe integers (`bytes=99999999999999999999-`) give `undefined`, like any range the proxy ignores.
 */
export function parseOpenRange(header: string | null): OpenRange | undefined {
  if (header === null) return undefined;
  const m = /^\s*bytes\s*=\s*(\d+)\s*-\s*(\d*)\s*$/i.exec(header);
  if (m === null) return undefined;
  const start = Number(m[1]);
  if (!Number.isSafeInteger(start)) return undefined;
  if (m[2] === "") return { start };
  const last = Number(m[2]);
  return !Number.isSafeInteger(last) || last < start ? undefined : { start, last };
}

/** The `Range` header the proxy sends upstream for `range`: rebuilt, never the client's text. */
export function rangeHeader(range: OpenRange): string {
  return `bytes=${range.start}-${range.last ?? ""}`;
}

/**
 * Checks an upstream's `206` against the range that was asked for (RFC 9110 §14.4, §15.3.7): its
 * `Content-Range` must be `bytes first-last/complete` with `first` the start asked for, `last` the end
 * asked for (or the blob's last byte when the range ran past it or was open), and a known complete length;
 * a `Content-Length`, when present, must be the range's length. Returns the range as served, or why not.
 */
export function checkRangeAnswer(
  asked: OpenRange,
  contentRange: string | null,
  contentLength: string | null,
): { start: number; end: number; size: number } | string {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(contentRange?.trim() ?? "");
  if (m === null) return `a 206 with Content-Range ${JSON.stringify(contentRange)}`;
  const [first, last, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (![first, last, size].every(Number.isSafeInteger) || last < first || last >= size) {
    return `a 206 with an impossible Content-Range "${contentRange}"`;
  }
  const wantedLast = asked.last === undefined ? size - 1 : Math.min(asked.last, size - 1);
  if (first !== asked.start || last !== wantedLast) {
    return `a 206 for bytes ${first}-${last}/${size}, asked for ${rangeHeader(asked)}`;
  }
  if (contentLength !== null && contentLength.trim() !== String(last - first + 1)) {
    return `a 206 of ${last - first + 1} bytes with Content-Length ${contentLength}`;
  }
  return { start: first, end: last + 1, size };
}

/**
 * Passes exactly `length` bytes through and errors the stream when the source sends more or ends with
 * fewer: a relayed range that does not match what its headers promised breaks, it never ends cleanly.
 */
export function exactLength(length: number, what: string): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > length) {
        controller.error(new TypeError(`${what}: the upstream sent more than the ${length} bytes promised`));
        return;
      }
      controller.enqueue(chunk);
    },
    flush(controller) {
      if (seen < length) {
        controller.error(
          new TypeError(`${what}: the upstream sent ${seen} of the ${length} bytes promised`),
        );
      }
    },
  });
}
