// This module is browser compatible.
/**
 * A store double for the class "a cached blob can vanish at any moment" (another replica's eviction pass, a
 * bucket lifecycle rule, an operator, `tug prune`): the blobs named in `vanish` are deleted right after a
 * `stat()` found them, once each, so the next `get()` throws NOT_FOUND as a real store then does.
 * Test-only.
 *
 * @module
 */

import type { BlobStore, Store } from "../store/types.ts";

/** `inner` with blobs that vanish after a stat found them (see the module doc). */
export function vanishingStore(inner: Store): Store & { readonly vanish: Set<string> } {
  const vanish = new Set<string>();
  const blobs: BlobStore = {
    stat: async (digest) => {
      const info = await inner.blobs.stat(digest);
      if (info !== undefined && vanish.delete(digest)) await inner.blobs.delete(digest);
      return info;
    },
    get: (digest, range) => inner.blobs.get(digest, range),
    writer: (expected, options) => inner.blobs.writer(expected, options),
    delete: (digest) => inner.blobs.delete(digest),
    list: () => inner.blobs.list(),
  };
  return {
    blobs,
    references: inner.references,
    ...(inner.capabilities ? { capabilities: inner.capabilities } : {}),
    ...(inner.diffIds ? { diffIds: inner.diffIds } : {}),
    vanish,
  };
}
