// This module is browser compatible.
/**
 * A pull reader over a byte stream that hands out views into the incoming chunks, so tar bodies pass
 * through without copies; only a header split across chunks is copied (into one reused block).
 *
 * @module
 */

/** Sequential reads of a `ReadableStream<Uint8Array>`, tracking the absolute offset. */
export class ByteSource {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #eof = false;
  #scratch = new Uint8Array(512);
  /** Bytes consumed so far. */
  offset = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Makes bytes available in the current chunk; false at the end of the stream. */
  async #fill(): Promise<boolean> {
    while (this.#pos >= this.#chunk.length) {
      if (this.#eof) return false;
      const r = await this.#reader.read();
      if (r.done) {
        this.#eof = true;
        return false;
      }
      this.#chunk = r.value;
      this.#pos = 0;
    }
    return true;
  }

  /**
   * Reads one 512-byte block: a view into the chunk when it lies in one, else a copy in a reused buffer
   * (valid until the next call). Returns how many bytes were there when the stream ends first (0..511).
   */
  async readBlock(): Promise<Uint8Array | number> {
    if (this.#chunk.length - this.#pos >= 512) {
      const block = this.#chunk.subarray(this.#pos, this.#pos + 512);
      this.#pos += 512;
      this.offset += 512;
      return block;
    }
    let got = 0;
    while (got < 512) {
      if (!(await this.#fill())) return got;
      const n = Math.min(512 - got, this.#chunk.length - this.#pos);
      this.#scratch.set(this.#chunk.subarray(this.#pos, this.#pos + n), got);
      this.#pos += n;
      this.offset += n;
      got += n;
    }
    return this.#scratch;
  }

  /** Up to `max` bytes as a view of the current chunk; undefined at the end of the stream. */
  async read(max: number): Promise<Uint8Array | undefined> {
    if (!(await this.#fill())) return undefined;
    const n = Math.min(max, this.#chunk.length - this.#pos);
    const view = this.#chunk.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    this.offset += n;
    return view;
  }

  /** Skips `n` bytes; returns how many were skipped (fewer only at the end of the stream). */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n) {
      if (!(await this.#fill())) break;
      const step = Math.min(n - skipped, this.#chunk.length - this.#pos);
      this.#pos += step;
      this.offset += step;
      skipped += step;
    }
    return skipped;
  }

  /** Stops reading: cancels the stream (when it was left early) and frees it. */
  async close(reason?: unknown): Promise<void> {
    try {
      if (!this.#eof) await this.#reader.cancel(reason);
    } catch {
      // The stream already failed; nothing more to release.
    }
    this.#reader.releaseLock();
  }
}
