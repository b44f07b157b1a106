// This module is browser compatible.
/**
 * tug's pull-through registry proxy: a Hono app (`Request → Response`) with its storage and its outbound
 * fetch injected, so the same app runs on Deno, Node and edge runtimes.
 *
 * The routes live in private modules, composed here with Hono's routing: `_v2.ts` (the registry read
 * API: `_manifests.ts`, `_blobs.ts`, `_tags.ts`, with `_target.ts` and `_caller.ts`), `_token_route.ts`,
 * `_upstreams_route.ts` and `_images_create.ts`; their shared state is one `ProxyContext` (`_context.ts`).
 *
 * @module
 */

import type { ExecutionContext } from "npm:hono@^4.13.19";
import { Hono } from "npm:hono@^4.13.19";
import { cors } from "npm:hono@^4.13.19/cors";
import { createContext, type ProxyOptions } from "./_context.ts";
import { imagesRoutes } from "./_images_create.ts";
import { tokenRoutes } from "./_token_route.ts";
import { upstreamsRoutes } from "./_upstreams_route.ts";
import { routingPath, v2Routes } from "./_v2.ts";

export type { ProxyOptions } from "./_context.ts";
export type { UpstreamConfig } from "./_upstream.ts";

const EXPOSED_HEADERS = [
  "Docker-Content-Digest",
  "WWW-Authenticate",
  "Content-Range",
  "Content-Length",
  "Link",
  "Docker-Distribution-Api-Version",
  "Warning",
];

/** What a runtime hands the app besides the request (Cloudflare Workers' `ExecutionContext`). */
export interface ProxyExecutionContext {
  /** Keeps the isolate alive until `promise` settles (a blob download that outlives its response). */
  waitUntil(promise: Promise<unknown>): void;
  /** Lets the platform fall back to the origin when the app throws. */
  passThroughOnException(): void;
}

/** The proxy app: a web-standard `fetch` handler (the shape of a Hono app or a Workers module). */
export interface ProxyApp {
  /**
   * Answers one request. `env` and `ctx` are what Workers runtimes pass; on Deno and Node leave them out.
   */
  fetch(request: Request, env?: unknown, ctx?: ProxyExecutionContext): Response | Promise<Response>;
}

/**
 * Creates the proxy app. It answers the OCI distribution spec's read API under `/v2/` from its store,
 * filling it from the configured upstreams, plus `/token` (its own token endpoint), `POST /images/create`
 * (Docker Engine's pull, streaming jsonmessage lines), `/upstreams` (the configured upstreams' names and
 * hosts, and the default: JSON, never a credential), `/healthz` and `/metrics` (Prometheus text).
 *
 * Names: `/v2/<name>/…` goes to the default upstream (Docker Hub gets `library/` for single names);
 * `/v2/<upstream-name-or-host>/<repo>/…` and containerd's `?ns=<host>` pick another configured upstream.
 * A name that starts with an unconfigured host is refused before any connection.
 *
 * Caching: manifests by digest and blobs are kept; tags are revalidated with a HEAD upstream after
 * `tagTtl`, and served stale (with a `Warning`) when the upstream is down. A blob missing from the store
 * is fetched upstream once however many clients ask; every client streams from that one download as its
 * bytes arrive, verified in flight and committed only when its digest matched.
 *
 * Verification: no client receives a complete blob that failed its digest check. A download is shared
 * only by clients of the same upstream, holds its last chunk back until verified, errors (never ends
 * cleanly) when the check fails, and is aborted when the upstream sends nothing for `readTimeout`. A
 * Range far into an uncached blob is forwarded and relayed only as the 206 of exactly that range; an
 * upstream that answers it with the whole blob (200) has it filled and verified like any other.
 *
 * Privacy: content is served from the cache only after the upstream confirmed that this client's
 * credentials (or anonymous access) may read the repository and that the content belongs to it.
 *
 * Redirects (`redirect`, off by default): over a store with blob URLs (`s3Store`), a GET of a cached blob
 * that passed that check is answered with a 307 to a presigned URL of its object, valid 20 minutes, so
 * the client fetches the bytes from the bucket (distribution's storage redirect). HEAD, manifests and
 * blobs still filling are answered by the proxy.
 *
 * All state (fills, grants, counters, tokens) lives in the returned app, never in module scope.
 *
 * @param options The store, the upstreams and the rest (see {@linkcode ProxyOptions}).
 * @returns The app: a web-standard `fetch` handler for any runtime (see `adapters/serve/`).
 *
 * @example A proxy in front of a stand-in upstream, in memory
 * ```ts
 * import { createProxy } from "./create_proxy.ts";
 * import { MemoryStore } from "../store/memory_store.ts";
 *
 * const app = createProxy({
 *   store: new MemoryStore(),
 *   upstreams: { hub: "https://registry.example" },
 *   fetch: () => Promise.resolve(new Response(null, { status: 404 })),
 * });
 * const res = await app.fetch(new Request("http://proxy.test/healthz"));
 * console.assert((await res.text()) === "ok");
 * const refused = await app.fetch(new Request("http://proxy.test/v2/evil.example/x/manifests/latest"));
 * console.assert(refused.status === 403);
 * await refused.body?.cancel();
 * ```
 */
export function createProxy(options: ProxyOptions): ProxyApp {
  const ctx = createContext(options);
  const app = new Hono({ getPath: routingPath });
  app.use("*", async (_c, next) => {
    ctx.metrics.requests++;
    await next();
  });
  if (options.allowOrigins !== undefined) {
    const origins = options.allowOrigins;
    app.use(
      "*",
      cors({
        origin: origins === "*" ? "*" : [...origins],
        allowMethods: ["GET", "HEAD", "POST", "OPTIONS"],
        allowHeaders: ["Authorization", "Accept", "Range", "Content-Type", "If-None-Match"],
        exposeHeaders: EXPOSED_HEADERS,
        maxAge: 600,
      }),
    );
  }
  app.get("/healthz", (c) => c.text("ok"));
  app.get(
    "/metrics",
    () =>
      new Response(ctx.metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      }),
  );
  app.route("/token", tokenRoutes(ctx));
  app.route("/upstreams", upstreamsRoutes(ctx));
  app.route("/images", imagesRoutes(ctx));
  app.route("/v2", v2Routes(ctx));
  return {
    // Hono's ExecutionContext also types `props`, which the proxy never reads.
    fetch: (request, env, executionCtx) =>
      app.fetch(request, env, executionCtx as ExecutionContext | undefined),
  };
}
