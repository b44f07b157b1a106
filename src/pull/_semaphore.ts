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

  /** Gives a slot back, handing it to the first waiter. */
  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#free++;
  }
}
