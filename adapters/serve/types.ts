/**
 * What every runtime entry point of the proxy takes and returns.
 *
 * @module
 */

/** Anything with a web-standard `fetch` handler (a Hono app). */
export interface FetchApp {
  fetch(request: Request): Response | Promise<Response>;
}

/** Where to listen. */
export interface ListenOptions {
  /** The address to bind (default `127.0.0.1`). */
  hostname?: string;
  /** The port (default 5000; 0 picks a free one). */
  port?: number;
}

/**
 * A running server.
 *
 * @example
 * ```ts
 * import type { RunningServer } from "./types.ts";
 *
 * const describe = (s: RunningServer) => `listening on ${s.url}`;
 * console.assert(describe({ url: "http://127.0.0.1:5000", port: 5000, shutdown: () => Promise.resolve() })
 *   .endsWith(":5000"));
 * ```
 */
export interface RunningServer {
  /** `http://host:port`. */
  readonly url: string;
  /** The port bound. */
  readonly port: number;
  /** Stops accepting connections and waits for the open ones to finish. */
  shutdown(): Promise<void>;
}
