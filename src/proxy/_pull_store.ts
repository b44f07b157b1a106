// This module is browser compatible.
/**
 * The store view the proxy's own pulls (`POST /images/create`) write through. Private to the proxy.
 *
 * @module
 */

import type { Store } from "../store/types.ts";

/**
 * `store` whose blob writes never resume an earlier partial write. A partial is unverified bytes from
 * whoever wrote it (another upstream's pull, or a fill of a process that died), and the proxy keeps
 * unverified state per upstream: a pull from one upstream must not build on bytes another one sent.
 * Committed blobs are verified, so reads and `stat` go to the store unchanged.
 */
export function withoutResume(store: Store): Store {
  const blobs = store.blobs;
  return {
    references: store.references,
    blobs: {
      stat: (digest) => blobs.stat(digest),
      get: (digest, range) => blobs.get(digest, range),
      // The `resume` option is dropped: every write starts at byte 0.
      writer: (expected) => blobs.writer(expected),
      delete: (digest) => blobs.delete(digest),
      list: () => blobs.list(),
    },
  };
}
