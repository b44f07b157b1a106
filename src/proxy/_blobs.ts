// This module is browser compatible.
/**
 * `GET`/`HEAD /v2/<name>/blobs/<digest>`: blobs from the cache once the upstream confirmed them for the
 * caller, else from the one download (fill) of that blob from that upstream, which every client streams
 * as its bytes arrive; a Range far into an uncached blob is forwarded upstream and relayed only as the
 * 206 of exactly that range. Private to the proxy.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import { storeCapabilities } from "../store/capabilities.ts";
import type { BlobLeaseOutcome, BlobLeases, HeldBlobLease } from "../store/types.ts";
import { withIdleLimit } from "../streams/idle_timer.ts";
import { BlobFill } from "./_blob_fill.ts";
import { type Caller, clientFor, refused, scopeOf, transportFor } from "./_caller.ts";
import { clientBody, type ProxyContext } from "./_context.ts";
import { answerWithin } from "./_deadline.ts";
import { checkBlobDigest } from "./_input.ts";
import {
  checkRangeAnswer,
  exactLength,
  type OpenRange,
  parseOpenRange,
  parseRange,
  rangeHeader,
} from "./_range.ts";
import { redirectToStore } from "./_redirect.ts";
import { StreamedThrough, streamsThrough, verifiedStream } from "./_stream_through.ts";
import { errorResponse, isUpstreamDown, v2Headers } from "./_responses.ts";
import type { Target } from "./_target.ts";
import { fromCache } from "./_vanished.ts";

/**
 * A Range on a miss that starts this close to the beginning (or, while a fill runs, to the bytes it has
 * received) is served from the fill (its bytes come soon); further in, it is forwarded upstream so the
 * client does not wait for the bytes before it.
 */
export const RANGE_FROM_FILL: number = 4 * 1024 * 1024;

/** Keeps work going after the response (workerd's `waitUntil`; a no-op where promises run on their own). */
export type Defer = (work: Promise<unknown>) => void;

/** The key of a fill: upstream AND digest (see ProxyContext.fills). */
export function fillKey(target: Target, digest: string): string {
  return `${target.upstream.name}\n${digest}`;
}

function blobHeaders(digest: string, size: number, range?: { start: number; end: number }): Headers {
  return v2Headers({
    "content-type": "application/octet-stream",
    "docker-content-digest": digest,
    "accept-ranges": "bytes",
    etag: `"${digest}"`,
    "content-length": String(range ? range.end - range.start : size),
    ...(range ? { "content-range": `bytes ${range.start}-${range.end - 1}/${size}` } : {}),
  });
}

/** Answers a blob request from a source that can read any range once the size is known. */
async function serveBlob(
  ctx: ProxyContext,
  request: Request,
  digest: string,
  size: number,
  read: (
    range?: { start: number; end: number },
  ) => ReadableStream<Uint8Array> | Promise<ReadableStream<Uint8Array>>,
): Promise<Response> {
  const range = parseRange(request.headers.get("range"), size);
  if (range === "unsatisfiable") {
    return errorResponse(416, "BLOB_UNKNOWN", `Range not satisfiable for a blob of ${size} bytes`, {
      "content-range": `bytes */${size}`,
    });
  }
  const headers = blobHeaders(digest, size, range);
  if (request.method === "HEAD") return new Response(null, { status: range ? 206 : 200, headers });
  ctx.metrics.clientBlobBytes += range ? range.end - range.start : size;
  return new Response(clientBody(ctx, await read(range), range ? range.end - range.start : size), {
    status: range ? 206 : 200,
    headers,
  });
}

/** An upstream answer within `readTimeout` (see answerWithin). */
function answeredWithin<T>(
  ctx: ProxyContext,
  what: string,
  send: (signal?: AbortSignal) => Promise<T>,
  discard: (late: T) => void,
): Promise<T> {
  return answerWithin(ctx.readTimeout, what, send, discard);
}

/**
 * Starts the one download of a blob from this target's upstream (`opened`: its whole-blob answer, when
 * one already came). Fills are keyed by upstream and digest (see fillKey). Over a store shared by
 * processes (`Store.leases`, an object store) the download is the fleet's one: the fill takes the blob's
 * lease first, and when another process holds it, becomes a fill "elsewhere" (see `leasedFill`).
 */
export function startFill(
  ctx: ProxyContext,
  target: Target,
  caller: Caller,
  digest: string,
  opened?: { body: ReadableStream<Uint8Array>; size?: number },
): Promise<BlobFill> {
  const { fills } = ctx;
  const key = fillKey(target, digest);
  const leases = ctx.store.leases;
  // An upstream answer already open is filled as it is (a 200 to a forwarded Range): waiting for a lease
  // would hold its connection.
  const pending = leases === undefined || opened !== undefined
    ? openFill(ctx, target, caller, digest, opened)
    : leasedFill(ctx, target, caller, digest, leases);
  fills.set(key, pending);
  pending.then((fill) => fill.done).catch(() => {}).finally(() => {
    if (fills.get(key) === pending) fills.delete(key);
  });
  return pending;
}

/**
 * The fill of a blob over a store shared by processes: with the lease, this process downloads it (and
 * releases the lease when the fill ends); when another process holds it, a fill "elsewhere" whose clients
 * get their headers at once (the size the holder recorded) and the bytes from the committed blob. If the
 * holder fails or dies (its lease released or lapsed), this process takes the lease and downloads the
 * blob itself; its clients still read the committed blob. Waiting is bounded (`BlobLeases.wait`).
 */
async function leasedFill(
  ctx: ProxyContext,
  target: Target,
  caller: Caller,
  digest: string,
  leases: BlobLeases,
): Promise<BlobFill> {
  const { metrics } = ctx;
  let first: BlobLeaseOutcome;
  try {
    first = await leases.claim(digest);
  } catch {
    // The bucket cannot tell (down, or refusing): download as a single process would.
    return await openFill(ctx, target, caller, digest);
  }
  if (first.kind === "lease") return await heldFill(ctx, target, caller, digest, first.lease, first.takeover);
  if (first.kind === "timeout") return await openFill(ctx, target, caller, digest);
  const size = first.kind === "committed" ? first.size : first.record.size;
  if (first.kind === "held") metrics.leaseWaits++;
  const committed = first.kind === "committed" ? Promise.resolve() : (async () => {
    const next = await leases.wait(digest).catch(() => ({ kind: "timeout" }) as const);
    if (next.kind === "committed") return;
    // Released without a commit, lapsed, or waited too long: this process downloads it.
    const fill = next.kind === "lease"
      ? await heldFill(ctx, target, caller, digest, next.lease, next.takeover)
      : await openFill(ctx, target, caller, digest);
    await fill.done;
    await finished(fill);
    if (!fill.cached) {
      throw new TugError("STORE_IO", `Cannot serve blob ${digest}: the store did not take it`);
    }
  })();
  return BlobFill.elsewhere({ digest, size, blobs: ctx.store.blobs, committed });
}

/** Downloads the blob holding `lease`: its size goes into the lease, which is released when the fill ends. */
async function heldFill(
  ctx: ProxyContext,
  target: Target,
  caller: Caller,
  digest: string,
  lease: HeldBlobLease,
  takeover: boolean,
): Promise<BlobFill> {
  if (takeover) ctx.metrics.leaseTakeovers++;
  let fill: BlobFill;
  try {
    fill = await openFill(ctx, target, caller, digest, undefined, (size) => lease.describe(size));
  } catch (err) {
    await lease.release();
    throw err;
  }
  // Released after the commit (or failure): waiters then find the blob (or take the lease). The release is
  // part of the fill's work (finished()), so workerd's waitUntil covers it: cut off, it would leave the
  // lease behind, and the next fill of this blob (after an eviction) would wait for it to lapse.
  afterFill.set(fill, fill.done.catch(() => {}).finally(() => lease.release().catch(() => {})));
  return fill;
}

/** Work that belongs to a fill and ends after it (a lease's release), by fill. */
const afterFill = new WeakMap<BlobFill, Promise<void>>();

/** When a fill's work is over: its end, and what ends after it; never rejects (for `defer`). */
function finished(fill: BlobFill): Promise<void> {
  return afterFill.get(fill) ?? fill.done.then(() => {}, () => {});
}

/** GETs the whole blob upstream with the caller's credentials (unless `opened`): its body and size. */
async function wholeBlob(
  ctx: ProxyContext,
  target: Target,
  caller: Caller,
  digest: string,
  opened?: { body: ReadableStream<Uint8Array>; size?: number },
): Promise<{ body: ReadableStream<Uint8Array>; size: number }> {
  const blob = opened ??
    await answeredWithin(
      ctx,
      `Cannot fetch blob "${target.key}@${digest}"`,
      async (signal) => {
        const answer = await clientFor(ctx, target, caller).getBlob(digest, signal ? { signal } : {});
        if (answer.status !== 200) {
          // Nothing but the whole blob can be filled (a 206 here answers a request without a Range).
          answer.body.cancel().catch(() => {});
          throw new TugError(
            "UNEXPECTED_STATUS",
            `The upstream answered a request for the whole blob "${digest}" with ${answer.status}`,
            { detail: { status: 502, errors: [] } },
          );
        }
        return answer;
      },
      (late) => late.body.cancel().catch(() => {}),
    );
  if (blob.size === undefined) {
    blob.body.cancel().catch(() => {});
    throw new TugError(
      "UNEXPECTED_STATUS",
      `The upstream sent blob "${digest}" without a Content-Length`,
      {
        detail: { status: 502, errors: [] },
      },
    );
  }
  ctx.access.confirm(scopeOf(target, caller), digest);
  return { body: blob.body, size: blob.size };
}

/**
 * GETs the blob upstream (unless `opened`) and starts its fill; `announce` learns the size first. `stored`
 * false: a fill of one client's own that the store does not take (see `passThrough`). A blob over
 * `streamThroughAbove` starts no fill: the promise rejects with `StreamedThrough`, which holds the body.
 */
async function openFill(
  ctx: ProxyContext,
  target: Target,
  caller: Caller,
  digest: string,
  opened?: { body: ReadableStream<Uint8Array>; size?: number },
  announce?: (size: number) => Promise<void>,
  stored = true,
): Promise<BlobFill> {
  const { metrics } = ctx;
  const blob = await wholeBlob(ctx, target, caller, digest, opened);
  if (stored && streamsThrough(ctx.streamThroughAbove, blob.size)) {
    throw new StreamedThrough(digest, blob.size, ctx.streamThroughAbove!, blob.body);
  }
  await announce?.(blob.size);
  if (stored) metrics.cacheMisses.blob++;
  metrics.fillsInFlight++;
  const fill = BlobFill.start({
    digest,
    size: blob.size,
    body: blob.body,
    ...(stored ? { blobs: ctx.store.blobs } : {}),
    ...(ctx.hasher ? { hasher: ctx.hasher } : {}),
    onBytes: (n) => metrics.upstreamBytes += n,
    onHeld: (n) => metrics.fillHeldPeak = Math.max(metrics.fillHeldPeak, n),
    // An object store declares that it cannot read a blob back while it is written: the fill then paces
    // the upstream to its slowest client (see BlobFill).
    readBack: storeCapabilities(ctx.store).readWhileWriting !== false,
    readTimeout: ctx.readTimeout,
    release: ctx.releaseChunks,
    ...(ctx.fillWindow !== undefined ? { window: ctx.fillWindow } : {}),
    pace: ctx.paceFills,
  });
  fill.done.then(
    () => {},
    () => metrics.fillsFailed++,
  ).finally(() => metrics.fillsInFlight--);
  return fill;
}

/**
 * The whole blob from the upstream for a client that joined a fill whose window already left byte 0 and
 * whose store cannot read the blob back before the commit (an object store, a store that did not take the
 * blob): a GET of its own with the caller's credentials, verified in flight by a fill of its own that the
 * store does not take (paced to this client, so it holds only the window), instead of waiting for the
 * commit and reading the whole blob back from the store.
 */
async function passThrough(
  ctx: ProxyContext,
  request: Request,
  target: Target,
  caller: Caller,
  digest: string,
  defer: Defer,
): Promise<Response> {
  let fill: BlobFill;
  try {
    fill = await openFill(ctx, target, caller, digest, undefined, undefined, false);
  } catch (err) {
    return refused(ctx, err, request, target, caller, digest);
  }
  defer(finished(fill));
  return serveBlob(ctx, request, digest, fill.size, (range) => fill.subscribe(range?.start, range?.end));
}

/**
 * A blob over `streamThroughAbove` for this client (see _stream_through.ts): `body`, the upstream GET of
 * the whole blob this request opened (the client's range cut from it), else a GET of its own with the
 * caller's credentials, streamed through verified, neither stored nor shared: no other request's code ever
 * reads it. Without `body`, a range is forwarded upstream as a range (see forwardRange: nothing would be
 * kept for a later client anyway, and a range cut from the whole blob waits for all of it to be verified),
 * and a HEAD is the upstream's HEAD (as on a miss), so `size` (another request's) answers nothing here.
 */
async function streamThrough(
  ctx: ProxyContext,
  request: Request,
  target: Target,
  caller: Caller,
  digest: string,
  size: number,
  defer: Defer,
  body?: ReadableStream<Uint8Array>,
): Promise<Response> {
  let blob = body === undefined ? undefined : { body, size };
  if (blob === undefined) {
    // Nothing of this request's own reached the upstream yet: whatever it is answered, the upstream decides
    // with the caller's credentials (the size another request learnt is no answer for this caller).
    if (request.method === "HEAD") {
      try {
        const info = await headBlob(ctx, target, caller, digest);
        ctx.access.confirm(scopeOf(target, caller), digest);
        return new Response(null, { headers: blobHeaders(digest, info.size) });
      } catch (err) {
        return refused(ctx, err, request, target, caller, digest);
      }
    }
    const wanted = parseOpenRange(request.headers.get("range"));
    if (wanted !== undefined) return await forwardRange(ctx, request, target, caller, digest, wanted, defer);
    try {
      blob = await wholeBlob(ctx, target, caller, digest);
    } catch (err) {
      return refused(ctx, err, request, target, caller, digest);
    }
  }
  const { metrics } = ctx;
  let read = false;
  const opened = blob;
  const answer = await serveBlob(ctx, request, digest, opened.size, (range) => {
    read = true;
    metrics.cacheMisses.blob++;
    return verifiedStream(opened.body, {
      digest,
      size: opened.size,
      ...(range ? { start: range.start, end: range.end } : {}),
      ...(ctx.hasher ? { hasher: ctx.hasher } : {}),
      readTimeout: ctx.readTimeout,
      onBytes: (n) => metrics.upstreamBytes += n,
    });
  });
  if (!read) opened.body.cancel().catch(() => {});
  return answer;
}

/** HEAD of a blob upstream with the caller's credentials: its size, or a TugError. */
export async function headBlob(
  ctx: ProxyContext,
  target: Target,
  caller: Caller,
  digest: string,
): Promise<{ size: number }> {
  const transport = transportFor(ctx, target, caller);
  const response = await transport(
    new Request(`${target.upstream.url}/v2/${target.repo}/blobs/${digest}`, { method: "HEAD" }),
  );
  await response.body?.cancel();
  if (!response.ok) {
    throw new TugError(
      response.status === 404
        ? "BLOB_UNKNOWN"
        : response.status === 401
        ? "UNAUTHORIZED"
        : "UNEXPECTED_STATUS",
      `Cannot check blob "${target.key}@${digest}": registry returned ${response.status}`,
      { detail: { status: response.status, errors: [] } },
    );
  }
  // The size is relayed to the client as Content-Length: only a plain number passes.
  const length = response.headers.get("content-length")?.trim();
  if (length === undefined || !/^\d+$/.test(length) || !Number.isSafeInteger(Number(length))) {
    throw new TugError(
      "UNEXPECTED_STATUS",
      `Cannot check blob "${target.key}@${digest}": the upstream sent Content-Length ${
        JSON.stringify(length ?? null)
      }`,
      { detail: { status: 502, errors: [] } },
    );
  }
  return { size: Number(length) };
}

/**
 * Forwards a range upstream with the caller's credentials. Upstream bytes reach the client unverified
 * only as the 206 of exactly the range asked for (Content-Range and Content-Length checked, the body
 * counted: it errors on a byte more or less). A 200 (the range ignored) is a whole blob: it becomes the
 * fill, verified in flight, and the client's range is served from it, never relayed as it came.
 */
export async function forwardRange(
  ctx: ProxyContext,
  request: Request,
  target: Target,
  caller: Caller,
  digest: string,
  wanted: OpenRange,
  defer: Defer,
): Promise<Response> {
  const transport = transportFor(ctx, target, caller);
  const what = `Cannot fetch a range of blob "${target.key}@${digest}"`;
  let response: Response;
  try {
    response = await answeredWithin(
      ctx,
      what,
      (signal) =>
        transport(
          new Request(`${target.upstream.url}/v2/${target.repo}/blobs/${digest}`, {
            // Rebuilt from the parsed range: the client's header text never goes upstream.
            headers: { range: rangeHeader(wanted) },
            ...(signal ? { signal } : {}),
          }),
        ),
      (late) => late.body?.cancel().catch(() => {}),
    );
  } catch (err) {
    return refused(ctx, err, request, target, caller, digest);
  }
  if (response.status === 416) {
    // The client's range starts past the blob: its answer, with the size when the upstream says it.
    await response.body?.cancel();
    const size = /^bytes \*\/(\d+)$/.exec(response.headers.get("content-range")?.trim() ?? "")?.[1];
    return errorResponse(416, "BLOB_UNKNOWN", `${what}: range not satisfiable`, {
      ...(size !== undefined ? { "content-range": `bytes */${size}` } : {}),
    });
  }
  if (!response.ok) {
    await response.body?.cancel();
    return refused(
      ctx,
      new TugError(
        "UNEXPECTED_STATUS",
        `Cannot fetch blob "${target.key}@${digest}": registry returned ${response.status}`,
        {
          detail: { status: response.status, errors: [] },
        },
      ),
      request,
      target,
      caller,
      digest,
    );
  }
  ctx.access.confirm(scopeOf(target, caller), digest);
  if (response.status === 200 && response.body !== null) {
    const length = response.headers.get("content-length");
    if (length !== null && /^\d+$/.test(length) && streamsThrough(ctx.streamThroughAbove, Number(length))) {
      // The range ignored, and the blob too large to share: this client's range cut from it, verified.
      return streamThrough(ctx, request, target, caller, digest, Number(length), defer, response.body);
    }
    const key = fillKey(target, digest);
    let pending = ctx.fills.get(key);
    let started = false;
    if (pending === undefined) {
      started = true;
      pending = startFill(ctx, target, caller, digest, {
        body: response.body,
        ...(length !== null && /^\d+$/.test(length) ? { size: Number(length) } : {}),
      });
    } else {
      await response.body.cancel();
    }
    let fill: BlobFill;
    try {
      fill = await pending;
    } catch (err) {
      if (err instanceof StreamedThrough) {
        return streamThrough(
          ctx,
          request,
          target,
          caller,
          digest,
          err.size,
          defer,
          started ? err.take() : undefined,
        );
      }
      return refused(ctx, err, request, target, caller, digest);
    }
    defer(finished(fill));
    return serveBlob(ctx, request, digest, fill.size, (range) => fill.subscribe(range?.start, range?.end));
  }
  const served = response.status === 206
    ? checkRangeAnswer(
      wanted,
      response.headers.get("content-range"),
      response.headers.get("content-length"),
    )
    : `status ${response.status}`;
  if (typeof served === "string" || response.body === null) {
    await response.body?.cancel();
    return errorResponse(
      502,
      "UNKNOWN",
      `${what}: the upstream answered ${typeof served === "string" ? served : "without a body"}`,
    );
  }
  const length = served.end - served.start;
  const headers = v2Headers({
    "content-type": "application/octet-stream",
    "docker-content-digest": digest,
    "accept-ranges": "bytes",
    "content-length": String(length),
    "content-range": `bytes ${served.start}-${served.end - 1}/${served.size}`,
  });
  const relayed = withIdleLimit(response.body, ctx.readTimeout, what).pipeThrough(exactLength(length, what));
  ctx.metrics.clientBlobBytes += length;
  return new Response(clientBody(ctx, relayed, length), {
    status: 206,
    headers,
  });
}

/**
 * Answers `GET`/`HEAD` of the blob `digest` of `target` for `caller`: from the store after the access
 * decision, else from the fill of this upstream (joined or started), else forwarded (a Range far in). A
 * cached blob deleted before it could be read is a miss (`again`: this is the one retry of such a request).
 */
export async function blobRoute(
  ctx: ProxyContext,
  request: Request,
  target: Target,
  caller: Caller,
  digest: string,
  defer: Defer,
  again = false,
): Promise<Response> {
  const { fills, metrics, store } = ctx;
  const invalid = checkBlobDigest(digest);
  if (invalid) return invalid;
  /** The access decision (a HEAD upstream with the caller's credentials unless confirmed); undefined: serve. */
  const check = async (allowIfDown: boolean): Promise<Response | undefined> => {
    const decision = await ctx.access.authorize(
      scopeOf(target, caller),
      digest,
      () => headBlob(ctx, target, caller, digest).then(() => {}),
      (err) => allowIfDown && isUpstreamDown(err),
    );
    return decision.ok ? undefined : refused(ctx, decision.error, request, target, caller, digest);
  };

  const key = fillKey(target, digest);
  let pending = fills.get(key);
  if (pending === undefined) {
    const info = await store.blobs.stat(digest);
    if (info !== undefined) {
      const denied = await check(true);
      if (denied) return denied;
      // With `redirect`, a GET goes to the object store (after the access decision; see _redirect.ts).
      const redirected = await redirectToStore(ctx, request, digest);
      if (redirected) {
        metrics.cacheHits.blob++;
        return redirected;
      }
      // Gone since the stat (evicted elsewhere, see _vanished.ts): a miss, filled below.
      const cached = await fromCache(() =>
        serveBlob(
          ctx,
          request,
          digest,
          info.size,
          (range) => store.blobs.get(digest, range && { start: range.start, end: range.end }),
        )
      );
      if (cached !== undefined) {
        metrics.cacheHits.blob++;
        return cached;
      }
    }
    pending = fills.get(key);
  }
  const wanted = parseOpenRange(request.headers.get("range"));
  if (request.method === "HEAD" && pending === undefined) {
    // A HEAD on a miss: the upstream's answer is relayed; nothing to fill yet.
    try {
      const info = await headBlob(ctx, target, caller, digest);
      ctx.access.confirm(scopeOf(target, caller), digest);
      return new Response(null, { headers: blobHeaders(digest, info.size) });
    } catch (err) {
      return refused(ctx, err, request, target, caller, digest);
    }
  }
  if (pending === undefined && wanted !== undefined && wanted.start >= RANGE_FROM_FILL) {
    // Far into a blob nobody is downloading: forward the range, and fill the cache alongside (unless the
    // upstream's answer to the range already started the fill).
    const forwarded = await forwardRange(ctx, request, target, caller, digest, wanted, defer);
    // The blob's size from the 206's Content-Range (checked by forwardRange): one over the limit is not
    // filled (it would be streamed through to nobody).
    const total = /\/(\d+)$/.exec(forwarded.headers.get("content-range") ?? "")?.[1];
    if (
      forwarded.status === 206 && !fills.has(key) &&
      !(total !== undefined && streamsThrough(ctx.streamThroughAbove, Number(total)))
    ) {
      defer(
        startFill(ctx, target, caller, digest).then(finished).catch((err) => {
          if (err instanceof StreamedThrough) err.discard();
        }),
      );
    }
    return forwarded;
  }
  let started = false;
  if (pending === undefined) {
    pending = startFill(ctx, target, caller, digest);
    started = true;
  }
  let fill: BlobFill;
  try {
    fill = await pending;
  } catch (err) {
    if (err instanceof StreamedThrough) {
      // Too large to share: the starter streams the body it opened; every other client GETs its own (on
      // workerd no request may read another's upstream body); a range of theirs goes upstream as a range.
      return await streamThrough(
        ctx,
        request,
        target,
        caller,
        digest,
        err.size,
        defer,
        started ? err.take() : undefined,
      );
    }
    // The error of a fill another request started (maybe through another repository) says nothing about
    // this digest in this repository: only the starter's own 404 marks it gone.
    return refused(ctx, err, request, target, caller, started ? digest : undefined);
  }
  // On workerd, a fill must outlive the response that started it (the other clients, the cache).
  defer(finished(fill));
  if (
    !started && request.method === "GET" && wanted !== undefined && fill.running &&
    (wanted.start >= fill.received + RANGE_FROM_FILL || !fill.canServe(wanted.start))
  ) {
    // Far beyond the bytes the fill has (or before those it still has, if its store failed): forwarded,
    // with the caller's credentials, so the client does not wait. Any offset the fill already passed is
    // served from it (read back from the store).
    return await forwardRange(ctx, request, target, caller, digest, wanted, defer);
  }
  if (!started || fill.elsewhere) {
    // A fill another process runs confirmed nothing for this caller: the same check as a cache hit.
    const denied = await check(fill.elsewhere);
    if (denied) return denied;
  }
  if (!started && fill.ended && !fill.cached && !again) {
    // Failed, or ended without the store taking the blob, before this request joined (its entry is dropped
    // only after the store's abort): no source to stream from. The request starts over, once. A fill that
    // is committing is joined: starting over would download the blob again, and over s3rver (which writes
    // a completed upload in place) its stat() could see the object half written.
    if (fills.get(key) === pending) fills.delete(key);
    return blobRoute(ctx, request, target, caller, digest, defer, true);
  }
  if (!fill.running && fill.cached) {
    // Finished meanwhile: committed, so a redirect to the object store, or a read from the store;
    // evicted since then, the request starts over, once.
    const redirected = await redirectToStore(ctx, request, digest);
    if (redirected) return redirected;
    const cached = await fromCache(() =>
      serveBlob(ctx, request, digest, fill.size, (range) => store.blobs.get(digest, range))
    );
    if (cached !== undefined) return cached;
    if (again) {
      return errorResponse(
        503,
        "UNAVAILABLE",
        `Blob "${digest}" was evicted twice while it was served: try again`,
      );
    }
    // A finished fill is no source to join: drop its entry now (its own cleanup may not have run yet).
    if (fills.get(key) === pending) fills.delete(key);
    return blobRoute(ctx, request, target, caller, digest, defer, true);
  }
  if (
    !started && request.method === "GET" && fill.running && !fill.canServe(wanted?.start ?? 0) &&
    (wanted !== undefined || ctx.paceFills)
  ) {
    // The fill's window left the first byte asked for meanwhile, and its store cannot give it back before
    // the commit: from the upstream (checked here, with no wait before the subscription below).
    return wanted !== undefined
      ? await forwardRange(ctx, request, target, caller, digest, wanted, defer)
      : await passThrough(ctx, request, target, caller, digest, defer);
  }
  metrics.cacheHits.blob += started && !fill.elsewhere ? 0 : 1;
  return serveBlob(ctx, request, digest, fill.size, (range) => fill.subscribe(range?.start, range?.end));
}
