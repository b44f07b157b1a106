/**
 * A server in front of a real S3 service (s3rver, radosgw) that forwards every request, except those a
 * test's hooks answer or change: the faults no real service produces on demand (redirects to another host,
 * endless bodies, a 500 after the write was applied).
 *
 * @module
 */

/** What a front's hook may answer instead of forwarding: undefined forwards the request. */
export type Hook = (request: Request, url: URL) => Response | Promise<Response> | undefined;

/** What a front's after-hook may answer instead of the service's response: undefined passes it on. */
export type AfterHook = (
  request: Request,
  url: URL,
  response: Response,
) => Response | Promise<Response> | undefined;

/** A running front; disposing it stops it. */
export interface Front extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`, the endpoint to give the client. */
  readonly endpoint: string;
  /** Every request the front received: method and path with query. */
  readonly seen: string[];
  /** Answers a request before it is forwarded (default: forwards everything). */
  hook: Hook;
  /** Replaces the service's answer after the request was applied (default: passes every answer on). */
  after: AfterHook;
}

/** A server in front of `upstream` (a real S3 service's endpoint). */
export function startFront(upstream: string): Front {
  const seen: string[] = [];
  const hooks: { hook: Hook; after: AfterHook } = { hook: () => undefined, after: () => undefined };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    seen.push(`${request.method} ${url.pathname}${url.search}`);
    const own = await hooks.hook(request, url);
    if (own !== undefined) {
      await request.body?.cancel();
      return own;
    }
    const headers = new Headers(request.headers);
    headers.delete("host");
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    const response = await fetch(upstream + url.pathname + url.search, {
      method: request.method,
      headers,
      ...(body ? { body } : {}),
      redirect: "manual",
    });
    const replaced = await hooks.after(request, url, response);
    if (replaced === undefined) return response;
    await response.body?.cancel();
    return replaced;
  });
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    seen,
    get hook() {
      return hooks.hook;
    },
    set hook(value: Hook) {
      hooks.hook = value;
    },
    get after() {
      return hooks.after;
    },
    set after(value: AfterHook) {
      hooks.after = value;
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
