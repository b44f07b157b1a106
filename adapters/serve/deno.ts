/**
 * The proxy on Deno: `Deno.serve` with the app's `fetch`.
 *
 * @module
 */

import type { FetchApp, ListenOptions, RunningServer } from "./types.ts";
import { atListener } from "./_listener_origin.ts";

/**
 * Serves `app` with `Deno.serve` and resolves once it listens.
 *
 * @example Serve a proxy on a free port (not run here: it listens)
 * ```ts ignore
 * import { serveDeno } from "./deno.ts";
 * import { createProxy } from "../../src/proxy/create_proxy.ts";
 * import { MemoryStore } from "../../src/store/memory_store.ts";
 *
 * const server = await serveDeno(createProxy({ store: new MemoryStore() }), { port: 0 });
 * console.log(server.url);
 * await server.shutdown();
 * ```
 */
export function serveDeno(app: FetchApp, options: ListenOptions = {}): Promise<RunningServer> {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno === undefined) return Promise.reject(new TypeError("serveDeno() needs the Deno runtime"));
  return new Promise((resolve, reject) => {
    // Requests reach the app addressed to the listener, whatever their Host header says (see atListener).
    let origin = "";
    try {
      const server = deno.serve({
        hostname: options.hostname ?? "127.0.0.1",
        port: options.port ?? 5000,
        onListen: ({ hostname, port }) => {
          const host = hostname.includes(":") ? `[${hostname}]` : hostname;
          origin = `http://${host}:${port}`;
          resolve({ url: origin, port, shutdown: () => server.shutdown() });
        },
      }, (request) => app.fetch(atListener(request, origin)));
    } catch (err) {
      reject(err);
    }
  });
}
