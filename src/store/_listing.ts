// This module is browser compatible.
/**
 * Listings of a bucket as the object stores use them: a key a listing names is used (read, deleted,
 * aborted) only when it is under the prefix that was asked for and is a plain key (docs/security.md,
 * rule 8). A listing comes from the bucket's service, or whatever answers for it: a key outside the prefix
 * (another tenant's folder, `refs/` when `leases/` was asked) fails the listing, which is not telling the
 * truth; a key under it with an empty, `.` or `..` segment (an HTTP client normalizes dot segments away:
 * `leases/../refs/x` would name `refs/x`) is no key the store writes, and is passed over, never acted on.
 * Private to src/store.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import type { ObjectBucket } from "./object_store.ts";

/**
 * Throws unless `key` is under `prefix`; returns whether it is a plain key there (no empty, `.` or `..`
 * segment past the prefix), one the store may act on.
 */
export function checkListedKey(key: unknown, prefix: string): key is string {
  if (typeof key !== "string" || !key.startsWith(prefix)) {
    throw new TugError(
      "STORE_IO",
      `The bucket listed ${JSON.stringify(key)} for the prefix ${JSON.stringify(prefix)}: not under it, ` +
        `so the listing is not used`,
    );
  }
  const rest = key.slice(prefix.length);
  return rest !== "" && !rest.split("/").some((s) => s === "" || s === "." || s === "..");
}

/** `bucket.list(prefix)`: only plain keys under `prefix`; a key outside it fails (see checkListedKey). */
export async function* listUnder(
  bucket: Pick<ObjectBucket, "list">,
  prefix: string,
): AsyncIterable<{ key: string; size: number; lastModified?: number }> {
  for await (const item of bucket.list(prefix)) {
    if (checkListedKey(item.key, prefix)) yield item;
  }
}
