// This module is browser compatible.
/**
 * A streaming tar reader for container layers: ustar, PAX (`x` and `g` headers), GNU long names and links
 * (`L`/`K`), GNU base-256 numbers and old v7 archives. Bodies are views into the incoming chunks; nothing
 * is buffered beyond one chunk and one header.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import { ByteSource } from "./_byte_source.ts";

/** What kind of member a tar entry is. */
export type TarEntryType =
  | "file"
  | "directory"
  | "symlink"
  | "hardlink"
  | "char"
  | "block"
  | "fifo"
  | "sparse"
  | "unknown";

/** The metadata of one tar entry (everything but its body). */
export interface TarHeader {
  /** Path as stored (after PAX `path` / GNU long name), e.g. `./etc/hostname` or `usr/`. */
  name: string;
  /** The entry's kind. `"unknown"` keeps the raw flag in {@linkcode TarHeader.typeflag}. */
  type: TarEntryType;
  /** The raw typeflag character (`"0"`, `"5"`, `"x"` never appears: extended headers are applied). */
  typeflag: string;
  /** Bytes of data that follow the header: 0 for directories, links, devices and FIFOs whatever the header says. */
  size: number;
  /** Permission and mode bits (e.g. `0o755`). */
  mode: number;
  /** Owner id. */
  uid: number;
  /** Group id. */
  gid: number;
  /** Owner name ("" when absent). */
  uname: string;
  /** Group name ("" when absent). */
  gname: string;
  /** Modification time in seconds since the epoch (fractional from a PAX `mtime`). */
  mtime: number;
  /** Target of a symlink or hard link ("" otherwise). */
  linkname: string;
  /** Device major number (char and block devices). */
  devmajor: number;
  /** Device minor number (char and block devices). */
  devminor: number;
  /** PAX records in force for this entry (global ones merged under per-file ones), when there were any. */
  pax?: Record<string, string>;
  /** Offset of the entry's first header (its PAX or GNU long-name header if it has one) in the tar stream. */
  offset: number;
}

/** One tar entry: its metadata and its data. */
export interface TarEntry extends TarHeader {
  /**
   * The entry's data, `size` bytes, as views into the tar stream's chunks. Read it before asking for the
   * next entry: moving on skips whatever is left, and the stream then errors if read further. Created on
   * first access, so entries whose body is never touched cost no stream.
   */
  readonly body: ReadableStream<Uint8Array>;
}

const BLOCK = 512;
/** Go's archive/tar refuses PAX and GNU long-name headers above 1 MiB (maxSpecialFileSize); so does tug. */
const MAX_SPECIAL = 1 << 20;
const decoder = new TextDecoder();

function invalid(offset: number, what: string): TugError {
  return new TugError("TAR_INVALID", `Cannot read tar header at offset ${offset}: ${what}`);
}

function truncated(offset: number, what: string): TugError {
  return new TugError("TAR_INVALID", `Cannot read tar archive: it ends at offset ${offset}, inside ${what}`);
}

/** A NUL-terminated string field. */
function cstring(block: Uint8Array, start: number, length: number): string {
  let end = start;
  const stop = start + length;
  while (end < stop && block[end] !== 0) end++;
  return end === start ? "" : decoder.decode(block.subarray(start, end));
}

/**
 * A numeric field: octal text padded with spaces or NULs, or GNU base-256 (first byte's high bit set, two's
 * complement big-endian), which GNU tar and Go write for values that octal cannot hold. NaN when invalid.
 */
function numeric(block: Uint8Array, start: number, length: number): number {
  const first = block[start];
  if (first & 0x80) {
    const negative = (first & 0x40) !== 0;
    const inv = negative ? 0xff : 0;
    let x = 0;
    for (let i = 0; i < length; i++) {
      let c = block[start + i] ^ inv;
      if (i === 0) c &= 0x7f;
      x = x * 256 + c;
      if (x > Number.MAX_SAFE_INTEGER) return NaN;
    }
    return negative ? -x - 1 : x;
  }
  let i = start;
  const end = start + length;
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++;
  let x = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = block[i];
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return NaN;
    x = x * 8 + (c - 0x30);
    digits++;
  }
  // Only padding may follow the digits.
  for (; i < end; i++) if (block[i] !== 0 && block[i] !== 0x20) return NaN;
  return digits === 0 ? 0 : x;
}

function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/**
 * Verifies the header checksum. POSIX sums the bytes as unsigned with the checksum field read as spaces;
 * some old tars summed signed chars, so either sum is accepted (as GNU tar and Go do).
 */
function checkChecksum(block: Uint8Array, offset: number): void {
  const stored = numeric(block, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += c;
    signed += c < 128 ? c : c - 256;
  }
  if (Number.isNaN(stored) || (stored !== unsigned && stored !== signed)) {
    throw invalid(offset, `checksum mismatch (header says ${stored}, bytes sum to ${unsigned})`);
  }
}

/** Parses PAX extended header records, `"%d %s=%s\n"` with the length counting the whole record. */
function parsePax(data: Uint8Array, offset: number, into: Record<string, string>): void {
  let at = 0;
  while (at < data.length) {
    // Some writers pad the data with NULs; nothing but padding may follow.
    if (data[at] === 0) {
      for (let i = at; i < data.length; i++) if (data[i] !== 0) throw invalid(offset, "bad PAX record");
      return;
    }
    const space = data.indexOf(0x20, at);
    if (space === -1) throw invalid(offset, "bad PAX record (no length)");
    const lengthText = decoder.decode(data.subarray(at, space));
    const length = /^[0-9]+$/.test(lengthText) ? Number(lengthText) : NaN;
    if (!(length >= 5) || at + length > data.length || data[at + length - 1] !== 0x0a) {
      throw invalid(offset, `bad PAX record length "${lengthText}"`);
    }
    const record = data.subarray(space + 1, at + length - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw invalid(offset, "bad PAX record (no key)");
    into[decoder.decode(record.subarray(0, eq))] = decoder.decode(record.subarray(eq + 1));
    at += length;
  }
}

function paxInteger(value: string, key: string, offset: number): number {
  if (!/^-?[0-9]+$/.test(value)) throw invalid(offset, `PAX ${key} "${value}" is not an integer`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw invalid(offset, `PAX ${key} "${value}" is out of range`);
  return n;
}

/** Types with no data whatever their size field says (Go's isHeaderOnlyType). */
const HEADER_ONLY = new Set<TarEntryType>(["hardlink", "symlink", "char", "block", "directory", "fifo"]);

function entryType(flag: number, name: string): TarEntryType {
  switch (flag) {
    case 0:
      // v7 archives mark directories by a trailing slash only.
      return name.endsWith("/") ? "directory" : "file";
    case 0x30: // '0'
    case 0x37: // '7' contiguous file: a regular file everywhere that matters
      return "file";
    case 0x31:
      return "hardlink";
    case 0x32:
      return "symlink";
    case 0x33:
      return "char";
    case 0x34:
      return "block";
    case 0x35:
      return "directory";
    case 0x36:
      return "fifo";
    case 0x53: // 'S' old GNU sparse file
      return "sparse";
    default:
      return "unknown";
  }
}

interface Body {
  remaining: number;
  padding: number;
  closed: boolean;
  /** Data was left unread when the reader moved on. */
  skipped?: boolean;
  busy?: Promise<unknown>;
}

class Entry implements TarEntry {
  name: string;
  type: TarEntryType;
  typeflag: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  pax?: Record<string, string>;
  offset: number;
  #source: ByteSource;
  #state: Body;
  #body?: ReadableStream<Uint8Array>;

  constructor(header: TarHeader, source: ByteSource, state: Body) {
    this.name = header.name;
    this.type = header.type;
    this.typeflag = header.typeflag;
    this.size = header.size;
    this.mode = header.mode;
    this.uid = header.uid;
    this.gid = header.gid;
    this.uname = header.uname;
    this.gname = header.gname;
    this.mtime = header.mtime;
    this.linkname = header.linkname;
    this.devmajor = header.devmajor;
    this.devminor = header.devminor;
    if (header.pax) this.pax = header.pax;
    this.offset = header.offset;
    this.#source = source;
    this.#state = state;
  }

  get body(): ReadableStream<Uint8Array> {
    if (this.#body) return this.#body;
    const state = this.#state;
    const source = this.#source;
    const name = this.name;
    this.#body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (state.remaining === 0 && !state.skipped) {
          controller.close();
          return;
        }
        if (state.closed) {
          throw new TypeError(
            `The body of tar entry "${name}" was read after the reader moved to the next entry`,
          );
        }
        const read = source.read(state.remaining);
        state.busy = read;
        const view = await read;
        state.busy = undefined;
        if (view === undefined) {
          throw truncated(source.offset, `the data of "${name}" (${state.remaining} bytes missing)`);
        }
        state.remaining -= view.length;
        controller.enqueue(view);
        if (state.remaining === 0) controller.close();
      },
    }, { highWaterMark: 0 });
    return this.#body;
  }
}

/**
 * Reads a tar stream entry by entry. Each entry's {@linkcode TarEntry.body} must be read before the next
 * entry is asked for; what is left of it is skipped then.
 *
 * The end of the archive is read leniently, like Go's archive/tar (which Docker and containerd use to apply
 * layers): the archive may stop right after the last entry's data, without the two zero blocks, and even
 * without that data's padding to 512 bytes; a single zero block followed by the end is fine too. A stream
 * that ends inside a header or inside an entry's data is an error (Go's io.ErrUnexpectedEOF), and so is a
 * header whose checksum does not match: both throw a `TugError` of code `TAR_INVALID` naming the offset.
 *
 * Leaving the loop early cancels the stream.
 *
 * @param stream The uncompressed tar stream.
 * @returns The entries, in archive order.
 *
 * @example List a tar's entries
 * ```ts
 * import { readTar } from "./tar_reader.ts";
 *
 * // A tar with one directory entry "etc/", built by hand: name, mode, typeflag '5', magic, checksum.
 * const block = new Uint8Array(1024 + 512);
 * const put = (at: number, text: string) => block.set(new TextEncoder().encode(text), at);
 * put(0, "etc/");
 * put(100, "0000755");
 * put(124, "00000000000");
 * put(136, "00000000000");
 * put(156, "5");
 * put(257, "ustar\u000000");
 * block.fill(0x20, 148, 156);
 * const sum = block.subarray(0, 512).reduce((a, b) => a + b, 0);
 * put(148, sum.toString(8).padStart(6, "0") + "\u0000 ");
 *
 * const names = [];
 * for await (const entry of readTar(new Response(block).body!)) names.push(`${entry.type} ${entry.name}`);
 * console.assert(names.join() === "directory etc/");
 * ```
 */
export async function* readTar(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<TarEntry, void, undefined> {
  const source = new ByteSource(stream);
  let globalPax: Record<string, string> | undefined;
  let current: Body | undefined;
  let failure: unknown;
  try {
    for (;;) {
      if (current) {
        current.closed = true;
        if (current.busy) await current.busy.catch(() => {});
        if (current.remaining > 0) {
          current.skipped = true;
          const skipped = await source.skip(current.remaining);
          if (skipped < current.remaining) {
            throw truncated(
              source.offset,
              `the data of an entry (${current.remaining - skipped} bytes missing)`,
            );
          }
          current.remaining = 0;
        }
        // Missing padding after the last entry is tolerated, as Go's reader does (EOF in padding is fine).
        if ((await source.skip(current.padding)) < current.padding) return;
        current = undefined;
      }
      const read = await readHeader(source, globalPax);
      if (read === undefined) return;
      globalPax = read.globalPax;
      const size = read.header.size;
      const state: Body = {
        remaining: size,
        padding: (BLOCK - size % BLOCK) % BLOCK,
        closed: false,
      };
      current = state;
      yield new Entry(read.header, source, state);
    }
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    await source.close(failure);
  }
}

interface ReadHeader {
  header: TarHeader;
  globalPax?: Record<string, string>;
}

/** Reads the meta headers (PAX, GNU long names) and the real header of the next entry; undefined at the end. */
async function readHeader(
  source: ByteSource,
  globalPax: Record<string, string> | undefined,
): Promise<ReadHeader | undefined> {
  let pax: Record<string, string> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let first = -1;
  for (;;) {
    const offset = source.offset;
    if (first < 0) first = offset;
    const block = await source.readBlock();
    if (typeof block === "number") {
      if (block === 0 && pax === undefined && longName === undefined && longLink === undefined) {
        return undefined;
      }
      throw truncated(source.offset, "a tar header");
    }
    if (isZeroBlock(block)) {
      if (pax !== undefined || longName !== undefined || longLink !== undefined) {
        throw invalid(offset, "an extended header is followed by the end of the archive");
      }
      // Two zero blocks end the archive; one followed by the end of the stream is accepted (Go does too).
      const next = await source.readBlock();
      if (typeof next === "number") {
        if (next === 0) return undefined;
        throw truncated(source.offset, "the end-of-archive blocks");
      }
      if (isZeroBlock(next)) return undefined;
      throw invalid(offset, "a zero block is followed by a non-zero block");
    }
    checkChecksum(block, offset);
    const flag = block[156];
    const size = numeric(block, 124, 12);
    if (Number.isNaN(size) || size < 0) throw invalid(offset, "bad size field");

    // 'x' PAX per-file, 'g' PAX global, 'L' GNU long name, 'K' GNU long link: their data describes what follows.
    if (flag === 0x78 || flag === 0x67 || flag === 0x4c || flag === 0x4b) {
      if (size > MAX_SPECIAL) throw invalid(offset, `extended header of ${size} bytes is too large`);
      const data = new Uint8Array(size);
      let got = 0;
      while (got < size) {
        const view = await source.read(size - got);
        if (view === undefined) throw truncated(source.offset, "an extended header");
        data.set(view, got);
        got += view.length;
      }
      const padding = (BLOCK - size % BLOCK) % BLOCK;
      if ((await source.skip(padding)) < padding) {
        throw truncated(source.offset, "an extended header's padding");
      }
      if (flag === 0x78) {
        pax ??= {};
        parsePax(data, offset, pax);
      } else if (flag === 0x67) {
        // POSIX: global records apply to every following entry; a record with an empty value removes one.
        const records: Record<string, string> = {};
        parsePax(data, offset, records);
        globalPax = { ...globalPax };
        for (const [k, v] of Object.entries(records)) {
          if (v === "") delete globalPax[k];
          else globalPax[k] = v;
        }
      } else {
        const end = data.indexOf(0);
        const text = decoder.decode(end === -1 ? data : data.subarray(0, end));
        if (flag === 0x4c) longName = text;
        else longLink = text;
      }
      continue;
    }

    const header = parseHeader(block, offset, first, size, globalPax, pax, longName, longLink);
    return { header, globalPax };
  }
}

function parseHeader(
  block: Uint8Array,
  offset: number,
  first: number,
  rawSize: number,
  globalPax: Record<string, string> | undefined,
  filePax: Record<string, string> | undefined,
  longName: string | undefined,
  longLink: string | undefined,
): TarHeader {
  // Formats by magic (ustar "ustar\0" "00", GNU "ustar " " \0", star: ustar with "tar\0" at 508, v7: none).
  const ustar = block[257] === 0x75 && block[258] === 0x73 && block[259] === 0x74 && block[260] === 0x61 &&
    block[261] === 0x72;
  // GNU headers ("ustar  \0") keep atime/ctime where ustar has the prefix, so only POSIX ones get a prefix.
  const posix = ustar && block[262] === 0 && block[263] === 0x30 && block[264] === 0x30;
  let name = cstring(block, 0, 100);
  if (posix) {
    const star = block[508] === 0x74 && block[509] === 0x61 && block[510] === 0x72 && block[511] === 0;
    const prefix = cstring(block, 345, star ? 131 : 155);
    if (prefix !== "") name = `${prefix}/${name}`;
  }
  let pax: Record<string, string> | undefined;
  if (globalPax || filePax) pax = { ...globalPax, ...filePax };
  const mode = numeric(block, 100, 8);
  let uid = numeric(block, 108, 8);
  let gid = numeric(block, 116, 8);
  let mtime = numeric(block, 136, 12);
  let size = rawSize;
  let linkname = cstring(block, 157, 100);
  let uname = ustar ? cstring(block, 265, 32) : "";
  let gname = ustar ? cstring(block, 297, 32) : "";
  let devmajor = ustar ? numeric(block, 329, 8) : 0;
  let devminor = ustar ? numeric(block, 337, 8) : 0;
  for (const [field, value] of [["mode", mode], ["uid", uid], ["gid", gid], ["mtime", mtime]] as const) {
    if (Number.isNaN(value)) throw invalid(offset, `bad ${field} field`);
  }
  if (Number.isNaN(devmajor) || Number.isNaN(devminor)) {
    // Some writers leave garbage in the device fields of non-device entries; only devices need them.
    if (block[156] === 0x33 || block[156] === 0x34) throw invalid(offset, "bad device number field");
    devmajor = 0;
    devminor = 0;
  }
  if (longName !== undefined) name = longName;
  if (longLink !== undefined) linkname = longLink;
  // PAX records override the header fields (POSIX pax "Extended header keywords"); an empty value keeps the
  // header's own field.
  if (pax) {
    const get = (key: string) => pax[key] === "" ? undefined : pax[key];
    const path = get("path");
    if (path !== undefined) name = path;
    const linkpath = get("linkpath");
    if (linkpath !== undefined) linkname = linkpath;
    const u = get("uname");
    if (u !== undefined) uname = u;
    const g = get("gname");
    if (g !== undefined) gname = g;
    const uidText = get("uid");
    if (uidText !== undefined) uid = paxInteger(uidText, "uid", offset);
    const gidText = get("gid");
    if (gidText !== undefined) gid = paxInteger(gidText, "gid", offset);
    const sizeText = get("size");
    if (sizeText !== undefined) size = paxInteger(sizeText, "size", offset);
    const mtimeText = get("mtime");
    if (mtimeText !== undefined) {
      if (!/^-?[0-9]+(\.[0-9]*)?$/.test(mtimeText)) {
        throw invalid(offset, `PAX mtime "${mtimeText}" is invalid`);
      }
      mtime = Number(mtimeText);
    }
    if (size < 0) throw invalid(offset, "negative PAX size");
  }
  const flag = block[156];
  const type = entryType(flag, name);
  if (HEADER_ONLY.has(type)) size = 0;
  const header: TarHeader = {
    name,
    type,
    typeflag: flag === 0 ? "\0" : String.fromCharCode(flag),
    size,
    mode,
    uid,
    gid,
    uname,
    gname,
    mtime,
    linkname,
    devmajor,
    devminor,
    offset: first,
  };
  if (pax) header.pax = pax;
  return header;
}
