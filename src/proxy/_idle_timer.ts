// This module is browser compatible.
/**
 * Idle timers for upstream bodies: a stalled upstream must not hold a download (and its clients) forever.
 * Private to the proxy.
 *
 * @module
 */

/**
 * Calls `onIdle` once when {@linkcode IdleTimer.touch} was not called for `ms` milliseconds. One timer is
 * armed at a time and re-armed lazily, so a touch per chunk costs a clock read, not a timer.
 */
export class IdleTimer {
  readonly #ms: number;
  readonly #onIdle: () => void;
  #last = Date.now();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number, onIdle: () => void) {
    this.#ms = ms;
    this.#onIdle = onIdle;
    this.#arm(ms);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      const left = this.#last + this.#ms - Date.now();
      if (left > 0) this.#arm(left);
      else {
        this.#timer = undefined;
        this.#onIdle();
      }
    }, ms);
  }

  /** Something arrived: the idle time starts again. */
  touch(): void {
    this.#last = Date.now();
  }

  /** Disarms the timer for good. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Passes chunks through and errors the stream (which cancels its source) when none arrives for `ms`
 * milliseconds (0: never): a relayed upstream body that stalls breaks instead of hanging its client.
 */
export function idleLimit(ms: number, what: string): TransformStream<Uint8Array, Uint8Array> {
  let timer: IdleTimer | undefined;
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      if (ms > 0) {
        timer = new IdleTimer(
          ms,
          () => controller.error(new TypeError(`${what}: the upstream sent nothing for ${ms} ms`)),
        );
      }
    },
    transform(chunk, controller) {
      timer?.touch();
      controller.enqueue(chunk);
    },
    flush() {
      timer?.stop();
    },
    cancel() {
      timer?.stop();
    },
  });
}
