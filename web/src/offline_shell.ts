/// <reference lib="dom" />
/**
 * Registers the page's service worker (web/src/service_worker.ts, built as `sw.js` beside index.html), which
 * lets the page open offline.
 *
 * @module
 */

/**
 * Registers `sw.js` from the page's folder. Browsers offer service workers in secure contexts only (https,
 * localhost); elsewhere the page works as before, without opening offline.
 *
 * @example
 * ```ts ignore
 * import { registerOfflineShell } from "./offline_shell.ts";
 *
 * registerOfflineShell();
 * ```
 */
export function registerOfflineShell(): void {
  const container = globalThis.navigator?.serviceWorker;
  if (container === undefined) return;
  container.register(new URL("sw.js", document.baseURI)).catch((err) => {
    // Without the worker the page still works online; say why it will not open offline.
    console.warn(`tug: the page will not open offline: ${err instanceof Error ? err.message : err}`);
  });
}
