// This module is browser compatible.
/**
 * tug: pull container images anywhere JavaScript runs.
 *
 * The core is fetch- and stream-only: it runs unchanged in Deno, Node, browsers and edge workers.
 * Runtime abilities (a fast hasher, a store on disk) come from `adapters/`.
 *
 * This root holds what a script needs: pull images, inspect a remote image, read a layer's files, run a
 * proxy. The building blocks have their own entry points, the way each Deno std package exports per file:
 * `@tug/tug/reference`, `/digest`, `/manifest`, `/registry`, `/store`, `/pull`, `/layer`, `/proxy`, and
 * `/store/testing` for the store contract.
 *
 * @example Normalize an image reference the way `docker pull` does
 * ```ts
 * import { parseReference } from "./mod.ts";
 *
 * const ref = parseReference("alpine:3.20");
 * console.assert(ref.toString() === "docker.io/library/alpine:3.20");
 * console.assert(ref.familiar === "alpine:3.20");
 * ```
 *
 * @example Pull an image into memory (needs a reachable registry, so only type-checked)
 * ```ts ignore
 * import { MemoryStore, pull } from "./mod.ts";
 *
 * const store = new MemoryStore();
 * const result = await pull("alpine:3.20", { store, platform: "linux/arm64" });
 * console.log(result.digest, result.status);
 * ```
 *
 * @module
 */

export { isTugError, TugError, type TugErrorCode, type TugErrorOptions } from "./errors.ts";
export {
  parseReference,
  type ParseReferenceOptions,
  type Reference,
  withDefaultTag,
  withDigest,
  withTag,
} from "./reference/mod.ts";
export { digestBytes, type Hasher, type HasherFactory, wasmHasher } from "./digest/mod.ts";
export {
  type Descriptor,
  formatPlatform,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  parsePlatform,
  type Platform,
} from "./manifest/mod.ts";
export type { CredentialProvider, Credentials } from "./registry/mod.ts";
export { MemoryStore, type MemoryStoreOptions, type Store } from "./store/mod.ts";
export {
  inspectRemote,
  type InspectRemoteOptions,
  type ProgressEvent,
  type ProgressHandler,
  pull,
  pullAllTags,
  type PullAllTagsOptions,
  type PullAllTagsResult,
  type PulledImage,
  type PullOptions,
  type PullResult,
  type RemoteImage,
} from "./pull/mod.ts";
export {
  decompressLayer,
  type DecompressLayerOptions,
  listLayerFiles,
  type ListLayerFilesOptions,
  type TarHeader,
} from "./image/mod.ts";
export { createProxy, type ProxyApp, type ProxyOptions } from "./proxy/mod.ts";
