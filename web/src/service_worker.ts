/// <reference lib="dom" />
/**
 * The page's service worker (`sw.js`, built by web/build.ts): it keeps the page's shell (index.html and the
 * content-hashed scripts and style of one build) in the Cache API, so the page opens when the server cannot
 * be reached; the page then reads images it saw before from IndexedDB. It answers nothing else: registry
 * and proxy requests (`/v2/…`, `/token`, `/upstreams`) always go to the network and are never stored.
 *
 * The build writes the shell's file names and a version (a hash of the shell's contents) into the script,
 * so a new deploy is a new `sw.js`: the browser installs it on the next visit, it caches the new shell, and
 * on activation deletes the caches of older builds.
 *
 * @module
 */

/** The shell's files, relative to the worker (`./` is the page itself); set by the build. */
declare const __TUG_SHELL__: string[];
/** A hash of the shell's contents; set by the build. */
declare const __TUG_SHELL_VERSION__: string;

// The worker scope's types (the "webworker" lib) clash with "dom", which the rest of web/ is checked with.
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(response: Promise<Response> | Response): void;
}
interface WorkerScope {
  readonly location: Location;
  readonly clients: { claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  addEventListener(type: "install" | "activate", listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: "fetch", listener: (event: FetchEvent) => void): void;
}

/** Names of the Cache API caches this worker owns; one per build. */
const PREFIX = "tug-shell-";
const worker = self as unknown as WorkerScope;
const cacheName = `${PREFIX}${__TUG_SHELL_VERSION__}`;
const shell = __TUG_SHELL__.map((path) => new URL(path, worker.location.href).href);
const page = new URL("./", worker.location.href);

worker.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(cacheName);
    // Past the HTTP cache: index.html is revalidated anyway, and the rest is named by its content.
    await cache.addAll(shell.map((url) => new Request(url, { cache: "no-cache" })));
    // The old shell is not kept for open tabs: their hashed files stay fetchable from the server.
    await worker.skipWaiting();
  })());
});

worker.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== cacheName) await caches.delete(name);
    }
    await worker.clients.claim();
  })());
});

worker.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== page.origin) return;
  if (request.mode === "navigate") {
    // The page itself (any query: `?image=…`): from the network while it answers, so a deploy shows at once;
    // the cached copy only when the server cannot be reached.
    if (url.pathname !== page.pathname && url.pathname !== `${page.pathname}index.html`) return;
    event.respondWith(
      fetch(request).catch(async (err) => {
        const cached = await (await caches.open(cacheName)).match(page.href);
        if (cached === undefined) throw err;
        return cached;
      }),
    );
    return;
  }
  // The build's hashed files never change: from the cache. Anything else is not the worker's.
  if (!shell.includes(url.href)) return;
  event.respondWith((async () => (await (await caches.open(cacheName)).match(url.href)) ?? fetch(request))());
});
