// This module is browser compatible.
/**
 * A deadline for an upstream's answer. Private to the proxy.
 *
 * @module
 */

import { TugError } from "../errors.ts";

/**
 * Sends an upstream request whose answer (status and headers, a token exchange included) must come within
 * `ms` milliseconds (0: no deadline), else rejects with `TugError` `TIMEOUT`. The signal given to `send`
 * aborts the request; the race makes the deadline hold even for a step that does not watch the signal,
 * and an answer that comes after it goes to `discard` (to cancel its body). The body's own idle time is
 * not covered: the fill's idle timer watches it.
 */
export async function answerWithin<T>(
  ms: number,
  what: string,
  send: (signal?: AbortSignal) => Promise<T>,
  discard: (late: T) => void,
): Promise<T> {
  if (ms === 0) return await send();
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new TugError("TIMEOUT", `${what}: the upstream did not answer within ${ms} ms`);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  const sent = send(controller.signal);
  try {
    return await Promise.race([sent, deadline]);
  } catch (err) {
    if (controller.signal.aborted) {
      sent.then(discard, () => {});
      throw controller.signal.reason;
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
