// This module is browser compatible.
/**
 * The one timer wait of the retry loops (the transport's and the layer downloads').
 *
 * @module
 */

/**
 * Waits `ms` on a timer; ends early, without throwing, when `signal` fires (the caller then sees the
 * abort where it next looks at the signal).
 *
 * @example
 * ```ts
 * import { sleep } from "./sleep.ts";
 * const controller = new AbortController();
 * controller.abort();
 * await sleep(60_000, controller.signal); // returns at once
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
