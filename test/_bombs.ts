/**
 * Decompression bombs for tests and the bench: layers whose tar holds one big file of zeros, made as a
 * stream (the tar is never held in memory; only the small compressed blob is), with their diffID.
 *
 * - gzip: the tar is piped through `CompressionStream("gzip")` (about 1:1000 for zeros).
 * - zstd: the frame is written by hand (RFC 8878 §3.1.1): a frame header with the asked Window_Descriptor,
 *   one Raw block holding the 512-byte tar header, then RLE blocks of zeros (4 bytes each for 128 KiB,
 *   about 1:32000). The window can be made as large as a hostile image would declare it.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** A built bomb layer. */
export interface Bomb {
  /** The compressed blob. */
  bytes: Uint8Array;
  /** `sha256:` of `bytes`. */
  digest: string;
  /** `sha256:` of the tar inside. */
  diffId: string;
  /** Size of the tar inside. */
  tarSize: number;
  /** Name of the one file in the tar. */
  file: string;
}

const ZERO_CHUNK = new Uint8Array(1 << 20);

/** A ustar header for a regular file `name` of `size` bytes (mode 0644, mtime 0). */
export function tarFileHeader(name: string, size: number): Uint8Array<ArrayBuffer> {
  const h = new Uint8Array(512);
  const put = (text: string, at: number) => h.set(new TextEncoder().encode(text), at);
  put(name, 0);
  put("0000644\0", 100);
  put("0000000\0", 108);
  put("0000000\0", 116);
  put(size.toString(8).padStart(11, "0") + "\0", 124);
  put("00000000000\0", 136);
  put("0", 156);
  put("ustar\0" + "00", 257);
  put("        ", 148);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  return h;
}

/** Size of the tar holding one file of `fileSize` bytes: header, data padded to 512, two end blocks. */
export function zeroTarSize(fileSize: number): number {
  return 512 + Math.ceil(fileSize / 512) * 512 + 1024;
}

/** The tar (header, then zeros) as a stream of chunks, and its sha256 once read to the end. */
function zeroTar(
  fileSize: number,
  name: string,
): { stream: ReadableStream<Uint8Array<ArrayBuffer>>; diffId: () => string } {
  const total = zeroTarSize(fileSize);
  const hash = createHash("sha256");
  let sent = 0;
  const stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      if (sent === 0) {
        const header = tarFileHeader(name, fileSize);
        hash.update(header);
        controller.enqueue(header);
        sent = 512;
        return;
      }
      if (sent >= total) return controller.close();
      const n = Math.min(ZERO_CHUNK.length, total - sent);
      const chunk = ZERO_CHUNK.subarray(0, n);
      hash.update(chunk);
      // A copy: CompressionStream may keep the chunk, and ZERO_CHUNK is shared.
      controller.enqueue(chunk.slice());
      sent += n;
    },
  });
  return { stream, diffId: () => `sha256:${hash.digest("hex")}` };
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/**
 * A gzip layer whose tar holds one file of `fileSize` zeros.
 *
 * @example
 * ```ts ignore
 * const bomb = await gzipBomb(1 << 30); // ~1 MiB of gzip, 1 GiB of tar
 * ```
 */
export async function gzipBomb(fileSize: number, name = "zeros"): Promise<Bomb> {
  const tar = zeroTar(fileSize, name);
  const bytes = new Uint8Array(
    await new Response(tar.stream.pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
  );
  return { bytes, digest: sha256(bytes), diffId: tar.diffId(), tarSize: zeroTarSize(fileSize), file: name };
}

/**
 * A zstd frame header (no checksum, no dictionary, no content size) declaring a window of
 * `2^windowLog` bytes through its Window_Descriptor (Exponent = windowLog - 10, Mantissa = 0).
 */
export function zstdFrameHeader(windowLog: number): Uint8Array {
  return new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, (windowLog - 10) << 3]);
}

/** A zstd block header: Last_Block, Block_Type (0 raw, 1 RLE, 2 compressed), Block_Size. */
export function zstdBlockHeader(last: boolean, type: number, size: number): Uint8Array {
  const v = (last ? 1 : 0) | type << 1 | size << 3;
  return new Uint8Array([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff]);
}

/**
 * A zstd frame holding `header` as a Raw block then `zeros` bytes of value `byte` (default 0) as RLE blocks
 * of 128 KiB.
 */
export function zstdZeros(windowLog: number, header: Uint8Array, zeros: number, byte = 0): Uint8Array {
  const block = Math.min(1 << 17, 2 ** windowLog);
  const rle = Math.ceil(zeros / block);
  const out = new Uint8Array(6 + 3 + header.length + rle * 4);
  out.set(zstdFrameHeader(windowLog));
  let at = 6;
  out.set(zstdBlockHeader(rle === 0, 0, header.length), at);
  out.set(header, at + 3);
  at += 3 + header.length;
  let left = zeros;
  for (let i = 0; i < rle; i++) {
    const n = Math.min(block, left);
    left -= n;
    out.set(zstdBlockHeader(i === rle - 1, 1, n), at);
    out[at + 3] = byte;
    at += 4;
  }
  return out;
}

/**
 * A zstd layer whose tar holds one file of `fileSize` zeros, in one frame declaring a `2^windowLog` window.
 *
 * @example
 * ```ts ignore
 * const hostile = zstdBomb(1 << 20, 30); // a 1 GiB window: refused unless the limit is raised
 * ```
 */
export function zstdBomb(fileSize: number, windowLog = 17, name = "zeros"): Bomb {
  const tarSize = zeroTarSize(fileSize);
  const header = tarFileHeader(name, fileSize);
  const bytes = zstdZeros(windowLog, header, tarSize - 512);
  const hash = createHash("sha256").update(header);
  for (let left = tarSize - 512; left > 0; left -= ZERO_CHUNK.length) {
    hash.update(ZERO_CHUNK.subarray(0, Math.min(left, ZERO_CHUNK.length)));
  }
  return { bytes, digest: sha256(bytes), diffId: `sha256:${hash.digest("hex")}`, tarSize, file: name };
}
