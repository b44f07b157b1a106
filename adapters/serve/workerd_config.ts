/**
 * Writes the capnp configuration that starts the proxy worker in workerd.
 *
 * @module
 */

/** Options for {@linkcode workerdConfig}. */
export interface WorkerdConfigOptions {
  /** Path of the bundled worker module, relative to the config file. */
  worker: string;
  /** `host:port` to listen on, e.g. `127.0.0.1:8787`. */
  address: string;
  /** Text bindings (`UPSTREAMS`, `DEFAULT_UPSTREAM`, `TAG_TTL`, `CACHE_MAX_BYTES`, `ALLOW_ORIGINS`, `PUBLIC_URL`). */
  bindings: Record<string, string>;
  /**
   * Address classes outbound fetches may reach (workerd's network service `allow`): default `["public"]`.
   * A proxy in front of a registry on this machine or a private network needs `"private"`/`"local"` too.
   */
  allow?: readonly string[];
  /** workerd's compatibility date (default `2025-01-01`). */
  compatibilityDate?: string;
}

const quote = (text: string) => JSON.stringify(text);

/**
 * The capnp text of a workerd config: one worker (ES module, `nodejs_compat`) behind an HTTP socket, its
 * outbound fetches through a network service limited to `allow`.
 *
 * @example
 * ```ts
 * import { workerdConfig } from "./workerd_config.ts";
 *
 * const capnp = workerdConfig({
 *   worker: "worker.js",
 *   address: "127.0.0.1:8787",
 *   bindings: { UPSTREAMS: '{"hub":"https://registry-1.docker.io"}' },
 * });
 * console.assert(capnp.includes('address = "127.0.0.1:8787"'));
 * ```
 */
export function workerdConfig(options: WorkerdConfigOptions): string {
  const bindings = Object.entries(options.bindings)
    .map(([name, text]) => `    (name = ${quote(name)}, text = ${quote(text)}),`)
    .join("\n");
  const allow = (options.allow ?? ["public"]).map(quote).join(", ");
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "proxy", worker = .proxyWorker),
    (name = "outbound", network = (allow = [${allow}], tlsOptions = (trustBrowserCas = true))),
  ],
  sockets = [
    (name = "http", address = ${quote(options.address)}, http = (), service = "proxy"),
  ],
);

const proxyWorker :Workerd.Worker = (
  modules = [
    (name = "worker", esModule = embed ${quote(options.worker)}),
  ],
  compatibilityDate = ${quote(options.compatibilityDate ?? "2025-01-01")},
  compatibilityFlags = ["nodejs_compat"],
  bindings = [
${bindings}
  ],
  globalOutbound = "outbound",
);
`;
}
