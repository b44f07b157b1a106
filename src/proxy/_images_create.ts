// This module is browser compatible.
/**
 * `POST /images/create?fromImage=<ref>[&tag=<tag-or-digest>]`: Docker Engine's pull. The proxy pulls the
 * image into its cache with the caller's credentials and streams Docker's jsonmessage lines (progress, then
 * an `error` line on failure). Private to the proxy.
 *
 * @module
 */

import { Hono } from "hono";
import { pull } from "../pull/pull.ts";
import { callerOf, scopeOf } from "./_caller.ts";
import type { ProxyContext } from "./_context.ts";
import { digestProblem, tagProblem } from "./_input.ts";
import { resolveTarget } from "./_target.ts";

/** Docker Engine's pull endpoint, to mount at `/images`. */
export function imagesRoutes(ctx: ProxyContext): Hono {
  return new Hono().post("/create", (c) => imagesCreate(ctx, c.req.raw));
}

async function imagesCreate(ctx: ProxyContext, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const fromImage = url.searchParams.get("fromImage");
  if (fromImage === null || fromImage === "") {
    return Response.json({ message: "fromImage is required" }, { status: 400 });
  }
  let name = fromImage;
  let tag = url.searchParams.get("tag") || undefined;
  let digest: string | undefined;
  const at = name.indexOf("@");
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
  } else {
    const colon = name.lastIndexOf(":");
    if (colon > name.lastIndexOf("/")) {
      tag ??= name.slice(colon + 1);
      name = name.slice(0, colon);
    }
  }
  if (tag !== undefined && tag.includes(":")) {
    digest = tag;
    tag = undefined;
  }
  const problem = digest !== undefined
    ? digestProblem(digest)
    : tag !== undefined
    ? tagProblem(tag)
    : undefined;
  if (problem !== undefined) return Response.json({ message: problem }, { status: 400 });
  const target = resolveTarget(ctx, name, null);
  if (target instanceof Response) {
    const text = await target.text();
    return Response.json({ message: JSON.parse(text).errors[0].message }, { status: target.status });
  }
  const caller = await callerOf(ctx, request, target.upstream);
  if (caller instanceof Response) return Response.json({ message: "unauthorized" }, { status: 401 });
  const upstream = target.upstream;
  const reference = `${upstream.refHost}/${target.repo}${digest ? `@${digest}` : `:${tag ?? "latest"}`}`;
  const encoder = new TextEncoder();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const line = (value: unknown) =>
    writer.write(encoder.encode(JSON.stringify(value) + "\r\n")).catch(() => {});
  const done = (async () => {
    try {
      const result = await pull(reference, {
        store: ctx.pullStore,
        fetch: upstream.fetch,
        ...(caller.credentials !== undefined ? { credentials: caller.credentials } : {}),
        ...(ctx.hasher ? { hasher: ctx.hasher } : {}),
        insecureRegistries: upstream.url.startsWith("http:") ? [upstream.host] : [],
        ...(upstream.refHost === "docker.io" && upstream.host !== "registry-1.docker.io"
          ? { mirrors: [upstream.url] }
          : {}),
        userAgent: ctx.userAgent,
        readTimeout: ctx.readTimeout,
        retry: { attempts: ctx.retry.attempts ?? 2 },
        onProgress: (event) => {
          const message: Record<string, unknown> = { status: event.status };
          if (event.current !== undefined || event.total !== undefined) {
            message.progressDetail = {
              ...(event.current !== undefined ? { current: event.current } : {}),
              ...(event.total !== undefined ? { total: event.total } : {}),
            };
          } else if (event.id !== undefined) message.progressDetail = {};
          if (event.id !== undefined) message.id = event.id;
          void line(message);
        },
      });
      // pull() fetched these manifests upstream with the caller's credentials: the same confirmations as
      // a GET through /v2/ (their typed children only).
      const scope = scopeOf(target, caller);
      for (const image of result.images) {
        ctx.access.confirmManifest(scope, image.descriptor.digest, image.manifest);
      }
      ctx.access.confirm(scope, result.digest);
      if (tag !== undefined || digest === undefined) {
        ctx.tagChecked.set(`${target.key}:${tag ?? "latest"}`, ctx.now());
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await line({ errorDetail: { message }, error: message });
    } finally {
      await writer.close().catch(() => {});
    }
  })();
  void done;
  return new Response(readable, { headers: { "content-type": "application/json" } });
}
