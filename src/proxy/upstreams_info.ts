// This module is browser compatible.
/**
 * The body of the proxy's `GET /upstreams`: the registries a proxy serves, for the web page (which sends a
 * name without a host to the default upstream). One definition for the route and the page.
 *
 * @module
 */

/** One upstream as `GET /upstreams` describes it. */
export interface UpstreamInfo {
  /** The name it was configured under: `/v2/<name>/<repo>/…` reaches it. */
  readonly name: string;
  /** `host[:port]` the proxy connects to; `?ns=<host>` and `/v2/<host>/<repo>/…` reach it too. */
  readonly host: string;
  /** The registry part of its canonical references (`docker.io` for Docker Hub, else `host`). */
  readonly registry: string;
  /** Whether single-component names get `library/` (Docker Hub's official images). */
  readonly library: boolean;
}

/** The body of `GET /upstreams`. */
export interface UpstreamsInfo {
  /** The name of the upstream that serves names without a host. */
  readonly default: string;
  /** Every configured upstream, in configuration order. */
  readonly upstreams: readonly UpstreamInfo[];
}
