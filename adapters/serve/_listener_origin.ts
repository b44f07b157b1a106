/**
 * Requests as the proxy app sees them: addressed to the listener's own origin. Runtimes build a request's
 * URL from the client's `Host` header; the app derives its token realm from the URL, so a hostile `Host`
 * would choose where clients send their credentials. Private to the serve adapters.
 *
 * @module
 */

/** `request` with its URL's origin replaced by `origin` (the listener's `http://host:port`). */
export function atListener(request: Request, origin: string): Request {
  const url = new URL(request.url);
  if (url.origin === origin) return request;
  // Method, headers and body carried over; not the signal (the app does not use it, and reading it makes
  // Deno warn about its legacy abort behaviour).
  return new Request(`${origin}${url.pathname}${url.search}`, {
    method: request.method,
    headers: request.headers,
    ...(request.body !== null ? { body: request.body, duplex: "half" } : {}),
  } as RequestInit);
}
