// This module is browser compatible.
/**
 * Decompression of layer blobs (gzip, zstd or none) as streams, with the native `DecompressionStream`
 * preferred and pure-JS decoders (fflate, fzstd) where it is missing.
 *
 * @module
 */

import { Gunzip } from "fflate";
import { Decompress } from "fzstd";
import { TugError } from "../errors.ts";
import { detectCompression } from "./detect_compression.ts";

/** How a layer blob is compressed, as {@linkcode layerCompression} of `src/manifest` names it. */
export type LayerCompression = "gzip" | "zstd" | "none";

/** Options for {@linkcode decompressLayer}. */
export interface DecompressLayerOptions {
  /**
   * Which gzip decoder to use: `"auto"` (default) takes the native `DecompressionStream` when the runtime has
   * one and fflate otherwise; `"native"` and `"fflate"` force one (tests use this to cover both paths).
   */
  gzipDecoder?: "auto" | "native" | "fflate";
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
 * @param stream The compressed blob.
 * @param compression How it is compressed, or `"auto"` to look at its magic bytes.
 * @param options Which gzip decoder to use.
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
  switch (compression) {
    case "none":
      return stream;
    case "gzip":
      if (decoder === "fflate" || (decoder === "auto" && typeof DecompressionStream !== "function")) {
        return fflateGunzip(stream);
      }
      if (typeof DecompressionStream !== "function") {
        throw new TypeError(
          "The native gzip decoder was asked for, but this runtime has no DecompressionStream",
        );
      }
      return nativeGunzip(stream);
    case "zstd":
      return zstdDecompress(stream);
    case "auto":
      return sniffed(stream, options);
    default:
      throw new TypeError(`Unknown layer compression "${compression}": expected "gzip", "zstd" or "none"`);
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
      const first = head.length === 1 ? head[0] : concat(head, length);
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

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Drives a push-style JS decoder (fflate, fzstd) from a pull-based stream: each pull feeds one input chunk
 * and hands on whatever came out, so memory stays at one chunk in and its output.
 */
function pushDecoder(
  kind: string,
  input: ReadableStream<Uint8Array>,
  create: (emit: (chunk: Uint8Array) => void) => {
    push(chunk: Uint8Array, final: boolean): void;
    end(): void;
  },
): ReadableStream<Uint8Array> {
  const reader = input.getReader();
  let pending: Uint8Array[] = [];
  const decoder = create((chunk) => {
    if (chunk.length > 0) pending.push(chunk);
  });
  let received = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        while (pending.length === 0) {
          const r = await reader.read();
          if (r.done) {
            if (received === 0) throw new Error("the blob is empty");
            decoder.push(new Uint8Array(0), true);
            decoder.end();
            for (const c of pending) controller.enqueue(c);
            pending = [];
            controller.close();
            return;
          }
          received += r.value.length;
          if (r.value.length > 0) decoder.push(r.value, false);
        }
        for (const c of pending) controller.enqueue(c);
        pending = [];
      } catch (err) {
        reader.cancel(err).catch(() => {});
        throw decodeError(kind, err);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
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

function fflateGunzip(input: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  // fflate neither checks the CRC nor notices a stream cut inside the deflate data, so tug checks each
  // member's ISIZE trailer against the bytes it produced: a truncated blob ends in deflate data, whose last
  // four bytes match the output size only by a 2^-32 chance.
  const tail = new Tail();
  let memberOut = 0;
  let tailInput: (chunk: Uint8Array) => void = () => {};
  const counted = input.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        tailInput(chunk);
        controller.enqueue(chunk);
      },
    }),
  );
  return pushDecoder("gzip", counted, (emit) => {
    const gunzip = new Gunzip((chunk) => {
      memberOut += chunk.length;
      emit(chunk);
    });
    gunzip.onmember = () => {
      memberOut = 0;
    };
    tailInput = (chunk) => tail.add(chunk);
    return {
      push: (chunk, final) => gunzip.push(chunk, final),
      end() {
        if (tail.size() !== (memberOut >>> 0)) {
          throw new Error(
            `the gzip stream ends early (trailer says ${tail.size()} bytes, ${memberOut} were decoded)`,
          );
        }
      },
    };
  });
}

function zstdDecompress(input: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  return pushDecoder("zstd", input, (emit) => {
    let ended = false;
    const decoder = new Decompress((chunk, final) => {
      emit(chunk);
      if (final) ended = true;
    });
    return {
      push: (chunk, final) => decoder.push(chunk, final),
      end() {
        // fzstd reports the end of the last frame through `final`; a stream cut mid-frame never gets there.
        if (!ended) throw new Error("the zstd stream ends inside a frame");
      },
    };
  });
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

/** How far the native decoder may run ahead of the consumer. */
const AHEAD = 1 << 20;

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
function nativeGunzip(input: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
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

    const write = async (piece: Uint8Array, cut: boolean) => {
      while (queued > AHEAD && !cancelled) await toFeeder.wait();
      if (cancelled) throw new Error("cancelled");
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
      if (failure !== undefined) throw decodeError("gzip", failure);
      controller.close();
    },
    cancel(reason) {
      cancelled = true;
      toFeeder.wake();
      return source.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
