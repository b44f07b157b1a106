// This module is browser compatible.
/**
 * A cached blob can vanish at any moment: another replica's eviction pass, a bucket lifecycle rule, an
 * operator, `tug prune`. A store's `get()` then throws NOT_FOUND for a blob its `stat()` found a moment
 * before. A cached copy can also read back damaged: a reference object read while another replica
 * overwrites it, on a service whose overwrite is not atomic (s3rver), is cut JSON (STORE_CORRUPT). The proxy
 * treats both as a miss (fetched from the upstream with the caller's credentials, after the same access
 * decision, and verified), never as an error for the client.
 * Private to the proxy.
 *
 * @module
 */

import { TugError } from "../errors.ts";

/** Whether `err` is a store's NOT_FOUND or STORE_CORRUPT: what it had is gone, or cannot be used. */
export function vanished(err: unknown): boolean {
  return err instanceof TugError && (err.code === "NOT_FOUND" || err.code === "STORE_CORRUPT");
}

/**
 * Answers from the cache with `serve` (which opens the store's stream before it resolves); undefined when
 * the store lost the blob since it was found, so the caller goes on as on a miss. Other errors pass.
 */
export async function fromCache(serve: () => Promise<Response>): Promise<Response | undefined> {
  try {
    return await serve();
  } catch (err) {
    if (vanished(err)) return undefined;
    throw err;
  }
}
