/**
 * A small DEFLATE (RFC 1951) and gzip (RFC 1952) decoder that can start in the middle of a stream: at the
 * start of any DEFLATE block, given the bit where it begins and the 32 KiB of output before it (the window
 * back-references may reach into). It also reports where every block starts, with the window there, which
 * is what a random-access index of a gzip file needs (zlib's examples/zran.c does the same with
 * `inflatePrime` and `inflateSetDictionary`; fflate and DecompressionStream cannot report block starts nor
 * begin at a bit offset).
 *
 * It is used for the index pass over a cached layer and for reading one file out of it; the page's listing
 * keeps using the platform's decoder (faster). No checksum is checked here: the bytes come from a blob
 * that was verified against its digest before it was cached.
 *
 * @module
 */

import { TugError } from "../../src/errors.ts";

const WINDOW = 32768;
/** Output kept between flushes, after the window. */
const OUT = 1 << 18;
/** Bytes of input kept ahead of a symbol decode: the longest symbol with its extra bits is 48 bits. */
const AHEAD = 16;

const LEN_BASE = new Uint16Array([
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
]);
const LEN_EXTRA = new Uint8Array([
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  2,
  2,
  3,
  3,
  3,
  3,
  4,
  4,
  4,
  4,
  5,
  5,
  5,
  5,
  0,
]);
const DIST_BASE = new Uint16Array([
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
]);
const DIST_EXTRA = new Uint8Array([
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
]);
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** A Huffman decoding table: indexed by the next `bits` input bits, entries `symbol << 4 | length`. */
interface Table {
  readonly table: Uint16Array;
  readonly bits: number;
}

function corrupt(what: string): TugError {
  return new TugError("TAR_INVALID", `Cannot decompress gzip layer: ${what}`);
}

function buildTable(lengths: Uint8Array): Table {
  let max = 0;
  const count = new Uint16Array(16);
  for (const l of lengths) {
    count[l]++;
    if (l > max) max = l;
  }
  if (max === 0) return { table: new Uint16Array(2), bits: 1 };
  count[0] = 0;
  const next = new Uint16Array(16);
  let code = 0;
  for (let b = 1; b <= 15; b++) {
    code = (code + count[b - 1]) << 1;
    next[b] = code;
    if (next[b] + count[b] > 1 << b) throw corrupt("an over-subscribed Huffman code");
  }
  const size = 1 << max;
  const table = new Uint16Array(size);
  for (let sym = 0; sym < lengths.length; sym++) {
    const len = lengths[sym];
    if (len === 0) continue;
    let c = next[len]++;
    let rev = 0;
    for (let i = 0; i < len; i++) {
      rev = (rev << 1) | (c & 1);
      c >>= 1;
    }
    for (let i = rev; i < size; i += 1 << len) table[i] = (sym << 4) | len;
  }
  return { table, bits: max };
}

let fixed: [Table, Table] | undefined;
function fixedTables(): [Table, Table] {
  if (!fixed) {
    const lit = new Uint8Array(288);
    lit.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
    fixed = [buildTable(lit), buildTable(new Uint8Array(30).fill(5))];
  }
  return fixed;
}

/** What {@linkcode decodeSymbols} works on: copied in and out, so its loop runs on locals. */
interface SymbolState {
  buf: Uint8Array;
  pos: number;
  out: Uint8Array;
  op: number;
  have: number;
}

const INPUT_LOW = 0;
const END_OF_BLOCK = 1;
const OUTPUT_FULL = 2;

/**
 * Decodes the symbols of a Huffman-coded block until it ends, the output buffer is nearly full, or fewer
 * than `low` input bytes are left (the caller reads more and calls again; `low` is 0 at the input's end).
 * The hot loop of the decoder, kept free of closures so the engine keeps its variables in registers.
 */
function decodeSymbols(s: SymbolState, lit: Table, dist: Table, low: number): number {
  const b = s.buf, out = s.out;
  const lt = lit.table, lm = (1 << lit.bits) - 1, dt = dist.table, dm = (1 << dist.bits) - 1;
  const limit = out.length - 258;
  const stop = b.length - low;
  let p = s.pos, o = s.op, have = s.have;
  let result = INPUT_LOW;
  try {
    while ((p >> 3) < stop) {
      let q = p >> 3;
      let e = lt[((b[q] | (b[q + 1] << 8) | (b[q + 2] << 16)) >>> (p & 7)) & lm];
      let n = e & 15;
      if (n === 0) throw corrupt("an invalid Huffman code");
      p += n;
      const sym = e >> 4;
      if (sym < 256) {
        out[o++] = sym;
        have++;
      } else if (sym === 256) {
        result = END_OF_BLOCK;
        break;
      } else {
        const li = sym - 257;
        if (li >= 29) throw corrupt("an invalid length code");
        let len = LEN_BASE[li];
        const lx = LEN_EXTRA[li];
        if (lx) {
          q = p >> 3;
          len += ((b[q] | (b[q + 1] << 8) | (b[q + 2] << 16)) >>> (p & 7)) & ((1 << lx) - 1);
          p += lx;
        }
        q = p >> 3;
        e = dt[((b[q] | (b[q + 1] << 8) | (b[q + 2] << 16)) >>> (p & 7)) & dm];
        n = e & 15;
        if (n === 0) throw corrupt("an invalid Huffman code");
        p += n;
        const di = e >> 4;
        if (di >= 30) throw corrupt("an invalid distance code");
        let d = DIST_BASE[di];
        const dx = DIST_EXTRA[di];
        if (dx) {
          q = p >> 3;
          d += ((b[q] | (b[q + 1] << 8) | (b[q + 2] << 16)) >>> (p & 7)) & ((1 << dx) - 1);
          p += dx;
        }
        if (d > have) throw corrupt("a distance too far back");
        let from = o - d;
        const end = o + len;
        while (o < end) out[o++] = out[from++];
        have += len;
      }
      if (o >= limit) {
        result = OUTPUT_FULL;
        break;
      }
    }
  } finally {
    s.pos = p;
    s.op = o;
    s.have = have;
  }
  // Past the input's end (it was cut): the bits read there were zeros, not data.
  if ((p >> 3) > b.length) throw corrupt("it ends too early");
  return result;
}

/** Where a DEFLATE block starts: what resuming there needs. */
export interface BlockStart {
  /** Bit offset in the compressed input (from the input's first byte, bit 0 = its lowest bit). */
  readonly bit: number;
  /** Offset in the decompressed output. */
  readonly out: number;
  /** The last (up to) 32 KiB of output before it in the same gzip member (a copy); call it in `onBlock`. */
  window(): Uint8Array;
}

/** Options of {@linkcode inflatePoints}. */
export interface InflateOptions {
  /** `"gzip"`: the input is gzip members; `"raw"`: it is inside a member, at a block start (a resume). */
  readonly format: "gzip" | "raw";
  /** Bits to skip in the first input byte (a resume at `bit % 8`). */
  readonly skipBits?: number;
  /** Output before the resume point in the same member (its last 32 KiB count). */
  readonly window?: Uint8Array;
  /** Offset of the first output byte (a resume's `out`), used in {@linkcode BlockStart.out}. */
  readonly outStart?: number;
  /** Bit offset of the first input byte's bit 0 (a resume's `bit` rounded down to a byte), for block starts. */
  readonly bitStart?: number;
  /** Hears every block start. */
  readonly onBlock?: (start: BlockStart) => void;
  /** Hears the output, in order (a view: copy what is kept). Return `false` to stop. */
  readonly onData?: (chunk: Uint8Array) => boolean | void;
}

/**
 * Decompresses `input` (gzip members, or raw DEFLATE from a block start), telling `onBlock` where each block
 * starts and `onData` what comes out. Resolves with the count of output bytes when the input ends or
 * `onData` returned `false`.
 *
 * @example
 * ```ts
 * import { inflatePoints } from "./inflate_points.ts";
 *
 * const gz = new Response(new TextEncoder().encode("hello")).body!.pipeThrough(new CompressionStream("gzip"));
 * const parts: string[] = [];
 * await inflatePoints(gz, { format: "gzip", onData: (c) => void parts.push(new TextDecoder().decode(c)) });
 * console.assert(parts.join("") === "hello");
 * ```
 */
export async function inflatePoints(
  input: ReadableStream<Uint8Array>,
  options: InflateOptions,
): Promise<number> {
  const reader = input.getReader();
  let buf = new Uint8Array(0);
  /** Absolute byte offset (from the input's first byte) of buf[0]. */
  let base = 0;
  let pos = options.skipBits ?? 0;
  let ended = false;
  const bitStart = options.bitStart ?? 0;

  const out = new Uint8Array(WINDOW + OUT);
  let op = WINDOW;
  /** Output bytes before out[WINDOW] (flushed), counted from outStart. */
  let flushed = options.outStart ?? 0;
  /** Valid history bytes behind op in this member. */
  let have = 0;
  if (options.window && options.window.length > 0) {
    const w = options.window.subarray(-WINDOW);
    out.set(w, WINDOW - w.length);
    have = w.length;
  }
  let stopped = false;

  const available = () => buf.length - (pos >> 3);
  async function ensure(n: number): Promise<void> {
    while (!ended && available() < n) {
      const r = await reader.read();
      if (r.done) {
        ended = true;
        break;
      }
      const start = pos >> 3;
      const next = new Uint8Array(buf.length - start + r.value.length);
      next.set(buf.subarray(start));
      next.set(r.value, buf.length - start);
      base += start;
      pos &= 7;
      buf = next;
    }
  }
  function need(n: number): void {
    if (available() < n) throw corrupt("it ends too early");
  }
  function bits(n: number): number {
    const p = pos >> 3;
    const v = ((buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) >>> (pos & 7)) &
      ((1 << n) - 1);
    pos += n;
    return v;
  }
  function flush(): void {
    if (op === WINDOW) return;
    if (options.onData && options.onData(out.subarray(WINDOW, op)) === false) stopped = true;
    flushed += op - WINDOW;
    out.copyWithin(0, op - WINDOW, op);
    op = WINDOW;
  }
  function decode(t: Table): number {
    const p = pos >> 3;
    const word = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16)) >>> (pos & 7);
    const e = t.table[word & ((1 << t.bits) - 1)];
    const len = e & 15;
    if (len === 0) throw corrupt("an invalid Huffman code");
    pos += len;
    return e >> 4;
  }

  try {
    let inMember = options.format === "raw";
    for (;;) {
      if (!inMember) {
        // A gzip member header (RFC 1952 2.3), or the end of the input.
        await ensure(10);
        if (available() === 0) break;
        need(10);
        const p = pos >> 3;
        if (buf[p] !== 0x1f || buf[p + 1] !== 0x8b || buf[p + 2] !== 8) throw corrupt("not a gzip member");
        const flg = buf[p + 3];
        pos += 80;
        if (flg & 4) {
          await ensure(2);
          need(2);
          const xlen = bits(16);
          await ensure(xlen);
          need(xlen);
          pos += xlen * 8;
        }
        for (const flag of [8, 16]) {
          if (!(flg & flag)) continue;
          for (;;) {
            await ensure(1);
            need(1);
            if (bits(8) === 0) break;
          }
        }
        if (flg & 2) {
          await ensure(2);
          need(2);
          pos += 16;
        }
        inMember = true;
        have = 0;
      }
      // Blocks of one member.
      let last = 0;
      while (!last) {
        await ensure(AHEAD * 40);
        if (options.onBlock) {
          const bit = bitStart + base * 8 + pos;
          const outAt = flushed + op - WINDOW;
          const keep = Math.min(have, WINDOW);
          const at = op;
          // Copied only when asked for (an index keeps one window every few MiB, not one per block).
          options.onBlock({ bit, out: outAt, window: () => out.slice(at - keep, at) });
        }
        need(1);
        last = bits(1);
        const type = bits(2);
        if (type === 0) {
          pos = (pos + 7) & ~7;
          await ensure(4);
          need(4);
          const len = bits(16);
          const nlen = bits(16);
          if ((len ^ 0xffff) !== nlen) throw corrupt("a stored block's length check fails");
          let left = len;
          while (left > 0) {
            await ensure(1);
            need(1);
            const take = Math.min(left, available(), out.length - op);
            const p = pos >> 3;
            out.set(buf.subarray(p, p + take), op);
            op += take;
            have += take;
            pos += take * 8;
            left -= take;
            if (op === out.length) {
              flush();
              if (stopped) return flushed;
            }
          }
          continue;
        }
        let lit: Table, dist: Table;
        if (type === 1) [lit, dist] = fixedTables();
        else if (type === 2) {
          const hlit = bits(5) + 257;
          const hdist = bits(5) + 1;
          const hclen = bits(4) + 4;
          const cl = new Uint8Array(19);
          for (let i = 0; i < hclen; i++) cl[CL_ORDER[i]] = bits(3);
          const clTable = buildTable(cl);
          const lengths = new Uint8Array(hlit + hdist);
          for (let i = 0; i < lengths.length;) {
            const sym = decode(clTable);
            if (sym < 16) lengths[i++] = sym;
            else {
              let repeat: number, value = 0;
              if (sym === 16) {
                if (i === 0) throw corrupt("a length repeat with nothing before");
                value = lengths[i - 1];
                repeat = 3 + bits(2);
              } else if (sym === 17) repeat = 3 + bits(3);
              else repeat = 11 + bits(7);
              if (i + repeat > lengths.length) throw corrupt("too many code lengths");
              lengths.fill(value, i, i + repeat);
              i += repeat;
            }
          }
          if (lengths[256] === 0) throw corrupt("no end-of-block code");
          lit = buildTable(lengths.subarray(0, hlit));
          dist = buildTable(lengths.subarray(hlit));
        } else throw corrupt("a reserved block type");
        for (;;) {
          const state: SymbolState = { buf, pos, out, op, have };
          const r = decodeSymbols(state, lit, dist, ended ? 0 : AHEAD);
          pos = state.pos;
          op = state.op;
          have = state.have;
          if (r === END_OF_BLOCK) break;
          if (r === OUTPUT_FULL) {
            flush();
            if (stopped) return flushed;
          } else if (ended) throw corrupt("it ends too early");
          else await ensure(AHEAD * 4096);
        }
        if ((pos >> 3) > buf.length) throw corrupt("it ends too early");
      }
      // The member trailer (CRC32, ISIZE): not checked, the blob's digest was.
      pos = (pos + 7) & ~7;
      await ensure(8);
      need(8);
      pos += 64;
      inMember = false;
    }
    flush();
    return flushed;
  } finally {
    reader.cancel().catch(() => {});
  }
}
