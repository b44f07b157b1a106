// This module is browser compatible.
/**
 * Decompression of layer blobs (gzip, zstd or none) as streams, with the native `DecompressionStream`
 * preferred and pure-JS decoders (fflate, fzstd) where it is missing.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import { detectCompression } from "./detect_compression.ts";
import { ZstdFrameWalker } from "./_zstd_frames.ts";
import { markOwned } from "./owned_chunks.ts";
import { concatBytes } from "../streams/bytes.ts";

/** How a layer blob is compressed, as {@linkcode layerCompression} of `src/manifest` names it. */
export type LayerCompression = "gzip" | "zstd" | "none";

/**
 * The largest zstd window {@linkcode decompressLayer} accepts by default: 128 MiB, the zstd CLI's own
 * default limit (`--memory`, ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27). A frame declares the window its decoder must
 * keep; a hostile one declares gigabytes in a few bytes.
 */
export const DEFAULT_MAX_ZSTD_WINDOW: number = 128 * 1024 * 1024;

/** Options for {@linkcode decompressLayer}. */
export interface DecompressLayerOptions {
  /**
   * Which gzip decoder to use: `"auto"` (default) takes the native `DecompressionStream` when the runtime has
   * one and fflate otherwise; `"native"` and `"fflate"` force one (tests use this to cover both paths).
   */
  gzipDecoder?: "auto" | "native" | "fflate";
  /**
   * The largest zstd window (bytes) a frame may declare; frames over it are refused with a `TugError` of code
   * `DECOMPRESSION_LIMIT` before anything is decoded. Default {@linkcode DEFAULT_MAX_ZSTD_WINDOW} (128 MiB).
   */
  maxZstdWindow?: number;
  /**
   * Bytes of decoded output the stream may hold ahead of its reader (default 0: nothing is decoded until the
   * reader asks). Whatever the value, one decoding step adds at most a few MiB on top.
   */
  highWaterMark?: number;
  /** Stops decoding: the stream then errors with the signal's reason, within one step (well under 1 s). */
  signal?: AbortSignal;
}

/**
 * Decompresses a layer blob. `"auto"` sniffs the first bytes ({@linkcode detectCompression}) instead of
 * trusting a media type, as Docker does when it applies a layer.
 *
 * Gzip streams may hold several members back to back (RFC 1952 §2.2; eStargz layers are built that way,
 * and Go's gzip reader, which Docker uses, reads them as one stream): both decoders return every member's
 * data. zstd streams may hold several frames (RFC 8878 §3.1). A corrupt or truncated blob makes the returned
 * stream error with a `TugError` of code `TAR_INVALID`.
 *
 * Memory is bounded whatever the compression ratio (a few MiB of zeros can inflate to terabytes): the
 * decoders are fed small steps of input only when the reader asks for output (gzip: about 256 KiB of output
 * per step, never over ~16 MiB at deflate's 1032:1; zstd: one block, ≤ 128 KiB out, 2 MiB for a hostile block), and they
 * return to the event loop at least every ~20 ms, so an abort signal or a process signal takes effect
 * quickly. zstd frames whose window is over `maxZstdWindow` are refused (`DECOMPRESSION_LIMIT`).
 *
 * @param stream The compressed blob.
 * @param compression How it is compressed, or `"auto"` to look at its magic bytes.
 * @param options Gzip decoder, zstd window limit, read-ahead and abort signal.
 * @returns The decompressed tar stream.
 *
 * @example Gunzip a layer
 * ```ts
 * import { decompressLayer } from "./decompress_layer.ts";
 *
 * const gz = new Response("tar bytes").body!.pipeThrough(new CompressionStream("gzip"));
 * const text = await new Response(decompressLayer(gz, "gzip")).text();
 * console.assert(text === "tar bytes");
 * ```
 */
export function decompressLayer(
  stream: ReadableStream<Uint8Array>,
  compression: LayerCompression | "auto",
  options: DecompressLayerOptions = {},
): ReadableStream<Uint8Array> {
  const decoder = options.gzipDecoder ?? "auto";
  if (decoder !== "auto" && decoder !== "native" && decoder !== "fflate") {
    throw new TypeError(`Unknown gzip decoder "${decoder}": expected "auto", "native" or "fflate"`);
  }
  const maxWindow = options.maxZstdWindow ?? DEFAULT_MAX_ZSTD_WINDOW;
  if (!(maxWindow >= 0)) throw new TypeError(`maxZstdWindow must be a number of bytes, got ${maxWindow}`);
  const highWaterMark = options.highWaterMark ?? 0;
  if (!(highWaterMark >= 0)) {
    throw new TypeError(`highWaterMark must be a number of bytes, got ${highWaterMark}`);
  }
  switch (compression) {
    case "none":
      return stream;
    case "gzip":
      if (decoder === "fflate" || (decoder === "auto" && typeof DecompressionStream !== "function")) {
        return fflateGunzip(stream, options);
      }
      if (typeof DecompressionStream !== "function") {
        throw new TypeError(
          "The native gzip decoder was asked for, but this runtime has no DecompressionStream",
        );
      }
      return nativeGunzip(stream, options);
    case "zstd":
      return zstdDecompress(stream, options);
    case "auto":
      return sniffed(stream, options);
    default:
      throw new TypeError(`Unknown layer compression "${compression}": expected "gzip", "zstd" or "none"`);
  }
}

/**
 * Sizes gzip decoding steps from the ratio the last step showed, so each step decodes about 256 KiB: 16 KiB
 * of input for ordinary layers (~4:1), 256 bytes for runs of zeros (~1000:1). Deflate's ratio is at most
 * 1032:1, so a step never yields more than ~16 MiB, even when the data turns into zeros mid-step. Small
 * steps matter beyond what is held: the native decoder's output buffers are garbage the collector reaches
 * late, so fewer, smaller ones keep the peak RSS down.
 */
class StepSizer {
  static readonly MIN = 256;
  static readonly MAX = 16 * 1024;
  static readonly TARGET = 256 * 1024;
  size = StepSizer.MIN;
  record(input: number, output: number): void {
    if (input === 0) return;
    const ratio = Math.max(output / input, 1);
    this.size = Math.min(StepSizer.MAX, Math.max(StepSizer.MIN, Math.floor(StepSizer.TARGET / ratio)));
  }
}
/** Longest stretch of decoding between two returns to the event loop. */
const SLICE_MS = 20;
/** Or this much output, where clocks do not advance during a task (Cloudflare Workers). */
const SLICE_BYTES = 32 * 1024 * 1024;

/**
 * Paces a decoder: checks the abort signal before each step and returns to the event loop (a macrotask,
 * so timers, I/O and process signals get their turn; microtasks alone would starve them) every
 * {@linkcode SLICE_MS} of work or {@linkcode SLICE_BYTES} of output.
 */
class Pacer {
  readonly #signal: AbortSignal | undefined;
  #since = performance.now();
  #bytes = 0;
  constructor(signal: AbortSignal | undefined) {
    this.#signal = signal;
  }
  async step(output: number): Promise<void> {
    this.#signal?.throwIfAborted();
    this.#bytes += output;
    if (this.#bytes < SLICE_BYTES && performance.now() - this.#since < SLICE_MS) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.#signal?.throwIfAborted();
    this.#since = performance.now();
    this.#bytes = 0;
  }
}

function decodeError(kind: string, err: unknown): TugError {
  if (err instanceof TugError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TugError("TAR_INVALID", `Cannot decompress ${kind} layer: ${message}`, { cause: err });
}

/** Reads the first 4 bytes (or fewer at the end), picks the decoder, then replays them. */
function sniffed(
  stream: ReadableStream<Uint8Array>,
  options: DecompressLayerOptions,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  let inner: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async start() {
      const head: Uint8Array[] = [];
      let length = 0;
      let done = false;
      while (length < 4) {
        const r = await reader.read();
        if (r.done) {
          done = true;
          break;
        }
        head.push(r.value);
        length += r.value.length;
      }
      const first = head.length === 1 ? head[0] : concatBytes(head, length);
      const replay = new ReadableStream<Uint8Array>({
        start(controller) {
          if (first.length > 0) controller.enqueue(first);
          if (done) controller.close();
        },
        async pull(controller) {
          const r = await reader.read();
          if (r.done) controller.close();
          else controller.enqueue(r.value);
        },
        cancel(reason) {
          return reader.cancel(reason);
        },
      }, { highWaterMark: 0 });
      inner = decompressLayer(replay, detectCompression(first), options).getReader();
    },
    async pull(controller) {
      const r = await inner!.read();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    cancel(reason) {
      return inner ? inner.cancel(reason) : reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** A push-style JS decoder (fflate, fzstd) behind {@linkcode steppedDecoder}. */
interface PushDecoder {
  /** Decodes one step of input; output goes to the `emit` it was made with. */
  push(piece: Uint8Array, final: boolean): void;
  /** Called after the final push: throws when the stream ended where it must not. */
  end(): void;
}

/**
 * Drives a push-style decoder from a pull-based stream with back-pressure: only when the reader wants
 * output (the queue is under `highWaterMark`) is one step of input fed, where `step(chunk, at)` says where
 * that step ends; the pull returns as soon as a step produced something. So the decoder never holds more
 * than one step's output beyond what the reader asked for, whatever the ratio.
 */
function steppedDecoder(
  kind: string,
  input: ReadableStream<Uint8Array>,
  options: DecompressLayerOptions,
  create: (emit: (chunk: Uint8Array) => void) => Promise<PushDecoder>,
  step: (chunk: Uint8Array, at: number) => number,
): ReadableStream<Uint8Array> {
  const reader = input.getReader();
  const pacer = new Pacer(options.signal);
  const out: Uint8Array[] = [];
  let decoder: PushDecoder | undefined;
  let chunk: Uint8Array = new Uint8Array(0);
  let at = 0;
  let received = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        decoder ??= await create((c) => {
          if (c.length > 0) out.push(c);
        });
        while (out.length === 0) {
          if (at >= chunk.length) {
            const r = await reader.read();
            if (r.done) {
              if (received === 0) throw new Error("the blob is empty");
              decoder.push(new Uint8Array(0), true);
              decoder.end();
              for (const c of out.splice(0)) controller.enqueue(c);
              controller.close();
              return;
            }
            chunk = r.value;
            at = 0;
            received += chunk.length;
            continue;
          }
          await pacer.step(0);
          const end = step(chunk, at);
          decoder.push(chunk.subarray(at, end), false);
          at = end;
        }
        let produced = 0;
        for (const c of out.splice(0)) {
          produced += c.length;
          controller.enqueue(c);
        }
        await pacer.step(produced);
      } catch (err) {
        chunk = new Uint8Array(0);
        at = 0;
        reader.cancel(err).catch(() => {});
        if (options.signal?.aborted) throw options.signal.reason;
        throw decodeError(kind, err);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: options.highWaterMark ?? 0, size: (c) => c.byteLength });
}

/** Little-endian uint32 from the last 4 of the (up to) 8 trailing bytes kept in `tail`. */
function trailerSize(tail: Uint8Array, tailLength: number): number {
  const at = tailLength - 4;
  return (tail[at] | tail[at + 1] << 8 | tail[at + 2] << 16 | tail[at + 3] << 24) >>> 0;
}

/** Keeps the last 8 bytes seen (a gzip member's trailer: CRC32, then ISIZE = size mod 2^32). */
class Tail {
  readonly bytes = new Uint8Array(8);
  length = 0;
  add(chunk: Uint8Array): void {
    if (chunk.length >= 8) {
      this.bytes.set(chunk.subarray(chunk.length - 8));
      this.length = 8;
      return;
    }
    const keep = Math.min(this.length, 8 - chunk.length);
    this.bytes.copyWithin(0, this.length - keep, this.length);
    this.bytes.set(chunk, keep);
    this.length = keep + chunk.length;
  }
  /** ISIZE of a member ending here, or -1 when fewer than 8 bytes were seen. */
  size(): number {
    return this.length < 8 ? -1 : trailerSize(this.bytes, 8);
  }
}

function fflateGunzip(
  input: ReadableStream<Uint8Array>,
  options: DecompressLayerOptions,
): ReadableStream<Uint8Array> {
  // fflate neither checks the CRC nor notices a stream cut inside the deflate data, so tug checks each
  // member's ISIZE trailer against the bytes it produced: a truncated blob ends in deflate data, whose last
  // four bytes match the output size only by a 2^-32 chance.
  const tail = new Tail();
  let memberOut = 0;
  const sizer = new StepSizer();
  return steppedDecoder("gzip", input, options, async (emit) => {
    // Loaded on first use: a pull that never reads a layer does not pay for the decoders.
    const { Gunzip } = await import("fflate");
    const gunzip = new Gunzip((chunk) => {
      memberOut += chunk.length;
      emit(chunk);
    });
    gunzip.onmember = () => {
      memberOut = 0;
    };
    return {
      push(piece, final) {
        tail.add(piece);
        let out = 0;
        const counting = gunzip.ondata;
        gunzip.ondata = (chunk, last) => {
          out += chunk.length;
          counting(chunk, last);
        };
        gunzip.push(piece, final);
        gunzip.ondata = counting;
        sizer.record(piece.length, out);
      },
      end() {
        if (tail.size() !== (memberOut >>> 0)) {
          throw new Error(
            `the gzip stream ends early (trailer says ${tail.size()} bytes, ${memberOut} were decoded)`,
          );
        }
      },
    };
  }, (chunk, at) => Math.min(chunk.length, at + sizer.size));
}

function zstdDecompress(
  input: ReadableStream<Uint8Array>,
  options: DecompressLayerOptions,
): ReadableStream<Uint8Array> {
  // The walker checks each frame's window before fzstd sees the frame (fzstd allocates the whole window up
  // front, and copies it for every block), and cuts the input after each block: one push, one block.
  const walker = new ZstdFrameWalker(options.maxZstdWindow ?? DEFAULT_MAX_ZSTD_WINDOW);
  return steppedDecoder("zstd", input, options, async (emit) => {
    const { Decompress } = await import("fzstd");
    let ended = false;
    const decoder = new Decompress((chunk, final) => {
      // fzstd hands out a fresh array per block (it copies the block into its own window before the next).
      markOwned(chunk);
      emit(chunk);
      if (final) ended = true;
    });
    return {
      push: (piece, final) => decoder.push(piece, final),
      end() {
        // fzstd reports the end of the last frame through `final`; a stream cut mid-frame never gets there.
        if (!ended || !walker.atFrameBoundary) throw new Error("the zstd stream ends inside a frame");
      },
    };
  }, (chunk, at) => walker.advance(chunk, at));
}

/** A one-waiter wake-up signal between the decoder's feeder and the consumer. */
class Signal {
  #wake: (() => void) | undefined;
  wait(): Promise<void> {
    return new Promise((resolve) => this.#wake = resolve);
  }
  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** Whether a gzip member may start at `at` (ID1 ID2 CM=deflate, RFC 1952 §2.3.1). */
function magicAt(chunk: Uint8Array, at: number): boolean {
  return chunk[at] === 0x1f && chunk[at + 1] === 0x8b && chunk[at + 2] === 0x08;
}

/**
 * The native decoder, made to read multi-member gzip. The Compression Streams spec allows one member only
 * and errors on anything after it, and Deno drops the output of a write that fails. So the input is cut
 * before every place where a member could start (the three magic bytes): a write that begins there and fails,
 * when the bytes before it hold an ISIZE equal to what the member produced, is the start of the next member,
 * and a fresh decoder takes over from it. Cuts that are not member starts (about one per 16 MiB of random
 * data) cost one extra write.
 */
function nativeGunzip(
  input: ReadableStream<Uint8Array>,
  options: DecompressLayerOptions,
): ReadableStream<Uint8Array> {
  // DecompressionStream has no back-pressure on its output: one write is decoded at once, in full (Deno
  // returns it as one buffer), so 1 MiB of zeros written is 1 GiB held. Writes are therefore cut into
  // StepSizer steps, each written only when the decoded queue is at or under `ahead`.
  const ahead = options.highWaterMark ?? 0;
  const pacer = new Pacer(options.signal);
  const sizer = new StepSizer();
  let decoded = 0;
  const source = input.getReader();
  const queue: Uint8Array[] = [];
  let queued = 0;
  let finished = false;
  let failure: unknown;
  let cancelled = false;
  let started = false;
  const toConsumer = new Signal();
  const toFeeder = new Signal();

  interface Member {
    writer: WritableStreamDefaultWriter<BufferSource>;
    out: number;
    fed: number;
    pump: Promise<void>;
  }

  function startMember(): Member {
    const ds = new DecompressionStream("gzip");
    const reader = ds.readable.getReader();
    const member: Member = { writer: ds.writable.getWriter(), out: 0, fed: 0, pump: Promise.resolve() };
    member.pump = (async () => {
      for (;;) {
        const r = await reader.read();
        if (r.done) return;
        member.out += r.value.length;
        decoded += r.value.length;
        // Each output chunk is a new Uint8Array (Compression Streams: "convert them into Uint8Arrays");
        // markOwned also checks it is a whole buffer, which a slice of a shared one (Node's zlib) is not.
        markOwned(r.value);
        queue.push(r.value);
        queued += r.value.length;
        toConsumer.wake();
      }
    })();
    // A member's errors come back through its writer; this only keeps the rejection handled.
    member.pump.catch(() => {});
    return member;
  }

  async function feed(): Promise<void> {
    const tail = new Tail();
    let member = startMember();
    let carry: Uint8Array | undefined;
    let total = 0;

    let lastIn = 0;
    let decodedBefore = 0;
    const writeStep = async (piece: Uint8Array, cut: boolean) => {
      while (queued > ahead && !cancelled) await toFeeder.wait();
      if (cancelled) throw new Error("cancelled");
      await pacer.step(0);
      // The output of the step before has reached the queue by now (the wait above, or the pacer's turn).
      sizer.record(lastIn, decoded - decodedBefore);
      lastIn = piece.length;
      decodedBefore = decoded;
      if (cut && member.fed > 0) {
        // Let the pump take every output chunk of earlier writes, so a failing write loses nothing.
        const size = tail.size();
        for (let i = 0; i < 64 && (member.out >>> 0) !== size; i++) await Promise.resolve();
        if ((member.out >>> 0) !== size) await new Promise((resolve) => setTimeout(resolve, 0));
        try {
          await member.writer.write(piece as Uint8Array<ArrayBuffer>);
        } catch (err) {
          if ((member.out >>> 0) !== tail.size()) throw err;
          member = startMember();
          await member.writer.write(piece as Uint8Array<ArrayBuffer>);
        }
      } else {
        await member.writer.write(piece as Uint8Array<ArrayBuffer>);
      }
      member.fed += piece.length;
      tail.add(piece);
    };
    // A piece that begins at a possible member start is written in steps; only the first step is the cut.
    const write = async (piece: Uint8Array, cut: boolean) => {
      let at = 0;
      do {
        const end = Math.min(piece.length, at + sizer.size);
        await writeStep(piece.subarray(at, end), cut && at === 0);
        at = end;
      } while (at < piece.length);
    };

    for (;;) {
      const r = await source.read();
      if (r.done) break;
      let chunk = r.value;
      if (chunk.length === 0) continue;
      total += chunk.length;
      if (carry) {
        const joined = new Uint8Array(carry.length + chunk.length);
        joined.set(carry);
        joined.set(chunk, carry.length);
        chunk = joined;
        carry = undefined;
      }
      // Hold back a possible magic cut at the end of the chunk; it is decided with the next one.
      const n = chunk.length;
      const hold = chunk[n - 1] === 0x1f
        ? 1
        : n >= 2 && chunk[n - 2] === 0x1f && chunk[n - 1] === 0x8b
        ? 2
        : 0;
      if (hold > 0) {
        carry = chunk.slice(n - hold);
        chunk = chunk.subarray(0, n - hold);
      }
      // Cut before every possible member start; a piece says whether it begins at one.
      let start = 0;
      let at = chunk.indexOf(0x1f, 1);
      while (at !== -1) {
        if (magicAt(chunk, at)) {
          await write(chunk.subarray(start, at), magicAt(chunk, start));
          start = at;
        }
        at = chunk.indexOf(0x1f, at + 1);
      }
      await write(chunk.subarray(start), magicAt(chunk, start));
    }
    if (carry) await write(carry, false);
    if (total === 0) throw new Error("the blob is empty");
    await member.writer.close();
    await member.pump;
  }

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        feed().then(() => {
          finished = true;
          toConsumer.wake();
        }, (err) => {
          failure = err;
          cancelled = true;
          source.cancel(err).catch(() => {});
          toConsumer.wake();
        });
      }
      while (queue.length === 0 && !finished && failure === undefined) await toConsumer.wait();
      if (queue.length > 0) {
        const chunk = queue.shift()!;
        queued -= chunk.length;
        toFeeder.wake();
        controller.enqueue(chunk);
        return;
      }
      if (failure !== undefined) {
        if (options.signal?.aborted) throw options.signal.reason;
        throw decodeError("gzip", failure);
      }
      controller.close();
    },
    cancel(reason) {
      cancelled = true;
      toFeeder.wake();
      return source.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
