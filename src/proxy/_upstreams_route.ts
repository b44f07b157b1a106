// This module is browser compatible.
/**
 * `GET /upstreams`: which registries this proxy serves, so a page or a script can say what a short name
 * means here (`small:latest` goes to the default upstream, Docker's rule turned into the proxy's) and
 * offer examples that work. Only names and host names leave the proxy: never a URL's scheme, user info,
 * path or the operator's credentials. Private to the proxy.
 *
 * @module
 */

import { Hono } from "npm:hono@^4.13.19";
import type { ProxyContext } from "./_context.ts";
import type { Upstream } from "./_upstream.ts";
import type { UpstreamInfo, UpstreamsInfo } from "./upstreams_info.ts";

export type { UpstreamInfo, UpstreamsInfo };

function describe(u: Upstream): UpstreamInfo {
  // Built field by field from what is public: `u.url` may carry user info and `u.credentials` is secret.
  return { name: u.name, host: u.host, registry: u.refHost, library: u.library };
}

/** What `GET /upstreams` answers for `ctx`. */
export function upstreamsInfo(ctx: ProxyContext): UpstreamsInfo {
  return { default: ctx.defaultUpstream.name, upstreams: [...ctx.upstreams.values()].map(describe) };
}

/** The upstreams endpoint, to mount at `/upstreams`. */
export function upstreamsRoutes(ctx: ProxyContext): Hono {
  const body = JSON.stringify(upstreamsInfo(ctx));
  return new Hono().get("/", () =>
    new Response(body, {
      headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-cache" },
    }));
}
