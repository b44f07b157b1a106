// This module is browser compatible.
/**
 * The outermost transport wrapper: names tug in the `User-Agent` of every request.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import type { FetchLike } from "./types.ts";

/** tug's default `User-Agent`: `tug/<version>`. */
export const DEFAULT_USER_AGENT: string = `tug/${VERSION}`;

/** Options for {@linkcode withUserAgent}. */
export interface WithUserAgentOptions {
  /** The `User-Agent` to send. Defaults to {@linkcode DEFAULT_USER_AGENT}. */
  userAgent?: string;
}

/**
 * Wraps `next` so every request carries `User-Agent: tug/<version>` (or `options.userAgent`), unless the
 * request already sets one. Registries log it and Docker Hub counts pulls by it. Browsers treat
 * `User-Agent` as a header scripts may not change and silently keep their own; setting it there is
 * harmless, so no runtime check is needed.
 *
 * @example
 * ```ts
 * import { withUserAgent } from "./with_user_agent.ts";
 *
 * const echo = withUserAgent((req) => Promise.resolve(new Response(req.headers.get("user-agent"))));
 * console.assert((await (await echo(new Request("http://127.0.0.1/"))).text()).startsWith("tug/"));
 * ```
 */
export function withUserAgent(next: FetchLike, options: WithUserAgentOptions = {}): FetchLike {
  const userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
  return (request) => {
    if (request.headers.has("user-agent")) return next(request);
    const headers = new Headers(request.headers);
    headers.set("user-agent", userAgent);
    return next(new Request(request, { headers }));
  };
}
