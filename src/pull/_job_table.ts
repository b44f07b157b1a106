// This module is browser compatible.
/**
 * The download manager's job table: one running job per key (store and digest), however many callers
 * want it. Each caller gets the job's outcome and, while it waits, its progress events; a caller that
 * cancels leaves at once, and the job itself is stopped only when its last caller left (Docker's
 * xfer.transferManager: a transfer is released when no watcher remains). Private to src/pull/.
 *
 * @module
 */

import type { ProgressEvent, ProgressHandler } from "./events.ts";
import { abortError } from "./_abort_error.ts";

interface Job<T> {
  readonly promise: Promise<T>;
  readonly controller: AbortController;
  waiters: number;
  readonly listeners: Set<ProgressHandler>;
}

/** Starts a job: it runs until `signal` aborts, and reports to the callers waiting through `emit`. */
export type StartJob<T> = (signal: AbortSignal, emit: (event: ProgressEvent) => void) => Promise<T>;

/** One running job per key, shared by its callers. */
export class JobTable<T> {
  readonly #jobs = new Map<string, Job<T>>();

  /** How many jobs are running. */
  get size(): number {
    return this.#jobs.size;
  }

  /**
   * Joins the job for `key`, starting it with `start` when none runs. Resolves or rejects with the job;
   * rejects at once with the signal's reason when `options.signal` aborts first.
   */
  join(
    key: string,
    start: StartJob<T>,
    options: { signal?: AbortSignal | undefined; onProgress?: ProgressHandler | undefined } = {},
  ): Promise<T> {
    let job = this.#jobs.get(key);
    if (!job) {
      const controller = new AbortController();
      const listeners = new Set<ProgressHandler>();
      const emit = (event: ProgressEvent) => {
        for (const listener of listeners) listener(event);
      };
      const created: Job<T> = {
        controller,
        listeners,
        waiters: 0,
        promise: start(controller.signal, emit).finally(() => {
          this.#jobs.delete(key);
        }),
      };
      this.#jobs.set(key, created);
      job = created;
    }
    return attach(job, options);
  }
}

function attach<T>(
  job: Job<T>,
  options: { signal?: AbortSignal | undefined; onProgress?: ProgressHandler | undefined },
): Promise<T> {
  const { signal, onProgress: listener } = options;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  job.waiters++;
  if (listener) job.listeners.add(listener);
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = () => {
      if (done) return false;
      done = true;
      job.waiters--;
      if (listener) job.listeners.delete(listener);
      signal?.removeEventListener("abort", onAbort);
      return true;
    };
    const onAbort = () => {
      if (!finish()) return;
      // The last caller gone: stop the job itself.
      if (job.waiters === 0) job.controller.abort(signal!.reason);
      reject(abortError(signal!));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    job.promise.then(
      (outcome) => finish() && resolve(outcome),
      (err) => finish() && reject(err),
    );
  });
}
