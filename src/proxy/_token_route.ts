// This module is browser compatible.
/**
 * `GET /token`: the proxy's own token endpoint (Docker's token flow). The token seals the caller's Basic
 * credentials (or none, for anonymous callers) for the proxy alone; /v2/ requests present it as Bearer.
 * Private to the proxy.
 *
 * @module
 */

import { Hono } from "npm:hono@^4.13.19";
import { callerOf } from "./_caller.ts";
import type { ProxyContext } from "./_context.ts";

/** The token endpoint, to mount at `/token`. */
export function tokenRoutes(ctx: ProxyContext): Hono {
  return new Hono().get("/", async (c) => {
    const caller = await callerOf(ctx, c.req.raw, undefined);
    if (caller instanceof Response) return caller;
    const token = await ctx.tokens.seal(
      caller.credentials !== undefined && "username" in caller.credentials ? caller.credentials : undefined,
    );
    return c.json({
      token,
      access_token: token,
      expires_in: ctx.tokens.lifetimeSeconds,
      issued_at: new Date(ctx.now()).toISOString(),
    });
  });
}
