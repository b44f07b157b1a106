// This module is browser compatible.
/**
 * Writes of small, already-hashed blobs (configs and manifests), shared by the v2, schema 1 and v1 pullers.
 *
 * @module
 */

import type { Descriptor } from "../manifest/types.ts";
import type { Store } from "../store/types.ts";

/** Writes `bytes` as `descriptor`'s blob in one write and commits; a failed write is aborted. */
export async function writeSmallBlob(store: Store, descriptor: Descriptor, bytes: Uint8Array): Promise<void> {
  const writer = await store.blobs.writer({ digest: descriptor.digest, size: bytes.length });
  try {
    await writer.write(bytes);
    await writer.commit();
  } catch (err) {
    await writer.abort().catch(() => {});
    throw err;
  }
}

/** Writes small, already-hashed bytes (a config or a manifest) unless the store has them; true when written. */
export async function putSmallBlob(
  store: Store,
  descriptor: Descriptor,
  bytes: Uint8Array,
): Promise<boolean> {
  if ((await store.blobs.stat(descriptor.digest))?.size === bytes.length) return false;
  await writeSmallBlob(store, descriptor, bytes);
  return true;
}
