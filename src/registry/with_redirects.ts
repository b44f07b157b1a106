// This module is browser compatible.
/**
 * The innermost transport wrapper: follows redirects itself, so registry credentials never leave the
 * registry's origin.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import { discard } from "./read_limited.ts";
import type { FetchLike } from "./types.ts";

/** Options for {@linkcode withRedirects}. */
export interface WithRedirectsOptions {
  /** The most redirects one request may follow (default 10). */
  maxRedirects?: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Wraps `next` to follow redirects by hand (`redirect: "manual"`): at most `maxRedirects` (default 10)
 * of 301/302/303/307/308, each `Location` resolved against the URL that answered. Registries send blob
 * downloads to storage on another origin (S3, a CDN) with a pre-signed URL; the `Authorization` header is
 * sent only while the hops stay on the original request's origin, never to another one — a redirect
 * target must not see the registry's token or password (nor get it back after a detour). As in the Fetch standard's redirect steps, a 303 (and a
 * 301/302 of a POST) continues as a GET without a body; 307/308 resend the method and body.
 *
 * In a browser a manual redirect comes back opaque (`response.type === "opaqueredirect"`: no status, no
 * `Location`). Then the request is sent again with `redirect: "follow"` (and so from then on for this
 * wrapper), leaving the hops to the browser. The `Authorization` header stays on that request, because
 * the registry's own hop needs it; the Fetch standard has browsers drop `Authorization` on a cross-origin
 * redirect (whatwg/fetch "HTTP-redirect fetch", since 2023), which is the same rule this wrapper applies.
 *
 * A `401` from any origin but the request's own (a hop off the origin, or a browser-followed answer whose
 * `url` is elsewhere) rejects with a `TugError` with code `UNAUTHORIZED` naming that origin: only the
 * registry's origin may challenge for credentials (containerd's CVE-2020-15157 class).
 *
 * Too many redirects reject with a `TugError` with code `TOO_MANY_REDIRECTS`.
 *
 * @example Follow a redirect to another path
 * ```ts
 * import { withRedirects } from "./with_redirects.ts";
 *
 * const server = (req: Request) =>
 *   Promise.resolve(
 *     new URL(req.url).pathname === "/old"
 *       ? new Response(null, { status: 307, headers: { location: "/new" } })
 *       : new Response(new URL(req.url).pathname),
 *   );
 * const res = await withRedirects(server)(new Request("http://127.0.0.1:5000/old"));
 * console.assert((await res.text()) === "/new");
 * ```
 */
export function withRedirects(next: FetchLike, options: WithRedirectsOptions = {}): FetchLike {
  const maxRedirects = options.maxRedirects ?? 10;
  let platformFollows = false;

  /**
   * A 401 is a challenge only when the registry's own origin sends it (containerd CVE-2020-15157 is
   * this class): a redirect target (blob storage, a CDN) that answers 401 is a plain error, so its
   * `WWW-Authenticate` never reaches the auth layer, which would otherwise send the registry's
   * credentials to a token realm (or a Basic challenge) of the redirect target's choosing.
   */
  const offOrigin401 = (request: Request, response: Response, answeredBy: string): never => {
    discard(response);
    throw new TugError(
      "UNAUTHORIZED",
      `Cannot ${request.method} ${request.url}: ${answeredBy}, where the registry ${
        new URL(request.url).origin
      } redirected to, answered 401; tug answers authentication challenges from the registry's own origin only`,
      { detail: { status: 401, errors: [] } },
    );
  };
  /** The browser followed: was the answer a 401 from another origin? */
  const followed = (request: Request, response: Response): Response => {
    if (response.status === 401 && response.redirected && response.url !== "") {
      const answeredBy = new URL(response.url).origin;
      if (answeredBy !== new URL(request.url).origin) offOrigin401(request, response, answeredBy);
    }
    return response;
  };

  return async (request) => {
    if (platformFollows) return followed(request, await next(new Request(request, { redirect: "follow" })));
    const origin = new URL(request.url).origin;
    // Keep the original unsent when it has a body: a 307/308 or the browser fallback sends it again.
    const template = request.body === null ? undefined : request;
    const fresh = () => (template ? template.clone() : request);
    let method = request.method;
    let withBody = template !== undefined;
    let url = new URL(request.url);
    let leftOrigin = false;
    let current = new Request(fresh(), { redirect: "manual" });
    for (let hops = 0;; hops++) {
      const response = await next(current);
      if (response.type === "opaqueredirect") {
        platformFollows = true;
        return followed(request, await next(new Request(fresh(), { redirect: "follow" })));
      }
      // After a detour through another origin even the registry's own origin chose nothing here.
      if (response.status === 401 && leftOrigin) offOrigin401(request, response, url.origin);
      if (!REDIRECT_STATUSES.has(response.status)) return response;
      const location = response.headers.get("location");
      if (location === null) return response;
      discard(response);
      if (hops >= maxRedirects) {
        throw new TugError(
          "TOO_MANY_REDIRECTS",
          `Cannot ${request.method} ${request.url}: more than ${maxRedirects} redirects (last to ${location})`,
        );
      }
      const target = new URL(location, url);
      if (target.protocol !== "http:" && target.protocol !== "https:") {
        throw new TugError(
          "UNEXPECTED_STATUS",
          `Cannot ${request.method} ${request.url}: redirected to a non-HTTP URL ${target.href}`,
        );
      }
      // Fetch standard, HTTP-redirect fetch step 12: these become a GET without a body.
      if (
        (response.status === 303 && method !== "GET" && method !== "HEAD") ||
        ((response.status === 301 || response.status === 302) && method === "POST")
      ) {
        method = "GET";
        withBody = false;
      }
      const headers = new Headers(request.headers);
      if (!withBody) {
        for (const name of ["content-type", "content-length", "content-encoding", "content-language"]) {
          headers.delete(name);
        }
      }
      // Once a hop left the origin the credentials stay off, as in the Fetch standard: the other origin
      // chose where the request goes next.
      if (target.origin !== origin) leftOrigin = true;
      if (leftOrigin) headers.delete("authorization");
      current = new Request(target, {
        method,
        headers,
        body: withBody ? fresh().body : null,
        signal: request.signal,
        redirect: "manual",
        ...(withBody ? { duplex: "half" } : {}),
      } as RequestInit);
      url = target;
    }
  };
}
