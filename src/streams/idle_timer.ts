// This module is browser compatible.
/**
 * Idle timers for bodies read from the network: a stalled server must not hold a download (and whoever
 * waits on it) forever. Used by the pull's download manager and by the proxy's fills and relayed ranges.
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
 * `source` as a stream that errors (and cancels `source`) when a read of it waits more than `ms`
 * milliseconds (0: never): a relayed upstream body that stalls breaks instead of hanging its client. Only
 * the wait for the upstream counts: a client that reads slowly (no read pending) never trips it.
 * `idleError` makes the error (default: a TypeError naming `what` and the wait).
 */
export function withIdleLimit(
  source: ReadableStream<Uint8Array>,
  ms: number,
  what: string,
  idleError: () => Error = () => new TypeError(`${what}: the upstream sent nothing for ${ms} ms`),
): ReadableStream<Uint8Array> {
  if (ms === 0) return source;
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(idleError()),
          ms,
        );
      });
      try {
        const { done, value } = await Promise.race([reader.read(), idle]);
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        reader.cancel(err).catch(() => {});
        controller.error(err);
      } finally {
        clearTimeout(timer);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}
