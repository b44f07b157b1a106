// This module is browser compatible.
/** A counting semaphore with FIFO waiters and abortable waits. */
export class Semaphore {
  #free: number;
  readonly #waiters: Array<() => void> = [];

  constructor(count: number) {
    this.#free = count;
  }

  /** Takes a slot if one is free right now. */
  tryAcquire(): boolean {
    if (this.#free > 0) {
      this.#free--;
      return true;
    }
    return false;
  }

  /** Waits for a slot; resolves to its release function. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const release = () => this.release();
    if (this.tryAcquire()) return Promise.resolve(release);
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve(release);
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(grant);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal!.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(grant);
    });
  }

  /**
   * Takes a place in line now, in call order, and waits for it later: `granted` says whether a slot
   * was free at once; `ready` resolves to the release function; `cancel()` leaves the line (or gives
   * the slot back when it was already granted). Callers that must learn something asynchronous
   * before they know whether they need a slot keep their turn this way.
   */
  enqueue(signal?: AbortSignal): { granted: boolean; ready: Promise<() => void>; cancel(): void } {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.release();
    };
    if (this.tryAcquire()) return { granted: true, ready: Promise.resolve(release), cancel: release };
    let grant!: () => void;
    let granted = false;
    const ready = new Promise<() => void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.#waiters.indexOf(grant);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal!.reason);
      };
      grant = () => {
        granted = true;
        signal?.removeEventListener("abort", onAbort);
        resolve(release);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(grant);
    });
    // A cancelled or aborted place must not leave an unhandled rejection behind.
    ready.catch(() => {});
    const cancel = () => {
      if (granted) return release();
      const i = this.#waiters.indexOf(grant);
      if (i >= 0) this.#waiters.splice(i, 1);
    };
    return { granted: false, ready, cancel };
  }

  /** Gives a slot back, handing it to the first waiter. */
  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#free++;
  }
}
