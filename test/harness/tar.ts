/**
 * A small tar writer for test fixtures: POSIX ustar headers with correct checksums, PAX extended headers
 * for what ustar cannot hold (long names and link targets, big ids, fractional mtimes), and every entry type
 * a container layer uses. Builds the whole archive in memory (fixtures are at most tens of MiB).
 *
 * @module
 */

/** Entry types, named as tug's tests think of them (ustar typeflag in the comment). */
export type TarEntryType =
  | "file" // '0'
  | "hardlink" // '1'
  | "symlink" // '2'
  | "char" // '3'
  | "block" // '4'
  | "directory" // '5'
  | "fifo"; // '6'

/** One archive member. */
export interface TarEntry {
  /** Path inside the archive, e.g. `etc/hostname` (directories may end in `/`). */
  path: string;
  /** Default `"file"`. */
  type?: TarEntryType;
  /** File content (UTF-8 for strings); only for `"file"`. */
  content?: Uint8Array | string;
  /** Target of a symlink or hard link. */
  linkname?: string;
  /** Permission bits (default 0o644 for files, 0o755 for directories, 0o777 for symlinks). */
  mode?: number;
  /** Owner id (default 0). */
  uid?: number;
  /** Group id (default 0). */
  gid?: number;
  /** Owner name (default empty). */
  uname?: string;
  /** Group name (default empty). */
  gname?: string;
  /** Modification time in seconds since the epoch, or a Date (default 2024-01-01T00:00:00Z). */
  mtime?: number | Date;
  /** Device major number (char and block devices). */
  devmajor?: number;
  /** Device minor number (char and block devices). */
  devminor?: number;
  /** Extra PAX records written before this entry (e.g. `SCHILY.xattr.user.x`). */
  pax?: Record<string, string>;
}

/** Options for {@linkcode createTar}. */
export interface CreateTarOptions {
  /** Leave out the two zero blocks that end an archive (some real layers lack them). */
  omitEndBlocks?: boolean;
}

const BLOCK = 512;
const DEFAULT_MTIME = Date.UTC(2024, 0, 1) / 1000;
const encoder = new TextEncoder();

const TYPEFLAG: Record<TarEntryType, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  directory: "5",
  fifo: "6",
};

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** Writes `value` as zero-padded octal with a trailing NUL into `width` bytes; false when it does not fit. */
function writeOctal(block: Uint8Array, offset: number, width: number, value: number): boolean {
  const text = Math.trunc(value).toString(8);
  if (value < 0 || text.length > width - 1) return false;
  block.set(encoder.encode(text.padStart(width - 1, "0")), offset);
  block[offset + width - 1] = 0;
  return true;
}

function writeString(block: Uint8Array, offset: number, width: number, bytes: Uint8Array): void {
  block.set(bytes.subarray(0, width), offset);
}

/** Splits a path into ustar prefix (≤155 bytes) and name (≤100 bytes) at a slash, or returns undefined. */
function splitPath(path: Uint8Array): [Uint8Array, Uint8Array] | undefined {
  if (path.length <= 100) return [new Uint8Array(0), path];
  if (path.length > 256) return undefined;
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== 0x2f) continue;
    const prefix = path.subarray(0, i);
    const name = path.subarray(i + 1);
    if (prefix.length <= 155 && name.length <= 100 && name.length > 0) return [prefix, name];
  }
  return undefined;
}

function paxRecord(key: string, value: string): Uint8Array {
  // "%d %s=%s\n" where the decimal length counts the whole record, itself included.
  const body = ` ${key}=${value}\n`;
  const bodyLength = encoder.encode(body).length;
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return encoder.encode(`${length}${body}`);
}

interface Header {
  name: Uint8Array;
  prefix: Uint8Array;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: Uint8Array;
  uname: Uint8Array;
  gname: Uint8Array;
  devmajor: number;
  devminor: number;
}

/** Encodes one ustar header block; returns the PAX records needed for fields that did not fit. */
function encodeHeader(block: Uint8Array, h: Header): void {
  writeString(block, 0, 100, h.name);
  writeOctal(block, 100, 8, h.mode);
  writeOctal(block, 108, 8, h.uid);
  writeOctal(block, 116, 8, h.gid);
  writeOctal(block, 124, 12, h.size);
  writeOctal(block, 136, 12, h.mtime);
  block.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  block[156] = h.typeflag.charCodeAt(0);
  writeString(block, 157, 100, h.linkname);
  writeString(block, 257, 6, encoder.encode("ustar\0"));
  writeString(block, 263, 2, encoder.encode("00"));
  writeString(block, 265, 32, h.uname);
  writeString(block, 297, 32, h.gname);
  writeOctal(block, 329, 8, h.devmajor);
  writeOctal(block, 337, 8, h.devminor);
  writeString(block, 345, 155, h.prefix);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i];
  // Six octal digits, NUL, space: the layout GNU tar and Go's archive/tar write.
  block.set(encoder.encode(sum.toString(8).padStart(6, "0")), 148);
  block[154] = 0;
  block[155] = 0x20;
}

interface Planned {
  pax?: Uint8Array;
  paxHeader?: Header;
  header: Header;
  content: Uint8Array;
}

function plan(entry: TarEntry, index: number): Planned {
  const type = entry.type ?? "file";
  if (!(type in TYPEFLAG)) {
    throw new TypeError(`tar entry ${index} ("${entry.path}") has unknown type "${type}"`);
  }
  if (entry.content !== undefined && type !== "file") {
    throw new TypeError(`tar entry "${entry.path}" of type ${type} cannot have content`);
  }
  if ((type === "symlink" || type === "hardlink") && !entry.linkname) {
    throw new TypeError(`tar entry "${entry.path}" of type ${type} needs a linkname`);
  }
  const content = typeof entry.content === "string"
    ? encoder.encode(entry.content)
    : entry.content ?? new Uint8Array();
  let path = entry.path;
  if (type === "directory" && !path.endsWith("/")) path += "/";
  const pathBytes = encoder.encode(path);
  const linkBytes = encoder.encode(entry.linkname ?? "");
  const mtimeRaw = entry.mtime instanceof Date ? entry.mtime.getTime() / 1000 : entry.mtime ?? DEFAULT_MTIME;
  const records: Record<string, string> = {};
  const split = splitPath(pathBytes);
  if (!split) records.path = path;
  if (linkBytes.length > 100) records.linkpath = entry.linkname!;
  const uid = entry.uid ?? 0;
  const gid = entry.gid ?? 0;
  if (uid > 0o7777777) records.uid = String(uid);
  if (gid > 0o7777777) records.gid = String(gid);
  if (content.length > 0o77777777777) records.size = String(content.length);
  if (!Number.isInteger(mtimeRaw)) records.mtime = mtimeRaw.toFixed(9).replace(/0+$/, "");
  const uname = encoder.encode(entry.uname ?? "");
  const gname = encoder.encode(entry.gname ?? "");
  if (uname.length > 32) records.uname = entry.uname!;
  if (gname.length > 32) records.gname = entry.gname!;
  Object.assign(records, entry.pax ?? {});
  const defaultMode = type === "directory" ? 0o755 : type === "symlink" ? 0o777 : 0o644;
  const [prefix, name] = split ?? [new Uint8Array(0), pathBytes.subarray(0, 100)];
  const header: Header = {
    name,
    prefix,
    mode: entry.mode ?? defaultMode,
    uid: Math.min(uid, 0o7777777),
    gid: Math.min(gid, 0o7777777),
    size: type === "file" ? content.length : 0,
    mtime: Math.max(0, Math.floor(mtimeRaw)),
    typeflag: TYPEFLAG[type],
    linkname: linkBytes.subarray(0, 100),
    uname: uname.subarray(0, 32),
    gname: gname.subarray(0, 32),
    devmajor: entry.devmajor ?? 0,
    devminor: entry.devminor ?? 0,
  };
  const keys = Object.keys(records);
  if (keys.length === 0) return { header, content };
  const parts = keys.map((k) => paxRecord(k, records[k]));
  const pax = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    pax.set(p, at);
    at += p.length;
  }
  // The PAX header's own name only matters to readers that ignore PAX; keep it short and unique.
  const paxName = encoder.encode(`PaxHeaders/${index}`);
  const paxHeader: Header = {
    ...header,
    name: paxName,
    prefix: new Uint8Array(0),
    size: pax.length,
    typeflag: "x",
    linkname: new Uint8Array(0),
    mode: 0o644,
  };
  return { pax, paxHeader, header, content };
}

/**
 * Builds a tar archive from `entries`, in order.
 *
 * @example A layer with a file, a directory and a symlink
 * ```ts
 * import { createTar } from "./tar.ts";
 * const tar = createTar([
 *   { path: "etc", type: "directory" },
 *   { path: "etc/hostname", content: "tug\n" },
 *   { path: "etc/alias", type: "symlink", linkname: "hostname" },
 * ]);
 * if (tar.length % 512 !== 0) throw new Error("not block aligned");
 * ```
 */
export function createTar(entries: readonly TarEntry[], options: CreateTarOptions = {}): Uint8Array {
  const planned = entries.map(plan);
  let total = options.omitEndBlocks ? 0 : 2 * BLOCK;
  for (const p of planned) {
    if (p.pax) total += BLOCK + padded(p.pax.length);
    total += BLOCK + padded(p.content.length);
  }
  // One allocation for the whole archive; zero padding comes free.
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of planned) {
    if (p.pax && p.paxHeader) {
      encodeHeader(out.subarray(at, at + BLOCK), p.paxHeader);
      at += BLOCK;
      out.set(p.pax, at);
      at += padded(p.pax.length);
    }
    encodeHeader(out.subarray(at, at + BLOCK), p.header);
    at += BLOCK;
    out.set(p.content, at);
    at += padded(p.content.length);
  }
  return out;
}
