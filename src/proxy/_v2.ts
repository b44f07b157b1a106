// This module is browser compatible.
/**
 * The registry read API under `/v2/` as a Hono sub-app: the version check, and the manifest, blob and tag
 * routes with typed `name` / `reference` params, each resolving its target and caller before its route
 * module answers. Writes are refused with 405 (the proxy is read-only). Private to the proxy.
 *
 * Names hold slashes (`/v2/<name...>/manifests/<reference>`): the `name` param is the regex param
 * `{.+}` and the last segment is `{[^/]+}`, so `/v2/a/blobs/b/manifests/c` is the manifest `c` of the
 * name `a/blobs/b`, as a greedy match of the whole path would read it.
 *
 * @module
 */

import type { Context } from "npm:hono@^4.13.19";
import { Hono } from "npm:hono@^4.13.19";
import { getPath } from "npm:hono@^4.13.19/utils/url";
import { TugError } from "../errors.ts";
import { blobRoute, type Defer } from "./_blobs.ts";
import { type Caller, callerOf } from "./_caller.ts";
import { challengeFor, type ProxyContext } from "./_context.ts";
import { manifestRoute } from "./_manifests.ts";
import { clientInputResponse, errorResponse, v2Headers } from "./_responses.ts";
import { tagsRoute } from "./_tags.ts";
import { resolveTarget, type Target } from "./_target.ts";

const UNDER_V2 = /^\/v2(?:\/|$)/;

/**
 * The path the proxy's router matches (Hono's `getPath` option). Under `/v2` it is the request's path as
 * sent, never percent-decoded: a name or reference is checked as the client wrote it (`%2e%2e`, `a%2Fb`
 * are refused as invalid, not decoded into `..` or a second path segment). Every `%` is written `%25` so
 * that Hono's decoding of params gives back exactly the raw text. `/v2/` is the version check, like `/v2`.
 * Outside `/v2`, Hono's own path (decoded as Hono decodes it).
 */
export function routingPath(request: Request): string {
  const decoded = getPath(request);
  if (!UNDER_V2.test(decoded)) return decoded;
  const raw = new URL(request.url).pathname;
  // A percent-encoded `/v2` prefix (`/v%32/…`) reaches the /v2/ routes, and none of them matches it.
  if (!UNDER_V2.test(raw)) return "/v2/%25";
  if (raw === "/v2/") return "/v2";
  return raw.replaceAll("%", "%25");
}

/** The /v2/ sub-app, to mount at `/v2` on an app whose `getPath` is {@linkcode routingPath}. */
export function v2Routes(ctx: ProxyContext): Hono {
  const v2 = new Hono();
  v2.use("*", async (c, next) => {
    const { method } = c.req.raw;
    const path = new URL(c.req.raw.url).pathname;
    if (method !== "GET" && method !== "HEAD") {
      return errorResponse(405, "UNSUPPORTED", `The proxy is read-only: ${method} ${path} is not supported`, {
        allow: "GET, HEAD",
      });
    }
    if (path.includes("/blobs/uploads")) {
      return errorResponse(405, "UNSUPPORTED", `The proxy is read-only: ${method} ${path} is not supported`);
    }
    await next();
  });

  v2.on(["GET", "HEAD"], "/", async (c) => {
    // The version check. Without credentials, the answer points at the proxy's token endpoint, so that
    // clients with credentials for private repositories send them (Docker's token flow); clients without
    // credentials get an anonymous token and go on.
    const request = c.req.raw;
    const header = request.headers.get("authorization");
    const caller = header === null ? undefined : await callerOf(ctx, request, undefined);
    if (caller instanceof Response) return caller;
    if (caller === undefined) {
      return errorResponse(401, "UNAUTHORIZED", "authentication required", {
        "www-authenticate": challengeFor(ctx, request),
      });
    }
    return new Response(request.method === "HEAD" ? null : "{}", {
      headers: v2Headers({ "content-type": "application/json; charset=utf-8" }),
    });
  });

  /**
   * Resolves the target of `name` (with `?ns=`) and the caller, then runs the route; an error it throws
   * becomes a 404 (`NOT_FOUND`), a 400 (client input) or a 500.
   */
  const answer = async (
    c: Context,
    name: string,
    unknownCode: "MANIFEST_UNKNOWN" | "BLOB_UNKNOWN",
    route: (target: Target, caller: Caller) => Promise<Response>,
  ): Promise<Response> => {
    const request = c.req.raw;
    const target = resolveTarget(ctx, name, new URL(request.url).searchParams.get("ns"));
    if (target instanceof Response) return target;
    const caller = await callerOf(ctx, request, target.upstream);
    if (caller instanceof Response) return caller;
    try {
      return await route(target, caller);
    } catch (err) {
      if (err instanceof TugError && err.code === "NOT_FOUND") {
        return errorResponse(404, unknownCode, err.message);
      }
      const clientError = clientInputResponse(err);
      if (clientError) return clientError;
      try {
        ctx.onError(err, request);
      } catch { /* a failing logger does not change the answer */ }
      return errorResponse(
        500,
        "UNKNOWN",
        `Internal error: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  };

  v2.on(["GET", "HEAD"], "/:name{.+}/manifests/:reference{[^/]+}", (c) => {
    const reference = c.req.param("reference");
    return answer(
      c,
      c.req.param("name"),
      "MANIFEST_UNKNOWN",
      (target, caller) => manifestRoute(ctx, c.req.raw, target, caller, reference),
    );
  });

  v2.on(["GET", "HEAD"], "/:name{.+}/blobs/:digest{[^/]+}", (c) => {
    const digest = c.req.param("digest");
    const defer: Defer = (work) => {
      try {
        c.executionCtx.waitUntil(work);
      } catch {
        // No execution context (Deno, Node): promises run to the end on their own.
      }
    };
    return answer(
      c,
      c.req.param("name"),
      "BLOB_UNKNOWN",
      (target, caller) => blobRoute(ctx, c.req.raw, target, caller, digest, defer),
    );
  });

  v2.on(["GET", "HEAD"], "/:name{.+}/tags/list", (c) => {
    const name = c.req.param("name");
    return answer(
      c,
      name,
      "MANIFEST_UNKNOWN",
      (target, caller) => tagsRoute(ctx, c.req.raw, target, caller, name),
    );
  });

  v2.all("*", (c) => errorResponse(404, "NAME_UNKNOWN", `No such route: ${new URL(c.req.raw.url).pathname}`));
  return v2;
}
