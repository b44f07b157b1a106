import type { RendererOutput } from "./types.ts";

/**
 * One place that writes text to either kind of output. Write failures are kept, not thrown, because
 * frames are also written from timers where a throw would be uncaught; `flush()` reports the first one.
 */
export class Sink {
  #fn: ((text: string) => void) | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #encoder = new TextEncoder();
  #last: Promise<void> = Promise.resolve();
  #failed = false;
  #error: unknown;

  constructor(output: RendererOutput) {
    if (typeof output === "function") this.#fn = output;
    else if (output && typeof (output as { write?: unknown }).write === "function") this.#writer = output;
    else {throw new TypeError(
        "Cannot create a progress renderer: write must be a function or a stream writer",
      );}
  }

  write(text: string): void {
    if (this.#failed || text === "") return;
    if (this.#fn) {
      try {
        this.#fn(text);
      } catch (err) {
        this.#fail(err);
      }
      return;
    }
    // Writes to one writer settle in order, so waiting on the last one waits on them all.
    this.#last = this.#writer!.write(this.#encoder.encode(text)).catch((err) => this.#fail(err));
  }

  async flush(): Promise<void> {
    await this.#last;
    if (this.#failed) throw this.#error;
  }

  #fail(err: unknown): void {
    if (!this.#failed) {
      this.#failed = true;
      this.#error = err;
    }
  }
}
