/**
 * The proxy on Node 20: `@hono/node-server` with the app's `fetch`. The `tug` bundle for Node
 * (`deno task build:node`, esbuild) carries it: `node dist/tug.mjs serve …`.
 *
 * @module
 */

import { serve } from "npm:@hono/node-server@^2.1.8";
import type { AddressInfo } from "node:net";
import type { FetchApp, ListenOptions, RunningServer } from "./types.ts";
import { atListener } from "./_listener_origin.ts";

/**
 * Serves `app` with Node's HTTP server (through `@hono/node-server`) and resolves once it listens.
 *
 * @example Serve a proxy on a free port (not run here: it listens)
 * ```ts ignore
 * import { serveNode } from "./node.ts";
 * import { createProxy } from "../../src/proxy/create_proxy.ts";
 * import { MemoryStore } from "../../src/store/memory_store.ts";
 *
 * const server = await serveNode(createProxy({ store: new MemoryStore() }), { port: 0 });
 * console.log(server.url);
 * await server.shutdown();
 * ```
 */
export function serveNode(app: FetchApp, options: ListenOptions = {}): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    // Requests reach the app addressed to the listener, whatever their Host header says (see atListener).
    let origin = "";
    const server = serve({
      fetch: (request: Request) => app.fetch(atListener(request, origin)),
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 5000,
    }, (info: AddressInfo) => {
      const host = info.address.includes(":") ? `[${info.address}]` : info.address;
      origin = `http://${host}:${info.port}`;
      resolve({
        url: origin,
        port: info.port,
        shutdown: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    server.once("error", reject);
  });
}
