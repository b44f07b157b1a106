// This module is browser compatible.
/**
 * `GET`/`HEAD /v2/<name>/tags/list`: the upstream's tag list for the caller, paginated with `n` and `last`
 * as the distribution spec says, with a `Link` to the next page. Private to the proxy.
 *
 * @module
 */

import { type Caller, clientFor, refused, scopeOf } from "./_caller.ts";
import type { ProxyContext } from "./_context.ts";
import { errorResponse, v2Headers } from "./_responses.ts";
import type { Target } from "./_target.ts";

/** Answers a tag list request for `name` (the name as the client wrote it, for the answer and the Link). */
export async function tagsRoute(
  ctx: ProxyContext,
  request: Request,
  target: Target,
  caller: Caller,
  name: string,
): Promise<Response> {
  const url = new URL(request.url);
  const nParam = url.searchParams.get("n");
  const last = url.searchParams.get("last") ?? undefined;
  let n: number | undefined;
  if (nParam !== null) {
    n = Number(nParam);
    if (!/^\d+$/.test(nParam) || !Number.isSafeInteger(n)) {
      return errorResponse(400, "PAGINATION_NUMBER_INVALID", `Invalid page size n=${nParam}`);
    }
  }
  let page;
  try {
    page = await clientFor(ctx, target, caller).listTags({
      ...(n !== undefined ? { n } : {}),
      ...(last !== undefined ? { last } : {}),
    });
  } catch (err) {
    return refused(ctx, err, request, target, caller);
  }
  ctx.access.grant(scopeOf(target, caller));
  const headers = v2Headers({ "content-type": "application/json; charset=utf-8" });
  if (page.next !== undefined) {
    const next = new URLSearchParams();
    if (n !== undefined) next.set("n", String(n));
    next.set("last", page.next);
    const ns = url.searchParams.get("ns");
    if (ns !== null) next.set("ns", ns);
    headers.set("link", `</v2/${name}/tags/list?${next}>; rel="next"`);
  }
  const text = JSON.stringify({ name, tags: page.tags });
  if (request.method === "HEAD") return new Response(null, { headers });
  return new Response(text, { headers });
}
