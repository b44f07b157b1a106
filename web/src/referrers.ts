/**
 * The referrers of a manifest (OCI distribution spec 1.1): the manifests whose `subject` names it, such as
 * signatures, SBOMs and attestations. Asked first of the referrers API
 * (`GET /v2/<name>/referrers/<digest>`); a registry without it answers 404 (distribution 2.x, and tug's
 * proxy, which has no such route), and then the spec's tag schema is read: the index tagged
 * `sha256-<hex>`, whose manifests are the referrers. A 404 there means there are none.
 *
 * @module
 */

import { isTugError } from "../../src/errors.ts";
import type { RegistryClient } from "../../src/registry/mod.ts";

/** One referrer, as the page lists it. */
export interface Referrer {
  /** The referrer manifest's digest. */
  readonly digest: string;
  /** Its media type. */
  readonly mediaType: string;
  /** Its size in bytes. */
  readonly size: number;
  /** Its `artifactType` (the spec puts it in the index entry; absent for some older artifacts). */
  readonly artifactType?: string;
  /** Its `org.opencontainers.image.created` annotation. */
  readonly created?: string;
  /** Without `artifactType`: its config's media type, which then says what it is (the spec's rule). */
  readonly configMediaType?: string;
}

/** The referrers found, and how. */
export interface Referrers {
  /** The referrers, in the order the registry listed them. */
  readonly referrers: Referrer[];
  /** `api`: the referrers API answered; `tag`: the `sha256-<hex>` tag; `none`: both answered 404. */
  readonly via: "api" | "tag" | "none";
}

const INDEX_ACCEPT = ["application/vnd.oci.image.index.v1+json"];

/**
 * The entries of a referrers index (`bytes`); entries that are not descriptors are left out.
 *
 * @example
 * ```ts
 * import { parseReferrers } from "./referrers.ts";
 *
 * const index = { schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: "sha256:" + "a".repeat(64), size: 9, artifactType: "application/spdx+json" }] };
 * console.assert(parseReferrers(new TextEncoder().encode(JSON.stringify(index)))[0].artifactType === "application/spdx+json");
 * ```
 */
export function parseReferrers(bytes: Uint8Array): Referrer[] {
  const value = JSON.parse(new TextDecoder().decode(bytes)) as { manifests?: unknown } | null;
  const manifests = Array.isArray(value?.manifests) ? value.manifests as unknown[] : [];
  const out: Referrer[] = [];
  for (const m of manifests) {
    const d = m as Record<string, unknown> | null;
    if (typeof d?.digest !== "string" || typeof d.mediaType !== "string" || typeof d.size !== "number") {
      continue;
    }
    const created = (d.annotations as Record<string, unknown> | undefined)
      ?.["org.opencontainers.image.created"];
    out.push({
      digest: d.digest,
      mediaType: d.mediaType,
      size: d.size,
      ...(typeof d.artifactType === "string" ? { artifactType: d.artifactType } : {}),
      ...(typeof created === "string" ? { created } : {}),
    });
  }
  return out;
}

/**
 * The referrers of `digest` in `client`'s repository: the referrers API, else the `sha256-<hex>` tag.
 *
 * @example
 * ```ts ignore
 * const { referrers } = await fetchReferrers(source.client(ref), image.descriptor.digest);
 * ```
 */
export async function fetchReferrers(
  client: RegistryClient,
  digest: string,
  signal?: AbortSignal,
): Promise<Referrers> {
  try {
    const got = await client.getReferrers(digest, signal ? { signal } : {});
    return { referrers: parseReferrers(got.bytes), via: "api" };
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const tag = digest.replace(":", "-");
  try {
    const got = await client.getManifest(tag, { accept: INDEX_ACCEPT, ...(signal ? { signal } : {}) });
    return { referrers: parseReferrers(got.bytes), via: "tag" };
  } catch (err) {
    if (isNotFound(err)) return { referrers: [], via: "none" };
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return isTugError(err) && (err.detail as { status?: unknown } | undefined)?.status === 404;
}

/** The most referrers without `artifactType` whose manifest is read for its config's media type. */
export const CONFIG_LOOKUPS = 20;

/**
 * Fills in `configMediaType` for referrers without `artifactType` (the image spec says the config's media
 * type then names the artifact), reading each manifest with `load` (the first {@linkcode CONFIG_LOOKUPS});
 * a manifest that cannot be read leaves its referrer as it was.
 *
 * @example
 * ```ts
 * import { withConfigTypes } from "./referrers.ts";
 *
 * const r = { digest: "sha256:" + "a".repeat(64), mediaType: "application/vnd.oci.image.manifest.v1+json", size: 1 };
 * const [filled] = await withConfigTypes([r], () => Promise.resolve({ config: { mediaType: "application/vnd.dev.cosign.simplesigning.v1+json" } }));
 * console.assert(filled.configMediaType === "application/vnd.dev.cosign.simplesigning.v1+json");
 * ```
 */
export async function withConfigTypes(
  referrers: readonly Referrer[],
  load: (referrer: Referrer) => Promise<{ config?: { mediaType?: string } } | undefined>,
): Promise<Referrer[]> {
  let lookups = 0;
  return await Promise.all(referrers.map(async (r) => {
    if (r.artifactType !== undefined || lookups++ >= CONFIG_LOOKUPS) return r;
    const mediaType = await load(r).then((m) => m?.config?.mediaType, () => undefined);
    return typeof mediaType === "string" ? { ...r, configMediaType: mediaType } : r;
  }));
}

/** What a referrer is, in words the page shows: its artifact type, else its config's, else its own. */
export function referrerType(referrer: Referrer): string {
  return referrer.artifactType ?? referrer.configMediaType ?? referrer.mediaType;
}
