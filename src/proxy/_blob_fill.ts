// This module is browser compatible.
/**
 * One upstream download of a blob shared by every client that asks for it while it runs (single flight).
 * Private to the proxy.
 *
 * @module
 */

import { DigestVerifier } from "../digest/digest_verifier.ts";
import type { HasherFactory } from "../digest/hasher.ts";
import { TugError } from "../errors.ts";
import type { BlobStore, BlobWriter } from "../store/types.ts";
import { readAllBytes } from "../streams/bytes.ts";
import { IdleTimer } from "../streams/idle_timer.ts";

/** Bytes of recent chunks a fill keeps in memory (whenever the store takes the blob). */
export const FILL_WINDOW: number = 4 << 20;

/**
 * Subscribers behind the window read the store back in aligned blocks of this size… (256 KiB: 1 MiB blocks
 * kept 3 MiB more in memory, in `tug serve` with 8 clients on a cold 250 MB blob ~3 MiB more peak RSS, for no
 * gain in time; docs/performance.md, "Proxy memory").
 */
const READ_BACK_BLOCK = 256 << 10;
/** …and share the last few blocks read (clients behind the window usually move at similar speeds). */
const READ_BACK_BLOCKS = 4;

/**
 * Reads a whole read-back block into a buffer of its own: with a BYOB reader where the store's stream is a
 * byte stream (the disk store's), so no other buffer is allocated; else chunk by chunk, copied.
 */
async function readBlock(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream.
  }
  if (byob === undefined) {
    const bytes = await readAllBytes(stream);
    // A buffer of the fill's own (a single chunk may be a view into the store's memory).
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
  }
  let buffer: ArrayBufferLike = new ArrayBuffer(READ_BACK_BLOCK);
  let used = 0;
  try {
    // Bounded: each read fills at least one byte of the block, or ends.
    while (used < READ_BACK_BLOCK) {
      const view: Uint8Array<ArrayBuffer> = new Uint8Array(
        buffer as ArrayBuffer,
        used,
        READ_BACK_BLOCK - used,
      );
      const { done, value }: ReadableStreamReadResult<Uint8Array> = await byob.read(view);
      if (value !== undefined) buffer = value.buffer;
      if (done) break;
      used += value.byteLength;
    }
  } finally {
    byob.releaseLock();
  }
  return new Uint8Array(buffer, 0, used);
}

/** Options for {@linkcode BlobFill.start}. */
export interface BlobFillOptions {
  /** The blob's digest. */
  digest: string;
  /** The blob's size, as the upstream announced it (the digest check is what makes it trusted). */
  size: number;
  /** The upstream body, from byte 0. */
  body: ReadableStream<Uint8Array>;
  /** Where the verified blob is committed; none: the blob is only streamed through (and paced). */
  blobs?: BlobStore;
  /** The hasher used to verify in flight. */
  hasher?: HasherFactory;
  /** Called with the length of every chunk read from upstream. */
  onBytes?: (n: number) => void;
  /** Called with the bytes of chunks held in memory after each chunk read (and the window trimmed). */
  onHeld?: (bytes: number) => void;
  /**
   * `false`: the store declared that it cannot read a blob back while it is written (`Store.capabilities
   * .readWhileWriting`, e.g. an object store), so its writers' `readWritten` is not used even if present.
   * Default: used whenever a writer has it.
   */
  readBack?: boolean;
  /** Bytes of recent chunks kept in memory (default {@linkcode FILL_WINDOW}). */
  window?: number;
  /**
   * Frees each upstream chunk's memory (detaches its `ArrayBuffer`) as soon as it has left the window and
   * no subscriber still holds it as the chunk it handed out last, instead of leaving it to the garbage
   * collector: V8 collects `ArrayBuffer`s only after about 64 MiB more of them were allocated, so a fill
   * that streams a large blob otherwise raises the process's memory by that much whatever the window.
   *
   * Only for subscriber streams read by a consumer that takes its own reference to a chunk when it reads
   * it and reads the next one only after that: `Deno.serve`'s response pump does (it hands each chunk to
   * Rust, which holds the backing store until the bytes are sent). A consumer that keeps chunks in
   * JavaScript (`Response.arrayBuffer()`, Node's socket write queue) would find them emptied. The store's
   * writer and the hasher are safe: `BlobWriter.write()` copies what it keeps past its promise, hashing is
   * synchronous. Default false.
   */
  release?: boolean;
  /**
   * Milliseconds the upstream body may send nothing before the fill fails with `TIMEOUT` (default 30 000,
   * Docker's read timeout; 0: none). Without it a stalled upstream pins the digest for every client.
   */
  readTimeout?: number;
  /**
   * Milliseconds a subscriber of a paced fill (a store that cannot read the blob back while it is written)
   * may read nothing while the fill waits for it, before it is dropped from the pacing (default
   * {@linkcode FILL_STALL_TIMEOUT}; 0: never). A dropped subscriber reads the bytes the window left from the
   * committed blob, or fails with `TIMEOUT` when the store did not take the blob.
   */
  stallTimeout?: number;
  /** The clock of the stall timeout (default: the real one; tests inject theirs). */
  clock?: FillClock;
  /**
   * `false`: never pace (see `BlobFill`): bytes behind the window come from the committed blob, and with no
   * store every chunk is kept until the fill ends. Default true.
   */
  pace?: boolean;
}

/** The default idle read timeout of a fill, in milliseconds (Docker's 30 s). */
export const FILL_READ_TIMEOUT = 30_000;

/** Milliseconds between two looks of a paced fill waiting for its subscribers. */
const PACE_POLL = 2;

/** The default stall timeout of a paced fill's subscriber, in milliseconds. */
export const FILL_STALL_TIMEOUT = 10_000;

/** The time source of a fill's stall timeout. */
export interface FillClock {
  /** Milliseconds since some fixed point. */
  now(): number;
  /** Resolves after `ms` milliseconds (a timer of the caller's own: see `BlobFill` on workerd). */
  wait(ms: number): Promise<void>;
}

const realClock: FillClock = {
  now: () => Date.now(),
  wait: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

/** A subscriber as the pacing sees it. */
interface Subscriber {
  /** The next byte it reads. */
  pos: number;
  /** Where it stops. */
  readonly end: number;
  /** When it last read (clock time). */
  active: number;
  /** A read of it is pending: it waits for the fill, not the other way round. */
  pulling: boolean;
  /** Dropped from the pacing after it read nothing for the stall timeout. */
  dropped: boolean;
}

/**
 * Reads one upstream body, verifies it in flight, writes it to the store and lets any number of
 * subscribers stream it while it arrives.
 *
 * Memory: only the most recent chunks are kept, about `window` bytes (plus, with read-back, what the store
 * has not made readable yet: the disk store's 1 MiB write buffer).
 *
 * When the store can read the blob back while it is written (`BlobWriter.readWritten`, and the store did
 * not declare `readWhileWriting: false`), the upstream read never waits for a subscriber: one that joins
 * late, asks for a range, or reads slower than the upstream sends reads the bytes before the window back
 * from the store's write, then the chunks in memory.
 *
 * Otherwise (an object store keeps only committed blobs; a store that refused the blob or failed part way)
 * the fill is paced: it reads the next upstream chunk only once every subscriber is within `window` of
 * the bytes released, so every subscriber streams the whole blob from memory, nothing is read back from
 * the store, and memory stays about window + two chunks whatever the number of subscribers. A subscriber
 * that reads nothing for `stallTimeout` while the fill waits for it is dropped from the pacing: it then
 * reads the bytes the window left from the committed blob (it waits for the commit, which comes only
 * after the digest check), or fails with `TIMEOUT` when the store did not take the blob. `canServe()` is
 * false for offsets before the window, so the proxy sends such a client upstream instead.
 *
 * The last chunk received is held back from subscribers until the whole blob has been verified: a client
 * never receives all `size` bytes of a blob that failed its digest check, so a failure always shows as a
 * truncated (aborted) response, never as a complete one.
 */
export class BlobFill {
  readonly digest: string;
  readonly size: number;
  /** Settles when the fill ends: resolves after the commit, rejects with the verification or read error. */
  readonly done: Promise<void>;
  // The chunks in memory (a suffix of the blob: all of it without read-back) and their offsets.
  #chunks: Uint8Array[] = [];
  #starts: number[] = [];
  #kept = 0;
  #window: number;
  #received = 0;
  #state: "running" | "complete" | "failed" = "running";
  #error: unknown;
  #wake: Array<() => void> = [];
  #cached = false;
  // The writer subscribers read older bytes back from; undefined when the store cannot read back.
  #readBack: BlobWriter | undefined;
  // The store takes the blob but cannot read it back: bytes before the window come from the committed blob.
  #fromCommit = false;
  // The commit has settled (`#cached` says how); subscribers waiting for it are woken.
  #settled = false;
  #blobs: BlobStore | undefined;
  // The store failed part way after chunks were dropped from memory: bytes before the window are gone.
  #lost = false;
  // Blocks read back from the store, by block number, least recently used first.
  #blocks = new Map<number, Promise<Uint8Array>>();
  // Another process downloads the blob (see `elsewhere()`): no byte of it passes through this fill.
  #elsewhere = false;
  // With `release`: upstream buffers handed out by subscribers as their last chunk (how many hold each),
  // those of them already out of the window (freed when the last holder moves on), and bytes freed.
  #release = false;
  #lent = new Map<ArrayBufferLike, number>();
  #retired = new Set<ArrayBufferLike>();
  #freed = 0;
  // Subscribers reading (for the pacing).
  #subscribers = new Set<Subscriber>();
  #clock: FillClock = realClock;
  #stallTimeout = FILL_STALL_TIMEOUT;
  #pacing = true;

  private constructor(
    digest: string,
    size: number,
    window: number,
    run: (fill: BlobFill) => Promise<void>,
  ) {
    this.digest = digest;
    this.size = size;
    this.#window = window;
    this.done = run(this);
    // The rejection is seen by subscribers; nobody has to await `done`.
    this.done.catch(() => {});
  }

  /** Starts reading `body` at once; bytes go to the store and to subscribers as they arrive. */
  static start(options: BlobFillOptions): BlobFill {
    const window = options.window ?? FILL_WINDOW;
    if (!Number.isSafeInteger(window) || window < 0) {
      throw new RangeError(`Invalid fill window ${window}: expected a non-negative integer of bytes`);
    }
    const readTimeout = options.readTimeout ?? FILL_READ_TIMEOUT;
    if (!Number.isFinite(readTimeout) || readTimeout < 0) {
      throw new RangeError(
        `Invalid read timeout ${readTimeout}: expected a non-negative number of milliseconds`,
      );
    }
    const stallTimeout = options.stallTimeout ?? FILL_STALL_TIMEOUT;
    if (!Number.isFinite(stallTimeout) || stallTimeout < 0) {
      throw new RangeError(
        `Invalid stall timeout ${stallTimeout}: expected a non-negative number of milliseconds`,
      );
    }
    return new BlobFill(options.digest, options.size, window, (fill) => {
      fill.#release = options.release ?? false;
      fill.#stallTimeout = stallTimeout;
      fill.#pacing = options.pace ?? true;
      if (options.clock) fill.#clock = options.clock;
      return fill.#run(options, readTimeout);
    });
  }

  /**
   * A fill that another process runs (it holds the store's download lease, `Store.leases`): this one
   * receives nothing from upstream; its subscribers wait until `committed` resolves, then read the
   * committed (verified) blob from the store. `committed` rejecting fails them. `size` is what the other
   * process recorded; a committed blob of another size makes its reads fail short, never pass.
   */
  static elsewhere(options: {
    digest: string;
    size: number;
    blobs: BlobStore;
    committed: Promise<void>;
  }): BlobFill {
    return new BlobFill(options.digest, options.size, 0, async (fill) => {
      fill.#elsewhere = true;
      fill.#fromCommit = true;
      fill.#blobs = options.blobs;
      try {
        await options.committed;
      } catch (err) {
        fill.#state = "failed";
        fill.#error = err;
        fill.#notify();
        throw err;
      }
      // Every byte is now behind the (empty) window: subscribers read the committed blob.
      fill.#received = options.size;
      fill.#state = "complete";
      fill.#cached = true;
      fill.#settled = true;
      fill.#notify();
    });
  }

  /** Whether another process downloads the blob (see `elsewhere()`): its callers need their own access check. */
  get elsewhere(): boolean {
    return this.#elsewhere;
  }

  /** Whether the fill verified the blob and the store committed it. */
  get cached(): boolean {
    return this.#cached;
  }

  /**
   * Whether the fill is over: failed, or verified and its commit settled (`cached` says how). A fill that
   * is neither running nor ended has verified the blob and is committing it; its subscribers wait for the
   * commit for bytes no longer in memory.
   */
  get ended(): boolean {
    return this.#state === "failed" || this.#settled;
  }

  /** Bytes received from upstream so far. */
  get received(): number {
    return this.#received;
  }

  /** Bytes of chunks held in memory now. */
  get kept(): number {
    return this.#kept;
  }

  /**
   * With `release`: bytes of upstream chunks out of the window that a subscriber still holds (the chunk
   * it handed out last); they are freed when it reads on. At most one chunk per subscriber.
   */
  get lentOut(): number {
    let n = 0;
    for (const b of this.#retired) n += b.byteLength;
    return n;
  }

  /** With `release`: bytes of upstream chunks freed so far. */
  get freed(): number {
    return this.#freed;
  }

  /** Whether the fill is still reading. */
  get running(): boolean {
    return this.#state === "running";
  }

  /**
   * Whether a subscription starting at `start` can be served from the fill: false for bytes before the
   * window when the store cannot read them back (an object store, a store that refused the blob or failed
   * part way); such a client is better sent upstream than made to wait for the commit.
   */
  canServe(start: number): boolean {
    if (this.#readBack !== undefined || this.#elsewhere) return true;
    // Unpaced without a store, every chunk is kept.
    if (!this.#pacing && !this.#fromCommit && !this.#lost) return true;
    return start >= this.#windowStart();
  }

  /** Whether the upstream read waits for the subscribers (no read-back source for bytes behind the window). */
  #paced(): boolean {
    return this.#pacing && this.#readBack === undefined && !this.#elsewhere;
  }

  /** Subscribers the pacing waits for: not dropped, not done, and not behind the bytes in memory. */
  *#paceable(): Iterable<Subscriber> {
    const first = this.#windowStart();
    for (const s of this.#subscribers) {
      if (!s.dropped && s.pos < s.end && s.pos >= first) yield s;
    }
  }

  /** Whether a paced fill must wait for a subscriber before it reads on. */
  #behind(): boolean {
    if (this.#state !== "running" || !this.#paced()) return false;
    const floor = this.#releasable() - this.#window;
    for (const s of this.#paceable()) if (s.pos < floor) return true;
    return false;
  }

  /**
   * Waits until every paced subscriber is within half the window of the bytes released (so the next wait
   * comes only after half a window more), dropping those that read nothing for the stall timeout meanwhile.
   *
   * It looks again every {@linkcode PACE_POLL} ms of its own timer rather than being woken by the
   * subscribers: on workerd, code resumed by another request's handler (a subscriber's read) may not touch
   * the upstream body, an I/O object of the request that started the fill ("Cannot perform I/O on behalf of
   * a different request"); a timer the fill set resumes it in its own request.
   */
  async #pace(): Promise<void> {
    // Bounded: each round returns or waits one poll; a subscriber that reads nothing is dropped after the
    // stall timeout (with a stall timeout of 0, a live subscriber holds the fill for as long as it lives).
    for (;;) {
      if (this.#state !== "running" || !this.#paced()) return;
      const floor = this.#releasable() - Math.floor(this.#window / 2);
      const now = this.#clock.now();
      let blocked = false;
      for (const s of this.#paceable()) {
        if (s.pos >= floor) continue;
        const idle = s.pulling ? 0 : now - s.active;
        if (this.#stallTimeout > 0 && idle >= this.#stallTimeout) {
          // Stalled: the others no longer wait for it (see subscribe() for what it reads next).
          s.dropped = true;
          continue;
        }
        blocked = true;
      }
      if (!blocked) return;
      await this.#clock.wait(PACE_POLL);
    }
  }

  async #run(options: BlobFillOptions, readTimeout: number): Promise<void> {
    const verifier = await DigestVerifier.create(
      { digest: options.digest, size: options.size },
      options.hasher ? { hasher: options.hasher } : {},
    );
    let writer: BlobWriter | undefined;
    try {
      writer = await options.blobs?.writer({ digest: options.digest, size: options.size });
    } catch {
      // A store that cannot take the blob (full, read-only) does not stop the clients from getting it.
      writer = undefined;
    }
    this.#blobs = options.blobs;
    if (
      writer?.readWritten !== undefined && writer.readable !== undefined && options.readBack !== false
    ) {
      this.#readBack = writer;
    } else if (writer !== undefined) {
      this.#fromCommit = true;
    }
    const reader = options.body.getReader();
    // An idle upstream: the read is cancelled (which ends the pending read as done) and reported as TIMEOUT.
    let idle: TugError | undefined;
    // A slow store write is not an idle upstream: a timer that runs out while the store writes starts again.
    let storeWriting = false;
    const idleTimer = (): IdleTimer | undefined =>
      readTimeout > 0
        ? new IdleTimer(readTimeout, () => {
          if (storeWriting) {
            timer = idleTimer();
            return;
          }
          idle = new TugError(
            "TIMEOUT",
            `Cannot fill blob ${options.digest}: the upstream sent nothing for ${readTimeout} ms ` +
              `(at byte ${this.#received} of ${options.size})`,
          );
          reader.cancel(idle).catch(() => {});
        })
        : undefined;
    let timer = idleTimer();
    try {
      for (;;) {
        if (this.#behind()) {
          // Waiting for the subscribers is not an idle upstream: its timer starts again after the wait.
          timer?.stop();
          await this.#pace();
          timer = idleTimer();
        }
        const { done, value } = await reader.read();
        if (idle !== undefined) throw idle;
        timer?.touch();
        if (done) break;
        if (value.byteLength === 0) continue;
        verifier.update(value);
        options.onBytes?.(value.byteLength);
        this.#starts.push(this.#received);
        this.#chunks.push(value);
        this.#kept += value.byteLength;
        this.#received += value.byteLength;
        this.#notify();
        if (writer !== undefined) {
          // A part upload may take long on a slow link; the store bounds its own requests.
          storeWriting = true;
          try {
            await writer.write(value);
          } catch {
            await writer.abort().catch(() => {});
            writer = undefined;
            if (this.#readBack !== undefined || this.#fromCommit) {
              // Memory stays bounded: the chunks before the window are dropped all the same.
              this.#readBack = undefined;
              this.#fromCommit = false;
              this.#lost = true;
            }
          } finally {
            storeWriting = false;
          }
        }
        // The upstream's idle time starts after the store's write.
        timer?.touch();
        this.#trim();
        options.onHeld?.(this.#kept);
      }
      timer?.stop();
      verifier.verify();
      // Verified: the clients get the last chunk now; the commit (an fsync on disk stores) happens
      // meanwhile, and `done` settles after it.
      this.#state = "complete";
      this.#notify();
      if (writer !== undefined) {
        try {
          await writer.commit();
          this.#cached = true;
        } catch {
          // Not cached; the clients still got verified bytes.
        }
      }
      this.#settled = true;
      this.#notify();
    } catch (err) {
      timer?.stop();
      this.#state = "failed";
      this.#error = err;
      reader.cancel(err).catch(() => {});
      // The clients learn of the failure first: cleaning up the store (a multipart upload's abort, which
      // may be retried or meet a bucket that stopped answering) must not hold their responses open.
      this.#notify();
      await writer?.abort().catch(() => {});
      throw err;
    }
  }

  /**
   * Drops the oldest chunks while more than the window is kept, never the last one (held back until
   * verified), never one the store cannot give back yet, and, paced, never one a subscriber still reads.
   */
  #trim(): void {
    // Unpaced with no store: there is nowhere else to read the chunks from.
    if (!this.#paced() && this.#readBack === undefined && !this.#lost && !this.#fromCommit) return;
    const readable = this.#readBack?.readable ?? Infinity;
    let reading = Infinity;
    if (this.#paced()) { for (const s of this.#paceable()) reading = Math.min(reading, s.pos); }
    let drop = 0;
    while (this.#kept > this.#window && drop < this.#chunks.length - 1) {
      const chunk = this.#chunks[drop];
      const chunkEnd = this.#starts[drop] + chunk.byteLength;
      if (chunkEnd > readable || chunkEnd > reading) break;
      this.#kept -= chunk.byteLength;
      drop++;
    }
    if (drop > 0) {
      if (this.#release) {
        for (let i = 0; i < drop; i++) this.#retire(this.#chunks[i]);
      }
      this.#chunks.splice(0, drop);
      this.#starts.splice(0, drop);
    }
  }

  /** A chunk left the window: its memory is freed now, or when the last subscriber holding it reads on. */
  #retire(chunk: Uint8Array): void {
    const buffer = chunk.buffer;
    // Only a chunk that is its whole buffer: a buffer shared with other chunks may still be in use.
    if (chunk.byteOffset !== 0 || chunk.byteLength !== buffer.byteLength) return;
    if (this.#lent.has(buffer)) this.#retired.add(buffer);
    else this.#free(buffer);
  }

  #free(buffer: ArrayBufferLike): void {
    const size = buffer.byteLength;
    try {
      // Detaching drops this realm's reference to the backing store at once (a consumer that took its own,
      // like Deno's response pump, keeps the bytes until it sent them).
      (buffer as ArrayBuffer).transfer(0);
      this.#freed += size;
    } catch {
      // Not detachable (a WebAssembly memory, a shared buffer): left to the garbage collector.
    }
  }

  /** A subscriber handed out a chunk of `buffer` as its last. */
  #lend(buffer: ArrayBufferLike): void {
    this.#lent.set(buffer, (this.#lent.get(buffer) ?? 0) + 1);
  }

  /** A subscriber read on past (or dropped) the chunk of `buffer` it handed out last. */
  #unlend(buffer: ArrayBufferLike): void {
    const n = this.#lent.get(buffer);
    if (n === undefined) return;
    if (n > 1) {
      this.#lent.set(buffer, n - 1);
      return;
    }
    this.#lent.delete(buffer);
    if (this.#retired.delete(buffer)) this.#free(buffer);
  }

  /** Block `n` of the blob read back from the store, shared by subscribers (the last few are kept). */
  #readBlock(writer: BlobWriter, n: number): Promise<Uint8Array> {
    let block = this.#blocks.get(n);
    if (block === undefined) {
      block = readBlock(writer.readWritten!(n * READ_BACK_BLOCK, (n + 1) * READ_BACK_BLOCK));
      this.#blocks.set(n, block);
      // Dropped from the cache when it fails: the next reader tries again (or the fill has failed).
      block.catch(() => this.#blocks.delete(n));
      for (const [old, evicted] of this.#blocks) {
        if (this.#blocks.size <= READ_BACK_BLOCKS) break;
        this.#blocks.delete(old);
        // A block is a buffer of the fill's own: freed like an upstream chunk once no subscriber holds it.
        if (this.#release) evicted.then((bytes) => this.#retire(bytes), () => {});
      }
    } else {
      // Most recently used last.
      this.#blocks.delete(n);
      this.#blocks.set(n, block);
    }
    return block;
  }

  #failed(): boolean {
    return this.#state === "failed";
  }

  #windowStart(): number {
    return this.#chunks.length === 0 ? this.#received : this.#starts[0];
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const w of wake) w();
  }

  /** Bytes subscribers may read: all once verified, else all but the last chunk received. */
  #releasable(): number {
    if (this.#state === "complete") return this.#received;
    const n = this.#chunks.length;
    return n === 0 ? 0 : this.#starts[n - 1];
  }

  /**
   * A stream of bytes `[start, end)` of the blob, fed from the fill as they arrive. It errors when the
   * fill fails; cancelling it (a client that went away) leaves the fill running for the others.
   */
  subscribe(start: number = 0, end: number = this.size): ReadableStream<Uint8Array> {
    // `pos`: the next byte it reads; the pacing waits for it (see #pace()).
    const sub: Subscriber = {
      pos: start,
      end,
      active: this.#clock.now(),
      pulling: false,
      dropped: false,
    };
    this.#subscribers.add(sub);
    // Reads older bytes back from the store, up to `backEnd`, while this subscriber is behind the window.
    let back: ReadableStreamDefaultReader<Uint8Array> | undefined;
    // With `release`: the upstream buffer of the chunk this stream handed out last. The consumer asks for
    // the next one only after it took that one (see BlobFillOptions.release), so a pull lets go of it.
    let lent: ArrayBufferLike | undefined;
    const unlend = () => {
      if (lent !== undefined) this.#unlend(lent);
      lent = undefined;
    };
    const dropBack = () => {
      back?.cancel().catch(() => {});
      back = undefined;
    };
    const next = async (controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> => {
      // Bounded: each round either enqueues, ends, fails, opens a read-back or waits for the fill.
      for (;;) {
        if (this.#state === "failed") {
          dropBack();
          controller.error(this.#error);
          return;
        }
        if (sub.pos >= end) {
          dropBack();
          controller.close();
          return;
        }
        if (back !== undefined) {
          let result: ReadableStreamReadResult<Uint8Array>;
          try {
            result = await back.read();
          } catch (err) {
            back = undefined;
            if (this.#failed()) continue;
            controller.error(err);
            return;
          }
          if (result.done) {
            back = undefined;
            if (this.#fromCommit && sub.pos < end) {
              // The committed blob is read in one stream to `end`: it ended short (bounds the loop).
              controller.error(
                new TugError(
                  "STORE_IO",
                  `Cannot stream blob ${this.digest}: the store ended it at byte ${sub.pos}`,
                ),
              );
              return;
            }
            continue;
          }
          // Checked again: the fill may have failed while the store was read.
          if (this.#failed()) continue;
          const value = result.value.byteLength > end - sub.pos
            ? result.value.subarray(0, end - sub.pos)
            : result.value;
          sub.pos += value.byteLength;
          controller.enqueue(value);
          return;
        }
        const limit = Math.min(end, this.#releasable());
        if (sub.pos < limit) {
          const first = this.#windowStart();
          if (sub.pos >= first) {
            const index = this.#chunkAt(sub.pos);
            const chunk = this.#chunks[index];
            const from = sub.pos - this.#starts[index];
            const to = Math.min(chunk.byteLength, limit - this.#starts[index]);
            if (this.#release) {
              lent = chunk.buffer;
              this.#lend(lent);
            }
            controller.enqueue(from === 0 && to === chunk.byteLength ? chunk : chunk.subarray(from, to));
            sub.pos += to - from;
            return;
          }
          if (this.#fromCommit) {
            // Behind the bytes in memory of a store that cannot read back: from the committed blob.
            if (!this.#settled) {
              await new Promise<void>((resolve) => this.#wake.push(resolve));
              continue;
            }
            if (!this.#cached) {
              controller.error(
                new TugError(
                  "STORE_IO",
                  `Cannot stream blob ${this.digest} from byte ${sub.pos}: the store did not commit it and ` +
                    `the bytes before ${first} are no longer kept`,
                ),
              );
              return;
            }
            try {
              back = (await this.#blobs!.get(this.digest, { start: sub.pos, end })).getReader();
            } catch (err) {
              controller.error(err);
              return;
            }
            continue;
          }
          // Behind the bytes in memory: read them back from the store, as far as it can give now.
          const writer = this.#readBack;
          if (writer === undefined) {
            controller.error(
              sub.dropped
                ? new TugError(
                  "TIMEOUT",
                  `Cannot stream blob ${this.digest} from byte ${sub.pos}: the client read nothing for ` +
                    `${this.#stallTimeout} ms while the others waited, and the store did not take the blob`,
                )
                : new TugError(
                  "STORE_IO",
                  `Cannot stream blob ${this.digest} from byte ${sub.pos}: ${
                    this.#lost ? "the store failed while it was filled" : "the store did not take it"
                  } and the bytes before ${first} are no longer kept`,
                ),
            );
            return;
          }
          const block = Math.floor(sub.pos / READ_BACK_BLOCK);
          const blockEnd = (block + 1) * READ_BACK_BLOCK;
          try {
            if (blockEnd <= Math.min(limit, writer.readable!)) {
              // A whole block: read once and shared by the clients behind the window, which usually
              // move together, so they do not each allocate (and leave to the GC) a copy of the blob.
              const bytes = await this.#readBlock(writer, block);
              if (this.#failed()) continue;
              const value = bytes.subarray(
                sub.pos - block * READ_BACK_BLOCK,
                Math.min(end, blockEnd) - block * READ_BACK_BLOCK,
              );
              if (this.#release) {
                lent = bytes.buffer;
                this.#lend(lent);
              }
              sub.pos += value.byteLength;
              controller.enqueue(value);
              return;
            }
            back = writer.readWritten!(sub.pos, Math.min(limit, writer.readable!)).getReader();
          } catch (err) {
            if (this.#failed()) continue;
            controller.error(err);
            return;
          }
          continue;
        }
        if (this.#state === "complete") {
          // The blob is shorter than the range asked for (clamped by the caller; defensive).
          controller.close();
          return;
        }
        await new Promise<void>((resolve) => this.#wake.push(resolve));
      }
    };
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        unlend();
        sub.pulling = true;
        try {
          await next(controller);
        } finally {
          sub.pulling = false;
          sub.active = this.#clock.now();
          if (sub.pos >= sub.end) this.#subscribers.delete(sub);
        }
      },
      cancel: () => {
        unlend();
        dropBack();
        this.#subscribers.delete(sub);
      },
    }, { highWaterMark: 0 });
  }

  #chunkAt(pos: number): number {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
