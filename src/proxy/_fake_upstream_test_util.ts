// This module is browser compatible.
/**
 * The proxy's view of the shared in-memory registry (`../registry/_fake_registry_test_util.ts`, a
 * FetchLike also used by the puller's unit tests): the upstream under its proxy-side names, and a
 * context in front of it. The integration tests in test/ use a real docker-registry. Test-only.
 *
 * @module
 */

import {
  type FakeRegistry,
  fakeRegistry,
  type FakeRegistryOptions,
} from "../registry/_fake_registry_test_util.ts";
import type { FakeImage } from "../registry/_fake_registry_test_util.ts";
import { createContext, type ProxyContext, type ProxyOptions } from "./_context.ts";
import { MemoryStore } from "../store/memory_store.ts";

export { type FakeImage, fakeImage } from "../registry/_fake_registry_test_util.ts";

/** The fake registry: its FetchLike and what it was asked. */
export type FakeUpstream = FakeRegistry;

/**
 * A registry holding `repos` (repository → image, tagged `latest` and `v1`). Repositories in `private` need
 * Basic credentials `user:secret` (a 401 with a Basic challenge otherwise).
 */
export function fakeUpstream(
  repos: Record<string, FakeImage>,
  options: Pick<FakeRegistryOptions, "private" | "tags"> = {},
): FakeUpstream {
  return fakeRegistry(repos, options);
}

/** A context in front of `upstream` as the upstream `hub` (`https://hub.test`), in memory, no retries. */
export function fakeContext(upstream: FakeUpstream, options: Partial<ProxyOptions> = {}): ProxyContext {
  return createContext({
    store: new MemoryStore(),
    upstreams: { hub: "https://hub.test" },
    fetch: upstream.fetch,
    retry: { attempts: 1 },
    ...options,
  });
}
