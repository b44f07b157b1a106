// This module is browser compatible.
/**
 * `GET`/`HEAD /v2/<name>/manifests/<reference>`: manifests by digest from the cache once the upstream
 * confirmed them for the caller, tags revalidated with a HEAD upstream after `tagTtl` (served stale with a
 * `Warning` while the upstream is down), misses fetched, verified and stored. Private to the proxy.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import type { Descriptor } from "../manifest/types.ts";
import { DEFAULT_MANIFEST_ACCEPT } from "../registry/registry_client.ts";
import { DIGEST_PATTERN, TAG_PATTERN } from "../reference/patterns.ts";
import { verifyManifestDigest } from "../remote/verify_manifest_digest.ts";
import { type Caller, clientFor, refused, scopeOf } from "./_caller.ts";
import { clientBody, type ProxyContext } from "./_context.ts";
import { checkManifestReference } from "./_input.ts";
import { errorResponse, isUpstreamDown, v2Headers } from "./_responses.ts";
import type { Target } from "./_target.ts";
import { fromCache, vanished } from "./_vanished.ts";

const STALE_WARNING = '110 tug "Response is Stale"';

/** The media type a manifest's JSON names (or schema 1's), when its upstream sent no Content-Type. */
export function mediaTypeOf(bytes: Uint8Array): string | undefined {
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as {
      mediaType?: unknown;
      schemaVersion?: unknown;
    };
    if (typeof json.mediaType === "string") return json.mediaType;
    if (json.schemaVersion === 1) return "application/vnd.docker.distribution.manifest.v1+prettyjws";
  } catch {
    // not JSON: no media type to find
  }
  return undefined;
}

/** The media types of an `Accept` header (parameters dropped); the default list when it names none. */
export function acceptList(header: string | null): readonly string[] {
  if (header === null || header.trim() === "") return DEFAULT_MANIFEST_ACCEPT;
  const types = header.split(",").map((t) => t.split(";")[0].trim()).filter(Boolean);
  return types.length > 0 ? types : DEFAULT_MANIFEST_ACCEPT;
}

/** Whether a cached manifest of `mediaType` may answer a request with this `Accept`. */
export function acceptable(header: string | null, mediaType: string): boolean {
  if (header === null || header.trim() === "") return true;
  const types = acceptList(header);
  return types.includes(mediaType) || types.includes("*/*");
}

async function serveManifest(
  ctx: ProxyContext,
  descriptor: Descriptor,
  head: boolean,
  extra: Record<string, string> = {},
): Promise<Response> {
  const headers = v2Headers({
    "content-type": descriptor.mediaType,
    "content-length": String(descriptor.size),
    "docker-content-digest": descriptor.digest,
    etag: `"${descriptor.digest}"`,
    ...extra,
  });
  if (head) return new Response(null, { headers });
  let stream: ReadableStream<Uint8Array>;
  try {
    stream = await ctx.store.blobs.get(descriptor.digest);
  } catch (err) {
    // Deleted since it was found (see manifestRoute): counted as a hit a moment ago, it is a miss.
    if (vanished(err)) ctx.metrics.cacheHits.manifest--;
    throw err;
  }
  return new Response(clientBody(ctx, stream, descriptor.size), { headers });
}

async function cachedManifest(
  ctx: ProxyContext,
  name: string,
  accept: string | null,
): Promise<Descriptor | undefined> {
  const descriptor = await ctx.store.references.get(name);
  if (descriptor === undefined || !acceptable(accept, descriptor.mediaType)) return undefined;
  return (await ctx.store.blobs.stat(descriptor.digest)) === undefined ? undefined : descriptor;
}

/** A cached manifest's bytes (capped when stored), for the confirmations its typed fields carry. */
async function storedManifest(ctx: ProxyContext, descriptor: Descriptor): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await new Response(await ctx.store.blobs.get(descriptor.digest)).arrayBuffer());
  } catch {
    return undefined; // evicted meanwhile: the children are confirmed one by one when asked for
  }
}

/** The upstream confirmed the cached manifest `descriptor` for the caller: it and its typed children. */
async function confirmStored(ctx: ProxyContext, target: Target, caller: Caller, descriptor: Descriptor) {
  const bytes = await storedManifest(ctx, descriptor);
  if (bytes === undefined) ctx.access.confirm(scopeOf(target, caller), descriptor.digest);
  else ctx.access.confirmManifest(scopeOf(target, caller), descriptor.digest, bytes);
}

/** GET of a manifest upstream: verified, stored (blob, digest reference, tag reference), answered. */
async function fetchManifest(
  ctx: ProxyContext,
  request: Request,
  target: Target,
  caller: Caller,
  reference: string,
): Promise<Response> {
  const { access, metrics, store } = ctx;
  const accept = request.headers.get("accept");
  const client = clientFor(ctx, target, caller);
  let manifest;
  try {
    manifest = await client.getManifest(reference, { accept: acceptList(accept) });
  } catch (err) {
    return refused(ctx, err, request, target, caller, DIGEST_PATTERN.test(reference) ? reference : undefined);
  }
  access.grant(scopeOf(target, caller));
  metrics.cacheMisses.manifest++;
  const isDigest = DIGEST_PATTERN.test(reference);
  let digest: string;
  try {
    // The one rule of src/remote/: by digest, or against a sha256 Docker-Content-Digest when sent.
    digest = await verifyManifestDigest(manifest.bytes, {
      expected: isDigest ? reference : undefined,
      digestHeader: manifest.digestHeader,
      name: `${target.key}${isDigest ? "@" : ":"}${reference}`,
    });
  } catch (err) {
    if (err instanceof TugError && err.code === "DIGEST_MISMATCH") {
      return errorResponse(
        502,
        "MANIFEST_UNVERIFIED",
        `The upstream's manifest is not what was asked for: ${err.message}`,
      );
    }
    return errorResponse(400, "DIGEST_INVALID", `Unsupported digest "${reference}"`);
  }
  const mediaType = manifest.contentType || mediaTypeOf(manifest.bytes) ||
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
  const descriptor: Descriptor = { mediaType, digest, size: manifest.bytes.byteLength };
  // Served to this caller from this repository: the manifest and its typed children are confirmed.
  access.confirmManifest(scopeOf(target, caller), digest, manifest.bytes);
  try {
    if ((await store.blobs.stat(digest)) === undefined) {
      const writer = await store.blobs.writer({ digest, size: manifest.bytes.byteLength });
      await writer.write(manifest.bytes);
      await writer.commit();
    }
    await store.references.set(`${target.key}@${digest}`, descriptor);
    if (!isDigest) {
      await store.references.set(`${target.key}:${reference}`, descriptor);
      ctx.tagChecked.set(`${target.key}:${reference}`, ctx.now());
    }
  } catch {
    // A concurrent writer of the same manifest, or a full store: the answer does not depend on it.
  }
  const headers = v2Headers({
    "content-type": mediaType,
    "content-length": String(manifest.bytes.byteLength),
    "docker-content-digest": digest,
    etag: `"${digest}"`,
  });
  if (request.method === "HEAD") return new Response(null, { headers });
  metrics.clientBytes += manifest.bytes.byteLength;
  return new Response(manifest.bytes as Uint8Array<ArrayBuffer>, { headers });
}

/**
 * Answers `GET`/`HEAD` of the manifest `reference` (a tag or a digest) of `target` for `caller`. A cached
 * manifest is served only after the upstream confirmed it for this caller (see AccessCache); a tag only
 * while it was checked upstream within `tagTtl`. One deleted from the store before it could be read is
 * a miss: fetched from the upstream with the caller's credentials and verified (see _vanished.ts).
 */
export async function manifestRoute(
  ctx: ProxyContext,
  request: Request,
  target: Target,
  caller: Caller,
  reference: string,
): Promise<Response> {
  const cached = await fromCache(() => answerManifest(ctx, request, target, caller, reference));
  return cached ?? fetchManifest(ctx, request, target, caller, reference);
}

async function answerManifest(
  ctx: ProxyContext,
  request: Request,
  target: Target,
  caller: Caller,
  reference: string,
): Promise<Response> {
  const { access, metrics } = ctx;
  const invalid = checkManifestReference(reference);
  if (invalid) return invalid;
  const head = request.method === "HEAD";
  const accept = request.headers.get("accept");
  const client = clientFor(ctx, target, caller);
  if (DIGEST_PATTERN.test(reference)) {
    const cached = await cachedManifest(ctx, `${target.key}@${reference}`, accept);
    if (cached === undefined) return fetchManifest(ctx, request, target, caller, reference);
    // Content by digest never changes: with the upstream down, a caller confirmed before still gets it.
    const decision = await access.authorize(
      scopeOf(target, caller),
      reference,
      async () => {
        await client.headManifest(reference, { accept: acceptList(accept) });
        return await storedManifest(ctx, cached);
      },
      isUpstreamDown,
    );
    if (!decision.ok) return refused(ctx, decision.error, request, target, caller, reference);
    metrics.cacheHits.manifest++;
    return serveManifest(ctx, cached, head);
  }
  if (!TAG_PATTERN.test(reference)) return errorResponse(400, "TAG_INVALID", `Invalid tag "${reference}"`);
  const tagName = `${target.key}:${reference}`;
  const cached = await cachedManifest(ctx, tagName, accept);
  const checked = ctx.tagChecked.get(tagName);
  // A tag is answered from the cache only while the tag was checked recently (by anyone) and this caller
  // holds a fresh confirmation of the manifest it names; else the upstream is asked with its credentials.
  if (
    cached !== undefined && checked !== undefined && ctx.now() - checked < ctx.tagTtl &&
    access.mayRead(scopeOf(target, caller), cached.digest)
  ) {
    metrics.cacheHits.manifest++;
    return serveManifest(ctx, cached, head);
  }
  // Revalidate with a HEAD: Docker Hub does not count HEAD requests against the pull limit.
  let found;
  try {
    found = await client.headManifest(reference, { accept: acceptList(accept) });
  } catch (err) {
    if (
      isUpstreamDown(err) && cached !== undefined &&
      access.mayRead(scopeOf(target, caller), cached.digest, true)
    ) {
      metrics.staleServed++;
      metrics.cacheHits.manifest++;
      return serveManifest(ctx, cached, head, { warning: STALE_WARNING });
    }
    return refused(ctx, err, request, target, caller);
  }
  access.grant(scopeOf(target, caller));
  if (found.digest !== undefined) {
    if (cached !== undefined && cached.digest === found.digest) {
      ctx.tagChecked.set(tagName, ctx.now());
      await confirmStored(ctx, target, caller, cached);
      metrics.cacheHits.manifest++;
      return serveManifest(ctx, cached, head);
    }
    const byDigest = await cachedManifest(ctx, `${target.key}@${found.digest}`, accept);
    if (byDigest !== undefined) {
      await ctx.store.references.set(tagName, byDigest).catch(() => {});
      ctx.tagChecked.set(tagName, ctx.now());
      await confirmStored(ctx, target, caller, byDigest);
      metrics.cacheHits.manifest++;
      return serveManifest(ctx, byDigest, head);
    }
    if (head && found.contentType !== undefined && found.size !== undefined) {
      // A HEAD on a miss is answered from the upstream's HEAD; the GET by digest that follows fills.
      access.confirm(scopeOf(target, caller), found.digest);
      return new Response(null, {
        headers: v2Headers({
          "content-type": found.contentType,
          "content-length": String(found.size),
          "docker-content-digest": found.digest,
        }),
      });
    }
  }
  return fetchManifest(ctx, request, target, caller, reference);
}
