// This module is browser compatible.
/**
 * The IndexedDB store for browsers: {@linkcode IdbStore} keeps pulled blobs and references across page
 * reloads, in 1 MiB chunks, with an optional least-recently-used size cap.
 *
 * @example Open the page's cache
 * ```ts
 * import { IdbStore } from "./mod.ts";
 *
 * const store = new IdbStore({ name: "tug-page", maxBytes: 1024 * 1024 * 1024 });
 * console.assert(store.name === "tug-page");
 * ```
 *
 * @module
 */

export * from "./idb_store.ts";
