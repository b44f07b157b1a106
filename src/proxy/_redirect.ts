// This module is browser compatible.
/**
 * Serving a cached blob by redirect (`createProxy({ redirect })`, `tug serve --redirect`): a GET the
 * access decision allowed is answered with a 307 to a short-lived presigned URL of the blob's object, as
 * distribution's storage redirect does (`blobServer.ServeBlob` → the S3 driver's `RedirectURL`, valid 20
 * minutes), so the blob's bytes go from the bucket to the client and none through the proxy. Private to
 * the proxy.
 *
 * Rules (the callers in _blobs.ts keep them):
 * - only after the access decision, for every caller (issue H): a caller the upstream refuses gets the
 *   refusal, never a URL;
 * - only a committed blob the store can hand out a URL for (`BlobStore.url`): a blob still filling is
 *   served from its fill, one in a memory front from memory;
 * - only GET (with or without a Range: the object store honours it). HEAD is answered by the proxy: it has
 *   no body to save, and its size and digest headers are what the client asked for. distribution's S3
 *   driver presigns a HEAD too; here one round trip fewer;
 * - manifests never (their route is not this one);
 * - when the store cannot make a URL (it throws), the proxy serves the bytes itself, where distribution
 *   fails the request: the cache still works without its shortcut.
 *
 * @module
 */

import type { ProxyContext } from "./_context.ts";
import { v2Headers } from "./_responses.ts";

/** How long a redirect's presigned URL is valid by default, in seconds: distribution's 20 minutes. */
export const REDIRECT_EXPIRES_IN: number = 20 * 60;

/** The longest a presigned URL may be valid (SigV4's limit: 7 days). */
export const REDIRECT_MAX_EXPIRES_IN: number = 7 * 24 * 3600;

/**
 * The redirect settings `createProxy()` takes (`true`: distribution's 20 minutes), checked against the
 * store: undefined when off.
 *
 * @throws {TypeError} If redirects are asked for over a store that cannot make blob URLs.
 * @throws {RangeError} If `expiresIn` is not whole seconds from 1 to 7 days.
 */
export function redirectSettings(
  option: boolean | { expiresIn?: number } | undefined,
  blobs: { url?: unknown },
): { expiresIn: number } | undefined {
  if (option === undefined || option === false) return undefined;
  const expiresIn = option === true ? REDIRECT_EXPIRES_IN : option.expiresIn ?? REDIRECT_EXPIRES_IN;
  if (!Number.isSafeInteger(expiresIn) || expiresIn < 1 || expiresIn > REDIRECT_MAX_EXPIRES_IN) {
    throw new RangeError(
      `redirect.expiresIn must be whole seconds from 1 to ${REDIRECT_MAX_EXPIRES_IN}, got ${expiresIn}`,
    );
  }
  if (typeof blobs.url !== "function") {
    throw new TypeError(
      "redirect needs a store that can make presigned blob URLs (an S3-API store); this store cannot make URLs " +
        "(a folder, memory, or an R2 binding, which has no credentials to sign with: use R2's S3 endpoint)",
    );
  }
  return { expiresIn };
}

/**
 * The 307 to the store's URL of the committed blob `digest`, when redirects are on, the request is a GET
 * and the store has a URL for it; else undefined (serve the bytes). Call it only after the access
 * decision allowed the caller.
 */
export async function redirectToStore(
  ctx: ProxyContext,
  request: Request,
  digest: string,
): Promise<Response | undefined> {
  const url = ctx.store.blobs.url;
  if (ctx.redirect === undefined || request.method !== "GET" || url === undefined) return undefined;
  let location: string | undefined;
  try {
    location = await url.call(ctx.store.blobs, digest, { expiresIn: ctx.redirect.expiresIn });
  } catch {
    // A URL could not be made (a signer's failure): the proxy still has the bytes.
    return undefined;
  }
  if (location === undefined) return undefined;
  ctx.metrics.blobRedirects++;
  return new Response(null, {
    status: 307,
    headers: v2Headers({
      location,
      "docker-content-digest": digest,
      // The URL is for this caller, now: no shared cache may keep it past its expiry or give it to another.
      "cache-control": "no-store",
    }),
  });
}
