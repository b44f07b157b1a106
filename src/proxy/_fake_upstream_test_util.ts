// This module is browser compatible.
/**
 * An in-memory registry as a FetchLike, for the proxy's unit tests (the integration tests in test/ use a
 * real docker-registry). It serves one image per repository, answers Range requests, can require Basic
 * credentials, and records every request it gets. Test-only.
 *
 * @module
 */

import { digestBytes } from "../digest/digest_bytes.ts";
import type { FetchLike } from "../registry/types.ts";
import { createContext, type ProxyContext, type ProxyOptions } from "./_context.ts";
import { MemoryStore } from "../store/memory_store.ts";

const MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** One image: its manifest, config and layer bytes and digests. */
export interface FakeImage {
  readonly manifest: Uint8Array;
  readonly manifestDigest: string;
  readonly config: Uint8Array;
  readonly configDigest: string;
  readonly layer: Uint8Array;
  readonly layerDigest: string;
}

/** Builds a valid single-layer image whose layer is `size` bytes (an uncompressed "tar" of `fill`). */
export async function fakeImage(size = 1000, fill = 7): Promise<FakeImage> {
  const layer = new Uint8Array(size).fill(fill);
  const layerDigest = await digestBytes(layer, "sha256");
  const config = new TextEncoder().encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [layerDigest] },
  }));
  const configDigest = await digestBytes(config, "sha256");
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST,
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: configDigest,
      size: config.length,
    },
    layers: [{
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: layerDigest,
      size: layer.length,
    }],
  }));
  const manifestDigest = await digestBytes(manifest, "sha256");
  return { manifest, manifestDigest, config, configDigest, layer, layerDigest };
}

/** The fake registry: its FetchLike and what it was asked. */
export interface FakeUpstream {
  readonly fetch: FetchLike;
  /** `METHOD path[?query]` of every request, in order. */
  readonly requests: string[];
  /** The Authorization header of every request, in order (null: none). */
  readonly authorizations: (string | null)[];
}

/**
 * A registry holding `repos` (repository → image, tagged `latest` and `v1`). Repositories in `private` need
 * Basic credentials `user:secret` (a 401 with a Basic challenge otherwise).
 */
export function fakeUpstream(
  repos: Record<string, FakeImage>,
  options: { private?: readonly string[]; tags?: readonly string[] } = {},
): FakeUpstream {
  const requests: string[] = [];
  const authorizations: (string | null)[] = [];
  const tags = options.tags ?? ["latest", "v1"];
  const fetch: FetchLike = (request) => {
    const url = new URL(request.url);
    requests.push(`${request.method} ${url.pathname}${url.search}`);
    authorizations.push(request.headers.get("authorization"));
    const head = request.method === "HEAD";
    const json = (status: number, code: string) =>
      Promise.resolve(
        new Response(JSON.stringify({ errors: [{ code, message: code }] }), {
          status,
          headers: {
            "content-type": "application/json",
            ...(status === 401 ? { "www-authenticate": 'Basic realm="fake"' } : {}),
          },
        }),
      );
    if (url.pathname === "/v2/") return Promise.resolve(new Response("{}"));
    const match = /^\/v2\/(.+)\/(manifests|blobs|tags)\/([^/]+)$/.exec(url.pathname);
    const image = match === null ? undefined : repos[match[1]];
    if (match === null || image === undefined) return json(404, "NAME_UNKNOWN");
    if (
      options.private?.includes(match[1]) &&
      request.headers.get("authorization") !== `Basic ${btoa("user:secret")}`
    ) {
      return json(401, "UNAUTHORIZED");
    }
    const [, , kind, ref] = match;
    if (kind === "tags") {
      const n = Number(url.searchParams.get("n") ?? tags.length);
      const last = url.searchParams.get("last");
      const rest = last === null ? [...tags] : tags.filter((t) => t > last);
      const page = rest.slice(0, n);
      return Promise.resolve(
        Response.json({ name: match[1], tags: page }, {
          headers: page.length < rest.length
            ? { link: `</v2/${match[1]}/tags/list?n=${n}&last=${page.at(-1)}>; rel="next"` }
            : {},
        }),
      );
    }
    if (kind === "manifests") {
      if (!tags.includes(ref) && ref !== image.manifestDigest) return json(404, "MANIFEST_UNKNOWN");
      return Promise.resolve(
        new Response(head ? null : image.manifest as Uint8Array<ArrayBuffer>, {
          headers: {
            "content-type": MANIFEST,
            "content-length": String(image.manifest.length),
            "docker-content-digest": image.manifestDigest,
          },
        }),
      );
    }
    const bytes = ref === image.layerDigest
      ? image.layer
      : ref === image.configDigest
      ? image.config
      : undefined;
    if (bytes === undefined) return json(404, "BLOB_UNKNOWN");
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.get("range") ?? "");
    if (range !== null) {
      const start = Number(range[1]);
      if (start >= bytes.length) {
        return Promise.resolve(
          new Response(null, { status: 416, headers: { "content-range": `bytes */${bytes.length}` } }),
        );
      }
      const end = range[2] === "" ? bytes.length : Math.min(bytes.length, Number(range[2]) + 1);
      return Promise.resolve(
        new Response(head ? null : bytes.slice(start, end), {
          status: 206,
          headers: {
            "content-length": String(end - start),
            "content-range": `bytes ${start}-${end - 1}/${bytes.length}`,
          },
        }),
      );
    }
    return Promise.resolve(
      new Response(head ? null : bytes as Uint8Array<ArrayBuffer>, {
        headers: { "content-length": String(bytes.length) },
      }),
    );
  };
  return { fetch, requests, authorizations };
}

/** A context in front of `upstream` as the upstream `hub` (`https://hub.test`), in memory, no retries. */
export function fakeContext(upstream: FakeUpstream, options: Partial<ProxyOptions> = {}): ProxyContext {
  return createContext({
    store: new MemoryStore(),
    upstreams: { hub: "https://hub.test" },
    fetch: upstream.fetch,
    retry: { attempts: 1 },
    ...options,
  });
}
