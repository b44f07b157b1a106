/**
 * Small text formatters for the page: byte sizes, Unix modes, times, short digests, hex dumps.
 *
 * @module
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/**
 * A byte count for people: `1536` → `"1.5 KiB"`, `0` → `"0 B"`.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./format.ts";
 *
 * console.assert(formatBytes(1536) === "1.5 KiB");
 * console.assert(formatBytes(67108864) === "64.0 MiB");
 * ```
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

const TYPE_CHAR: Record<string, string> = {
  directory: "d",
  symlink: "l",
  char: "c",
  block: "b",
  fifo: "p",
};

/**
 * A mode as `ls -l` prints it: type character then rwx triplets with setuid, setgid and sticky bits.
 * A hard link is another name of a regular file, so it shows `-` as `ls -l` prints it.
 *
 * @example
 * ```ts
 * import { formatMode } from "./format.ts";
 *
 * console.assert(formatMode("directory", 0o1777) === "drwxrwxrwt");
 * console.assert(formatMode("file", 0o4755) === "-rwsr-xr-x");
 * ```
 */
export function formatMode(type: string, mode: number): string {
  const rwx = (bits: number, special: boolean, char: string) =>
    (bits & 4 ? "r" : "-") + (bits & 2 ? "w" : "-") +
    (special ? (bits & 1 ? char : char.toUpperCase()) : bits & 1 ? "x" : "-");
  return (TYPE_CHAR[type] ?? "-") +
    rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, "s") +
    rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, "s") +
    rwx(mode & 7, (mode & 0o1000) !== 0, "t");
}

/**
 * A tar mtime (seconds) as `YYYY-MM-DD HH:MM` in UTC.
 *
 * @example
 * ```ts
 * import { formatTime } from "./format.ts";
 *
 * console.assert(formatTime(1704067200) === "2024-01-01 00:00");
 * ```
 */
export function formatTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return "";
  return new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ");
}

/**
 * The first 12 hex digits of a digest, as Docker shows image ids.
 *
 * @example
 * ```ts
 * import { shortDigest } from "./format.ts";
 *
 * console.assert(shortDigest("sha256:0123456789abcdef0000") === "0123456789ab");
 * ```
 */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(":");
  return digest.slice(colon + 1, colon + 13);
}

/**
 * A classic hex dump: offset, 16 bytes in hex, and their printable ASCII.
 *
 * @example
 * ```ts
 * import { hexDump } from "./format.ts";
 *
 * const line = hexDump(new Uint8Array([0x7f, 0x45, 0x4c, 0x46]));
 * console.assert(line.startsWith("00000000  7f 45 4c 46 ") && line.endsWith(" |.ELF|"));
 * ```
 */
export function hexDump(bytes: Uint8Array, offset = 0): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    let hex = "";
    let text = "";
    for (let i = 0; i < 16; i++) {
      if (i < row.length) {
        hex += row[i].toString(16).padStart(2, "0") + " ";
        text += row[i] >= 0x20 && row[i] < 0x7f ? String.fromCharCode(row[i]) : ".";
      } else {
        hex += "   ";
      }
      if (i === 7) hex += " ";
    }
    lines.push(`${(offset + at).toString(16).padStart(8, "0")}  ${hex} |${text}|`);
  }
  return lines.join("\n");
}

/**
 * Whether bytes look like text: valid UTF-8 with no NUL and few control characters (the way `file` and
 * most viewers decide).
 *
 * @example
 * ```ts
 * import { looksLikeText } from "./format.ts";
 *
 * console.assert(looksLikeText(new TextEncoder().encode("hello\n")));
 * console.assert(!looksLikeText(new Uint8Array([0, 1, 2, 3])));
 * ```
 */
export function looksLikeText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 8192);
  let control = 0;
  for (const b of sample) {
    if (b === 0) return false;
    if (b < 0x20 && b !== 9 && b !== 10 && b !== 13 && b !== 12) control++;
  }
  if (control > sample.length / 100 + 1) return false;
  try {
    // A cut at the end of the sample may split a character: ignore a bad tail.
    new TextDecoder("utf-8", { fatal: true }).decode(sample.subarray(0, trimPartial(sample)));
    return true;
  } catch {
    return false;
  }
}

/** The length of `bytes` without an incomplete UTF-8 sequence at its end. */
function trimPartial(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let back = 1; back <= 3 && end - back >= 0; back++) {
    const b = bytes[end - back];
    if ((b & 0xc0) === 0x80) continue;
    if ((b & 0xc0) === 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return need > back ? end - back : end;
    }
    return end;
  }
  return end;
}

/**
 * A count with its noun in the right number: `1 entry`, `2 entries` (digits grouped for large counts).
 *
 * @example
 * ```ts
 * import { countOf } from "./format.ts";
 *
 * console.assert(countOf(1, "entry", "entries") === "1 entry");
 * console.assert(countOf(8000, "entry", "entries") === "8,000 entries");
 * ```
 */
export function countOf(n: number, one: string, many: string): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}
