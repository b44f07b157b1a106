// This module is browser compatible.
/**
 * Walks the frames and blocks of a zstd stream (RFC 8878 §3.1) as it passes, without decoding it, so the
 * decoder can be fed one block at a time and every frame's window can be checked before any memory is
 * given to it. Private to src/image/.
 *
 * @module
 */

import { TugError } from "../errors.ts";

/** Bytes as a short human figure ("1 GiB", "128 MiB", "1.5 KiB"), for messages. */
export function formatBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

type State = "magic" | "descriptor" | "header" | "blockHeader" | "body" | "checksum" | "skipSize" | "skip";

/**
 * Follows a zstd stream byte range by byte range. {@linkcode ZstdFrameWalker.advance} says where the next
 * piece to hand the decoder ends: right after a block, so that one push decodes at most one block
 * (≤ 128 KiB of output by the spec; ≤ 2 MiB for a hostile block size).
 */
export class ZstdFrameWalker {
  readonly #maxWindow: number;
  #state: State = "magic";
  /** Header bytes gathered so far (the longest frame header is 18 bytes). */
  readonly #head = new Uint8Array(18);
  #have = 0;
  #need = 4;
  #remaining = 0;
  #lastBlock = false;
  #checksum = false;
  /** Frames begun, skippable ones included. */
  frames = 0;

  constructor(maxWindow: number) {
    this.#maxWindow = maxWindow;
  }

  /** Whether the stream may end here (between frames). */
  get atFrameBoundary(): boolean {
    return this.#state === "magic" && this.#have === 0;
  }

  /**
   * Consumes bytes of `chunk` from `at` and returns the end of the piece to feed: just past the end of a
   * block, or the end of the chunk. Throws a `TugError` for a frame whose window is over the limit.
   */
  advance(chunk: Uint8Array, at: number): number {
    while (at < chunk.length) {
      if (this.#state === "body" || this.#state === "skip") {
        const n = Math.min(this.#remaining, chunk.length - at);
        at += n;
        this.#remaining -= n;
        if (this.#remaining > 0) return at;
        if (this.#state === "skip") {
          this.#expect("magic", 4);
          continue;
        }
        this.#blockEnd();
        return at;
      }
      // Gather header bytes.
      const n = Math.min(this.#need - this.#have, chunk.length - at);
      this.#head.set(chunk.subarray(at, at + n), this.#have);
      this.#have += n;
      at += n;
      if (this.#have < this.#need) return at;
      if (this.#headerDone()) return at;
    }
    return at;
  }

  #expect(state: State, need: number): void {
    this.#state = state;
    this.#need = need;
    this.#have = 0;
  }

  #blockEnd(): void {
    if (!this.#lastBlock) this.#expect("blockHeader", 3);
    else if (this.#checksum) this.#expect("checksum", 4);
    else this.#expect("magic", 4);
  }

  /** Acts on a complete header field; returns true when a block ended (an empty one). */
  #headerDone(): boolean {
    const h = this.#head;
    switch (this.#state) {
      case "magic": {
        if (h[0] === 0x28 && h[1] === 0xb5 && h[2] === 0x2f && h[3] === 0xfd) {
          this.frames++;
          this.#state = "descriptor";
          this.#need = 5;
        } else if ((h[0] & 0xf0) === 0x50 && h[1] === 0x2a && h[2] === 0x4d && h[3] === 0x18) {
          // Skippable frame (RFC 8878 §3.1.2): a 4-byte size, then that many bytes nobody reads.
          this.frames++;
          this.#state = "skipSize";
          this.#need = 8;
        } else {
          throw new Error("invalid zstd data (no frame magic number)");
        }
        return false;
      }
      case "descriptor": {
        const fhd = h[4];
        if (fhd & 0x08) throw new Error("invalid zstd data (reserved frame header bit set)");
        const singleSegment = (fhd >> 5) & 1;
        const fcsBytes = [singleSegment, 2, 4, 8][fhd >> 6];
        const didBytes = [0, 1, 2, 4][fhd & 3];
        this.#checksum = ((fhd >> 2) & 1) === 1;
        this.#state = "header";
        this.#need = 5 + (singleSegment ? 0 : 1) + didBytes + fcsBytes;
        if (this.#have < this.#need) return false;
        return this.#headerDone();
      }
      case "header": {
        this.#checkWindow();
        this.#expect("blockHeader", 3);
        return false;
      }
      case "blockHeader": {
        const v = h[0] | h[1] << 8 | h[2] << 16;
        this.#lastBlock = (v & 1) === 1;
        const type = (v >> 1) & 3;
        const size = v >>> 3;
        if (type === 3) throw new Error("invalid zstd data (reserved block type)");
        this.#state = "body";
        this.#remaining = type === 1 ? 1 : size;
        if (this.#remaining === 0) {
          this.#blockEnd();
          return true;
        }
        return false;
      }
      case "checksum":
        this.#expect("magic", 4);
        return false;
      case "skipSize":
        this.#state = "skip";
        this.#remaining = (h[4] | h[5] << 8 | h[6] << 16 | h[7] << 24) >>> 0;
        if (this.#remaining === 0) this.#expect("magic", 4);
        return false;
      default:
        return false;
    }
  }

  /**
   * Window_Size (RFC 8878 §3.1.1.1.2): from the Window_Descriptor, or, for a single-segment frame, the
   * Frame_Content_Size. A decoder must hold that many bytes of history, so a frame may ask for up to
   * 3.75 TiB; the zstd CLI refuses windows over 128 MiB unless `--memory` raises the limit, and so does tug.
   */
  #checkWindow(): void {
    const h = this.#head;
    const fhd = h[4];
    const singleSegment = (fhd >> 5) & 1;
    let window: number;
    if (!singleSegment) {
      const wd = h[5];
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    } else {
      const fcsBytes = [1, 2, 4, 8][fhd >> 6];
      const at = 5 + [0, 1, 2, 4][fhd & 3];
      window = 0;
      for (let i = fcsBytes - 1; i >= 0; i--) window = window * 256 + h[at + i];
      if (fcsBytes === 2) window += 256;
    }
    if (window > this.#maxWindow) {
      throw new TugError(
        "DECOMPRESSION_LIMIT",
        `Refusing a zstd frame with a window of ${formatBytes(window)}: the limit is ${
          formatBytes(this.#maxWindow)
        } (raise it with maxZstdWindow, or --max-zstd-window on the command line)`,
        { detail: { window, limit: this.#maxWindow } },
      );
    }
  }
}
