// This module is browser compatible.
/**
 * `POST /images/create?fromImage=<ref>[&tag=<tag-or-digest>]`: Docker Engine's pull. The proxy pulls the
 * image into its cache with the caller's credentials and streams Docker's jsonmessage lines (progress, then
 * an `error` line on failure). Private to the proxy.
 *
 * @module
 */

import { Hono } from "npm:hono@^4.13.19";
import { TugError } from "../errors.ts";
import { errorEvent, type ProgressEvent } from "../pull/events.ts";
import { jsonMessageLine } from "../pull/jsonmessage.ts";
import { parseReference } from "../reference/parse_reference.ts";
import { DOCKER_HUB_API_HOST } from "../registry/lookup_endpoints.ts";
import { callerOf, scopeOf } from "./_caller.ts";
import type { ProxyContext } from "./_context.ts";
import { digestProblem, tagProblem } from "./_input.ts";
import { resolveTarget } from "./_target.ts";

/** What `fromImage` and `tag` ask for: the name as written, and a tag or a digest (neither: `latest`). */
export interface ImageRequest {
  readonly name: string;
  readonly tag?: string;
  readonly digest?: string;
}

/**
 * Reads Docker's `fromImage` and `tag` parameters with the reference grammar (parseReference, without
 * Docker Hub's defaults: the proxy's own upstream prefixes resolve the name). As Docker Engine does, a
 * `tag` parameter replaces the reference's tag or digest, and is a digest when it holds a colon. Returns
 * the problem as a string when the input is not a reference.
 */
export function imageRequestOf(fromImage: string | null, tagParam: string | null): ImageRequest | string {
  if (fromImage === null || fromImage === "") return "fromImage is required";
  let ref;
  try {
    ref = parseReference(fromImage, { normalize: false });
  } catch (err) {
    if (err instanceof TugError) return err.message;
    throw err;
  }
  if (tagParam !== null && tagParam !== "") {
    if (tagParam.includes(":")) return digestProblem(tagParam) ?? { name: ref.name, digest: tagParam };
    return tagProblem(tagParam) ?? { name: ref.name, tag: tagParam };
  }
  // A reference with both pulls by digest, as Docker does.
  if (ref.digest !== undefined) return { name: ref.name, digest: ref.digest };
  return ref.tag !== undefined ? { name: ref.name, tag: ref.tag } : { name: ref.name };
}

/** Docker Engine's pull endpoint, to mount at `/images`. */
export function imagesRoutes(ctx: ProxyContext): Hono {
  return new Hono().post("/create", (c) => imagesCreate(ctx, c.req.raw));
}

async function imagesCreate(ctx: ProxyContext, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const asked = imageRequestOf(url.searchParams.get("fromImage"), url.searchParams.get("tag"));
  if (typeof asked === "string") return Response.json({ message: asked }, { status: 400 });
  const { tag, digest } = asked;
  const target = resolveTarget(ctx, asked.name, null);
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
  // Docker Engine's stream: one jsonmessage per event, the same lines as `tug pull --json`.
  const line = (event: ProgressEvent) => writer.write(encoder.encode(jsonMessageLine(event))).catch(() => {});
  const done = (async () => {
    try {
      // The puller (and its decompressors) is loaded on the first pull through this route, not at start: a
      // registry mirror that never gets one keeps none of that code in memory (docs/performance.md).
      const { pull } = await import("../pull/pull.ts");
      const result = await pull(reference, {
        store: ctx.pullStore,
        fetch: upstream.fetch,
        ...(caller.credentials !== undefined ? { credentials: caller.credentials } : {}),
        ...(ctx.hasher ? { hasher: ctx.hasher } : {}),
        insecureRegistries: upstream.url.startsWith("http:") ? [upstream.host] : [],
        ...(upstream.refHost === "docker.io" && upstream.host !== DOCKER_HUB_API_HOST
          ? { mirrors: [upstream.url] }
          : {}),
        userAgent: ctx.userAgent,
        readTimeout: ctx.readTimeout,
        retry: ctx.retry,
        ...(ctx.transport !== undefined ? { transport: ctx.transport } : {}),
        onProgress: (event) => void line(event),
      });
      // pull() fetched these manifests upstream with the caller's credentials: the same confirmations as
      // a GET through /v2/ (their typed children only).
      const scope = scopeOf(target, caller);
      for (const image of result.images) {
        ctx.access.confirmManifest(scope, image.descriptor.digest, image.manifest);
      }
      ctx.access.confirm(scope, result.digest);
      if (digest === undefined) ctx.tagChecked.set(`${target.key}:${tag ?? "latest"}`, ctx.now());
    } catch (err) {
      await line(errorEvent(err));
    } finally {
      await writer.close().catch(() => {});
    }
  })();
  void done;
  return new Response(readable, { headers: { "content-type": "application/json" } });
}
