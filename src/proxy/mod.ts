// This module is browser compatible.
/**
 * The pull-through registry proxy: {@linkcode createProxy} builds a Hono app (`Request → Response`) with its
 * store and outbound fetch injected; the runtime entry points live in `adapters/serve/`.
 *
 * @example A proxy in front of Docker Hub, cached in memory
 * ```ts
 * import { createProxy, lruStore } from "./mod.ts";
 * import { MemoryStore } from "../store/memory_store.ts";
 *
 * const app = createProxy({ store: lruStore(new MemoryStore(), { maxBytes: 1 << 30 }) });
 * const res = await app.fetch(new Request("http://proxy.test/healthz"));
 * console.assert(res.status === 200);
 * await res.body?.cancel();
 * ```
 *
 * @module
 */

export * from "./create_proxy.ts";
export * from "./lru_store.ts";

// The types this entry's signatures name (and the types those name), so that its documentation is complete
// on its own (`deno doc --lint` of this entry alone); each is documented with its own module too.
export type { DigestAlgorithm, Hasher, HasherFactory } from "../digest/hasher.ts";
export type { Descriptor, Platform } from "../manifest/types.ts";
export type { RetryInfo, RetryPolicy } from "../registry/retry_policy.ts";
export type { Credentials, FetchLike } from "../registry/types.ts";
export type {
  BlobInfo,
  BlobLeaseOutcome,
  BlobLeaseRecord,
  BlobLeases,
  BlobStore,
  BlobWriter,
  DiffIdStore,
  HeldBlobLease,
  ReferenceRecord,
  ReferenceStore,
  Store,
  StoreCapabilities,
} from "../store/types.ts";
