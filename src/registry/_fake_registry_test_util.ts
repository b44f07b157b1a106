// This module is browser compatible.
/**
 * An in-memory registry as a {@linkcode FetchLike}, for the unit tests beside the code of the puller and
 * the proxy (the integration tests in test/ use a real docker-registry). It serves images and indexes per
 * repository, answers tag lists (with `Link` pages), HEAD and Range requests, can require Basic
 * credentials, can delay or override any request, and records every request it gets. Several hosts can be
 * put behind one FetchLike with {@linkcode fakeHosts}; a host that is not there refuses the connection as
 * fetch does (a `TypeError`). Test-only: the file name ends in `_test_util.ts`, so it is neither a test nor
 * part of the library's exports.
 *
 * @module
 */

import { digestBytes } from "../digest/digest_bytes.ts";
import type { Platform } from "../manifest/types.ts";
import type { FetchLike } from "./types.ts";

const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const INDEX = "application/vnd.oci.image.index.v1+json";

/** One image: its manifest, config and layer bytes and digests. */
export interface FakeImage {
  readonly manifest: Uint8Array;
  readonly manifestDigest: string;
  readonly config: Uint8Array;
  readonly configDigest: string;
  readonly layer: Uint8Array;
  readonly layerDigest: string;
}

/** An index over images, one per platform. */
export interface FakeIndex {
  readonly manifest: Uint8Array;
  readonly manifestDigest: string;
  readonly children: readonly { readonly image: FakeImage; readonly platform: Platform }[];
}

/** What one repository holds: an image, or an index whose children are served too. */
export type FakeContent = FakeImage | FakeIndex;

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** Builds a valid single-layer image whose layer is `size` bytes (an uncompressed "tar" of `fill`). */
export async function fakeImage(
  size = 1000,
  fill = 7,
  platform: Platform = { os: "linux", architecture: "amd64" },
): Promise<FakeImage> {
  const layer = new Uint8Array(size).fill(fill);
  const layerDigest = await digestBytes(layer, "sha256");
  const config = encode({
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant === undefined ? {} : { variant: platform.variant }),
    rootfs: { type: "layers", diff_ids: [layerDigest] },
  });
  const configDigest = await digestBytes(config, "sha256");
  const manifest = encode({
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
  });
  const manifestDigest = await digestBytes(manifest, "sha256");
  return { manifest, manifestDigest, config, configDigest, layer, layerDigest };
}

/** Builds an OCI index over `children`. */
export async function fakeIndex(
  children: readonly { image: FakeImage; platform: Platform }[],
): Promise<FakeIndex> {
  const manifest = encode({
    schemaVersion: 2,
    mediaType: INDEX,
    manifests: children.map(({ image, platform }) => ({
      mediaType: MANIFEST,
      digest: image.manifestDigest,
      size: image.manifest.length,
      platform,
    })),
  });
  return { manifest, manifestDigest: await digestBytes(manifest, "sha256"), children };
}

function isIndex(content: FakeContent): content is FakeIndex {
  return "children" in content;
}

/** Options for {@linkcode fakeRegistry}. */
export interface FakeRegistryOptions {
  /** Repositories that need Basic credentials `user:secret` (a 401 with a Basic challenge otherwise). */
  readonly private?: readonly string[];
  /** The tags every repository has (default `latest` and `v1`). */
  readonly tags?: readonly string[];
  /** Sent as `docker-distribution-api-version` on every answer (default none, as the proxy tests had). */
  readonly apiVersion?: string;
  /**
   * Asked first for every request: a Response (or a rejection) it returns is the answer; `undefined`
   * lets the registry answer. For faults a real registry cannot produce, and for slow answers.
   */
  readonly intercept?: (request: Request) => Promise<Response | undefined> | Response | undefined;
}

/** The fake registry: its FetchLike and what it was asked. */
export interface FakeRegistry {
  readonly fetch: FetchLike;
  /** `METHOD path[?query]` of every request, in order. */
  readonly requests: string[];
  /** The Authorization header of every request, in order (null: none). */
  readonly authorizations: (string | null)[];
}

/** A registry error answer in the distribution spec's shape. */
export function errorResponse(status: number, code: string): Response {
  return new Response(JSON.stringify({ errors: [{ code, message: code }] }), {
    status,
    headers: {
      "content-type": "application/json",
      ...(status === 401 ? { "www-authenticate": 'Basic realm="fake"' } : {}),
    },
  });
}

/**
 * A registry holding `repos` (repository → image or index, tagged with `options.tags`). Manifests are
 * served by tag or digest (an index's children by digest), blobs by digest.
 */
export function fakeRegistry(
  repos: Record<string, FakeContent>,
  options: FakeRegistryOptions = {},
): FakeRegistry {
  const requests: string[] = [];
  const authorizations: (string | null)[] = [];
  const tags = options.tags ?? ["latest", "v1"];
  const extra: Record<string, string> = options.apiVersion === undefined
    ? {}
    : { "docker-distribution-api-version": options.apiVersion };
  const answer = (request: Request): Response => {
    const url = new URL(request.url);
    const head = request.method === "HEAD";
    if (url.pathname === "/v2/") return new Response("{}", { headers: extra });
    const match = /^\/v2\/(.+)\/(manifests|blobs|tags)\/([^/]+)$/.exec(url.pathname);
    const content = match === null ? undefined : repos[match[1]];
    if (match === null || content === undefined) return errorResponse(404, "NAME_UNKNOWN");
    if (
      options.private?.includes(match[1]) &&
      request.headers.get("authorization") !== `Basic ${btoa("user:secret")}`
    ) {
      return errorResponse(401, "UNAUTHORIZED");
    }
    const [, , kind, ref] = match;
    if (kind === "tags") {
      const n = Number(url.searchParams.get("n") ?? tags.length);
      const last = url.searchParams.get("last");
      const rest = last === null ? [...tags] : tags.filter((t) => t > last);
      const page = rest.slice(0, n);
      return Response.json({ name: match[1], tags: page }, {
        headers: {
          ...extra,
          ...(page.length < rest.length
            ? { link: `</v2/${match[1]}/tags/list?n=${n}&last=${page.at(-1)}>; rel="next"` }
            : {}),
        },
      });
    }
    const images = isIndex(content) ? content.children.map((c) => c.image) : [content];
    if (kind === "manifests") {
      const found = tags.includes(ref) || ref === content.manifestDigest
        ? {
          bytes: content.manifest,
          digest: content.manifestDigest,
          type: isIndex(content) ? INDEX : MANIFEST,
        }
        : images.filter((i) => i.manifestDigest === ref).map((i) => ({
          bytes: i.manifest,
          digest: i.manifestDigest,
          type: MANIFEST,
        }))[0];
      if (found === undefined) return errorResponse(404, "MANIFEST_UNKNOWN");
      return new Response(head ? null : found.bytes as Uint8Array<ArrayBuffer>, {
        headers: {
          ...extra,
          "content-type": found.type,
          "content-length": String(found.bytes.length),
          "docker-content-digest": found.digest,
        },
      });
    }
    const bytes =
      images.flatMap((i) => ref === i.layerDigest ? [i.layer] : ref === i.configDigest ? [i.config] : [])[0];
    if (bytes === undefined) return errorResponse(404, "BLOB_UNKNOWN");
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.get("range") ?? "");
    if (range !== null) {
      const start = Number(range[1]);
      if (start >= bytes.length) {
        return new Response(null, { status: 416, headers: { "content-range": `bytes */${bytes.length}` } });
      }
      const end = range[2] === "" ? bytes.length : Math.min(bytes.length, Number(range[2]) + 1);
      return new Response(head ? null : bytes.slice(start, end), {
        status: 206,
        headers: {
          ...extra,
          "content-length": String(end - start),
          "content-range": `bytes ${start}-${end - 1}/${bytes.length}`,
        },
      });
    }
    return new Response(head ? null : bytes as Uint8Array<ArrayBuffer>, {
      headers: { ...extra, "content-length": String(bytes.length) },
    });
  };
  const fetch: FetchLike = async (request) => {
    const url = new URL(request.url);
    requests.push(`${request.method} ${url.pathname}${url.search}`);
    authorizations.push(request.headers.get("authorization"));
    const intercepted = await options.intercept?.(request);
    return intercepted ?? answer(request);
  };
  return { fetch, requests, authorizations };
}

/**
 * One FetchLike for several hosts: `hosts` maps an origin (`https://reg.test`) to the FetchLike behind
 * it. A request to any other origin rejects with a `TypeError`, as fetch does when the connection is
 * refused. `seen` lists the origin of every request, in order.
 */
export function fakeHosts(hosts: Record<string, FetchLike>): { fetch: FetchLike; seen: string[] } {
  const seen: string[] = [];
  const fetch: FetchLike = (request) => {
    const origin = new URL(request.url).origin;
    seen.push(origin);
    const host = hosts[origin];
    if (host === undefined) return Promise.reject(new TypeError(`connection refused: ${origin}`));
    return host(request);
  };
  return { fetch, seen };
}
