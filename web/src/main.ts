/// <reference lib="dom" />
/**
 * The page's entry point: wires the reference box, the registry choice and the cache controls, then
 * starts the app.
 *
 * @module
 */

import { IdbStore } from "../../adapters/idb/mod.ts";
import { formatBytes } from "./format.ts";
import { type App, startApp } from "./app.ts";
import { ImageSource } from "./image_source.ts";
import { explainError } from "./explain_error.ts";
import { h, replace } from "./dom.ts";
import { registerOfflineShell } from "./offline_shell.ts";
import { ListingCache } from "./listing_cache.ts";
import { gzipIndexes } from "./gzip_index.ts";
import { type GzipIndexer, gzipIndexer } from "./random_access.ts";

/** What the page exposes for scripts and tests (`window.tug`). */
export interface PageHandle {
  /** The running app. */
  readonly app: App;
  /** The page's IndexedDB cache. */
  readonly store: IdbStore;
  /** Builds gzip indexes of cached layers in the background (`idle()` says when it is done). */
  readonly indexer: GzipIndexer;
}

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`The page has no #${id}`);
  return el as T;
}

async function showUsage(store: IdbStore): Promise<void> {
  const out = byId<HTMLElement>("cache-usage");
  try {
    const usage = await store.usage();
    out.textContent = `${usage.blobs} blobs, ${formatBytes(usage.bytes)} kept in this browser`;
  } catch (err) {
    out.textContent = `The cache cannot be read: ${err instanceof Error ? err.message : err}`;
  }
}

function main(): void {
  const app = startApp(byId("app"));
  const store = new IdbStore({ name: "tug-web" });
  const form = byId<HTMLFormElement>("open-form");
  const input = byId<HTMLInputElement>("image-input");
  const mode = byId<HTMLSelectElement>("registry-mode");
  const proxy = byId<HTMLInputElement>("proxy-url");
  const message = byId<HTMLElement>("form-message");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    replace(message);
    if (text === "") {
      app.navigate({ registry: app.state.registry });
      return;
    }
    try {
      ImageSource.parse(text);
    } catch (err) {
      const explained = explainError(err, { image: text, where: "" });
      replace(message, h("span", { role: "alert" }, `${explained.title} ${explained.hint}`));
      return;
    }
    app.navigate({ image: text, registry: app.state.registry });
  });
  const setRegistry = () => {
    const value = mode.value === "direct" ? "direct" : proxy.value.trim();
    const fallback = document.querySelector<HTMLMetaElement>('meta[name="tug-proxy"]')?.content ||
      location.origin;
    const registry = value === "" || value === fallback ? undefined : value;
    const state = app.state;
    app.navigate({ image: state.image, platform: state.platform, view: state.view, registry });
  };
  mode.addEventListener("change", setRegistry);
  proxy.addEventListener("change", setRegistry);
  const settings = byId<HTMLDetailsElement>("settings");
  settings.addEventListener("toggle", () => {
    if (settings.open) void showUsage(store);
  });
  byId<HTMLButtonElement>("clear-cache").addEventListener("click", async () => {
    // The kept listings go too: "Clear cache" forgets everything the page learned about layers.
    await Promise.all([store.clear(), new ListingCache(store.name).clear(), gzipIndexes(store.name).clear()]);
    await showUsage(store);
  });
  (globalThis as { tug?: PageHandle }).tug = { app, store, indexer: gzipIndexer };
  registerOfflineShell();
}

main();
