/**
 * One registry with the four standard images, shared by every test file of a `deno test` run (all files run
 * in one process). Started on first use, stopped when the process exits.
 *
 * Sanitizers: the registry runs detached (see `registry.ts`), seeding consumes every response body, and
 * nothing stays pending between tests, so tests that use the shared registry keep Deno's resource and op
 * sanitizers ON. The first caller pays for the start and the seeding (about 2 s, mostly the 64 MiB layer).
 * Tests must not stop the shared registry nor push into the `tug/*` repositories it seeded; push custom
 * images into other repositories (any name outside `tug/`), or start a registry of their own.
 *
 * @module
 */

import { type RegistryProcess, startRegistry } from "./registry.ts";
import { type SeededImages, seedImages } from "./seed.ts";

/** The shared registry and what was seeded into it. */
export interface SharedRegistry {
  /** The running registry (do not stop it). */
  registry: RegistryProcess;
  /** What was seeded into it. */
  images: SeededImages;
}

let shared: Promise<SharedRegistry> | undefined;

/**
 * Returns the process-wide registry seeded with `small`, `multi`, `large` and `zstd`, starting it on the
 * first call. A failed start is not cached: the next call tries again.
 *
 * @example
 * ```ts ignore
 * Deno.test("pull() fetches the small image", async () => {
 *   const { registry, images } = await sharedRegistry();
 *   const res = await fetch(`${registry.url}/v2/${images.small.repository}/manifests/${images.small.tag}`, {
 *     headers: { Accept: images.small.manifestMediaType },
 *   });
 *   await res.body?.cancel();
 * });
 * ```
 */
export function sharedRegistry(): Promise<SharedRegistry> {
  if (shared) return shared;
  const starting = (async () => {
    // Killed at exit by the unload listener registry.ts installs (synchronous, by PID).
    const registry = await startRegistry();
    try {
      return { registry, images: await seedImages(registry) };
    } catch (error) {
      await registry.stop();
      throw error;
    }
  })();
  shared = starting;
  starting.catch(() => {
    if (shared === starting) shared = undefined;
  });
  return starting;
}
