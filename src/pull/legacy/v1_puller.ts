// This module is browser compatible.
/**
 * The v1 puller: Docker's legacy registry protocol (moby distribution/pull_v1.go, registry/session.go),
 * for registries that predate the v2 API. Only tags can be pulled; each v1 image is a chain of layers
 * named by random IDs, described by a v1 JSON document each, and is converted here into an OCI image
 * (config built from the v1 JSON chain, diffIDs computed from the layer data) so that everything
 * downstream reads it like any other image.
 *
 * The handshake, numbered as the requests go out:
 * 1. `GET /v1/_ping` (the `X-Docker-Registry-Version` header names the registry's version);
 * 2. `GET /v1/repositories/NAME/images` with `X-Docker-Token: true` → `X-Docker-Token` (sent back as
 *    `Authorization: Token …`) and `X-Docker-Endpoints` (where the images are);
 * 3. `GET /v1/repositories/NAME/tags/TAG` → the image ID;
 * 4. `GET /v1/images/ID/ancestry` → the IDs of the chain, top first;
 * 5. per layer, base first: `GET /v1/images/ID/json`, then `GET /v1/images/ID/layer`.
 *
 * A v1 layer comes with neither a digest nor a size, and a store only takes blobs of known digest: each
 * layer is read once to hash it (its digest, size and diffID), then fetched again through the download
 * manager, which verifies it against that digest, resumes with `Range` where the server allows, and
 * commits it.
 *
 * @module
 */

import { describeNetworkError } from "../../registry/describe_network_error.ts";
import { TugError } from "../../errors.ts";
import { wasmHasher } from "../../digest/wasm_hasher.ts";
import type { Descriptor, ImageManifest } from "../../manifest/types.ts";
import { MAX_MANIFEST_SIZE } from "../../manifest/parse_manifest.ts";
import type { Endpoint } from "../../registry/lookup_endpoints.ts";
import { readLimited } from "../../registry/read_limited.ts";
import type { Credentials } from "../../registry/types.ts";
import type { Reference } from "../../reference/reference.ts";
import { referenceKey } from "../../reference/reference_key.ts";
import type { BlobSource, DownloadManager } from "../download_manager.ts";
import { fallbackAt, noSupport } from "../fallback_policy.ts";
import type { PullOptions, PullOutcome } from "../types.ts";
import {
  isLineUpdate,
  layerEvent,
  messageEvent,
  type ProgressHandler,
  statusEvent,
  updateEvent,
} from "../events.ts";
import type { Store } from "../../store/types.ts";
import {
  buildLegacyImage,
  hashLayer,
  layerMediaType,
  type LegacyEntry,
  resumableBody,
} from "./_legacy_image.ts";
import { putSmallBlob } from "../_small_blob.ts";

// Documents (JSON) are capped like manifests.
const MAX_JSON_BYTES = MAX_MANIFEST_SIZE;
const V1_ID = /^[a-f0-9]{64}$/;

/**
 * Pulls a tagged image from a legacy v1 registry endpoint into `options.store`.
 *
 * Errors after which Docker tries the next endpoint come back as `FallbackError`: a digest
 * reference (`NO_SUPPORT`, v1 has no digests) and a failed connection to the registry. Anything that
 * goes wrong once the registry answered stops the pull, as in Docker.
 *
 * @param endpoint A version 1 endpoint from `lookupEndpoints`.
 * @param ref The reference, with a tag.
 * @param downloads The download manager that fetches and verifies the layers.
 * @param options The pull options (store, fetch, credentials, hasher, progress, signal).
 * @returns What the pull stored; `digest` is the digest of the converted OCI manifest.
 *
 * @example Pull from a legacy registry (defined, not run: it needs one)
 * ```ts
 * import { pullV1 } from "./v1_puller.ts";
 * import { DownloadManager } from "../download_manager.ts";
 * import { MemoryStore } from "../../store/memory_store.ts";
 * import { parseReference } from "../../reference/parse_reference.ts";
 *
 * async function pullLegacy(host: string): Promise<string> {
 *   const endpoint = { url: `http://${host}`, version: 1 as const, mirror: false, official: false };
 *   const ref = parseReference(`${host}/old/app:v1`);
 *   const result = await pullV1(endpoint, ref, new DownloadManager(), { store: new MemoryStore() });
 *   return result.status;
 * }
 * console.assert(typeof pullLegacy === "function");
 * ```
 */
export async function pullV1(
  endpoint: Endpoint,
  ref: Reference,
  downloads: DownloadManager,
  options: PullOptions,
): Promise<PullOutcome> {
  if (ref.digest !== undefined) {
    // Docker's ErrNoSupport; it falls back because https v1 comes before http v2 in older orders.
    throw noSupport(`Cannot pull by digest with v1 registry (${ref.familiar} from ${endpoint.url})`);
  }
  if (ref.tag === undefined) throw new TypeError(`pullV1() needs a tagged reference, got ${ref.familiar}`);
  const session = new V1Session(endpoint.url, options);
  // 1. The ping: only a connection failure counts (Docker reads no status from /v1/_ping).
  try {
    await session.ping();
  } catch (err) {
    throw fallbackAt("ping", err, options.signal);
  }
  return await new V1Puller({ session, ref, tag: ref.tag, downloads, options }).pull();
}

/**
 * One pull from one v1 registry (moby distribution/pull_v1.go `v1Puller`): the session with the
 * registry, the reference and its tag, the download manager and the pull's options.
 */
class V1Puller {
  readonly session: V1Session;
  readonly ref: Reference;
  readonly tag: string;
  readonly downloads: DownloadManager;
  readonly options: PullOptions;
  readonly store: Store;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ProgressHandler;

  constructor(init: {
    session: V1Session;
    ref: Reference;
    tag: string;
    downloads: DownloadManager;
    options: PullOptions;
  }) {
    this.session = init.session;
    this.ref = init.ref;
    this.tag = init.tag;
    this.downloads = init.downloads;
    this.options = init.options;
    this.store = init.options.store;
    this.signal = init.options.signal;
    this.onProgress = init.options.onProgress ?? (() => {});
  }

  /** The repository's endpoints, the tag's image, then the image from the first endpoint that serves it. */
  async pull(): Promise<PullOutcome> {
    const { session, ref, tag, store, onProgress } = this;
    onProgress(messageEvent(`Pulling repository ${ref.name}`));

    // 2. The token dance and the endpoints.
    const endpoints = await session.repositoryData(ref.path, tag);
    // 3. The tag's image ID: the first endpoint that knows it.
    const imageId = await session.remoteTag(endpoints, ref.path, tag, ref.name);
    // The one spelling of a store key every puller uses (src/reference/reference_key.ts).
    const previous = await store.references.get(referenceKey(ref));

    const short = imageId.slice(0, 12);
    onProgress(updateEvent(short, `Pulling image (${tag}) from ${ref.name}`));
    let lastErr: Error | undefined;
    for (const base of endpoints) {
      onProgress(updateEvent(short, `Pulling image (${tag}) from ${ref.name}, endpoint: ${base}`));
      try {
        const result = await this.#pullImage(base, imageId, previous);
        onProgress(statusEvent(result.status));
        onProgress(messageEvent(
          `${ref.name}: this image was pulled from a legacy registry.  ` +
            `Important: This registry version will not be supported in future versions of docker.`,
        ));
        return result;
      } catch (err) {
        if (this.signal?.aborted) throw err;
        lastErr = err as Error;
        onProgress(
          updateEvent(
            short,
            `Error pulling image (${tag}) from ${ref.name}, endpoint: ${base}, ${lastErr.message}`,
          ),
        );
      }
    }
    const message = `Error pulling image (${tag}) from ${ref.name}, ${lastErr?.message ?? "no endpoints"}`;
    onProgress(updateEvent(short, message));
    throw lastErr instanceof TugError
      ? new TugError(lastErr.code, message, { cause: lastErr, detail: lastErr.detail })
      : new TugError("UNKNOWN", message, { cause: lastErr });
  }

  async #pullImage(base: string, imageId: string, previous: Descriptor | undefined): Promise<PullOutcome> {
    const { session, ref, downloads, store, signal, onProgress } = this;
    const hasher = this.options.hasher ?? wasmHasher;
    // 4. The chain, top first.
    const ancestry = await session.ancestry(base, imageId);
    if (ancestry.length === 0) throw new TugError("UNEXPECTED_STATUS", `empty history for image ${imageId}`);
    if (ancestry[0] !== imageId) {
      throw new TugError(
        "UNEXPECTED_STATUS",
        `the ancestry of image ${imageId} starts with ${ancestry[0]}, not the image itself`,
      );
    }
    if (new Set(ancestry).size !== ancestry.length) {
      throw new TugError("UNEXPECTED_STATUS", `the ancestry of image ${imageId} names an image twice`);
    }
    onProgress(updateEvent(imageId.slice(0, 12), "Pulling dependent layers"));

    // 5. Base first: the JSON, then the layer, hashed once and then fetched into the store, verified.
    const entries: LegacyEntry[] = [];
    let downloaded = false;
    for (let i = ancestry.length - 1; i >= 0; i--) {
      const layerId = ancestry[i];
      const id = layerId.slice(0, 12);
      onProgress(updateEvent(id, "Pulling metadata"));
      const v1Json = await session.imageJson(base, layerId, ancestry[i + 1]);
      onProgress(layerEvent(id, "Pulling fs layer"));
      const body = resumableBody((start) => session.layerBody(base, layerId, start), { signal });
      const facts = await hashLayer(body, hasher, `layer ${layerId}`, signal);
      const descriptor: Descriptor = {
        mediaType: layerMediaType(facts.gzip),
        digest: facts.digest,
        size: facts.size,
      };
      const source: BlobSource = {
        getBlob: (_digest, opts = {}) => session.layerBody(base, layerId, opts.start ?? 0, opts.signal),
      };
      const outcome = await downloads.download(source, store.blobs, descriptor, {
        signal,
        // The manager names the line by the blob's digest; v1 names it by the layer's image id.
        onProgress: (event) => onProgress(isLineUpdate(event) ? { ...event, id } : event),
      });
      if (outcome === "downloaded") downloaded = true;
      entries.push({ v1Json, layer: { descriptor, diffId: facts.diffId } });
    }
    const image = await buildLegacyImage(entries, "");
    downloaded = (await putSmallBlob(store, image.config, image.configBytes)) || downloaded;
    downloaded = (await putSmallBlob(store, image.manifest, image.manifestBytes)) || downloaded;
    for (const name of [referenceKey(ref), `${ref.name}@${image.manifest.digest}`]) {
      await store.references.set(name, image.manifest);
    }
    const upToDate = !downloaded && previous?.digest === image.manifest.digest;
    const status = upToDate
      ? `Image is up to date for ${ref.familiar}`
      : `Downloaded newer image for ${ref.familiar}`;
    const manifest = JSON.parse(new TextDecoder().decode(image.manifestBytes)) as ImageManifest;
    return {
      reference: ref.toString(),
      familiar: ref.familiar,
      digest: image.manifest.digest,
      status,
      downloaded: !upToDate,
      images: [{ descriptor: image.manifest, manifest }],
    };
  }
}

/** One conversation with a v1 registry: its fetch, its credentials, and the token it handed out. */
class V1Session {
  readonly #index: URL;
  readonly #fetch: (request: Request) => Promise<Response>;
  readonly #options: PullOptions;
  #token: string | undefined;
  #basic: string | undefined;
  #credentialsLoaded = false;

  constructor(url: string, options: PullOptions) {
    this.#index = new URL(url);
    const io = options.fetch ?? ((request: Request) => fetch(request));
    this.#fetch = options.transport ? options.transport(io) : io;
    this.#options = options;
  }

  async #credentials(): Promise<void> {
    if (this.#credentialsLoaded) return;
    this.#credentialsLoaded = true;
    const given = this.#options.credentials;
    const creds: Credentials | undefined = typeof given === "function"
      ? await given(this.#index.host)
      : given;
    if (creds && "username" in creds) {
      const bytes = new TextEncoder().encode(`${creds.username}:${creds.password}`);
      let binary = "";
      for (const b of bytes) binary += String.fromCharCode(b);
      this.#basic = `Basic ${btoa(binary)}`;
    }
  }

  async #get(
    url: string,
    what: string,
    headers: Record<string, string> = {},
    signal = this.#options.signal,
  ): Promise<Response> {
    await this.#credentials();
    const all = new Headers(headers);
    if (this.#options.userAgent) all.set("user-agent", this.#options.userAgent);
    // Docker's v1 session: the token once the index handed one out, Basic credentials before that. The
    // password is for the index's origin only: endpoints the index names (`X-Docker-Endpoints`) get the
    // token it issued for them, never the password (credentials bound to their origin, issue H).
    if (this.#token !== undefined) all.set("authorization", `Token ${this.#token}`);
    else if (this.#basic !== undefined && new URL(url).origin === this.#index.origin) {
      all.set("authorization", this.#basic);
    }
    try {
      return await this.#fetch(new Request(url, { headers: all, ...(signal ? { signal } : {}) }));
    } catch (err) {
      if (signal?.aborted) {
        throw new TugError("ABORTED", "The pull was cancelled", { cause: signal.reason });
      }
      throw new TugError("NETWORK", `Cannot ${what}: ${describeNetworkError(err)} (${url})`, { cause: err });
    }
  }

  async #json(response: Response, what: string): Promise<unknown> {
    const text = await readCapped(response, MAX_JSON_BYTES);
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new TugError("UNEXPECTED_STATUS", `Cannot ${what}: the answer is not JSON`, { cause: err });
    }
  }

  async ping(): Promise<string | undefined> {
    const response = await this.#get(new URL("/v1/_ping", this.#index).href, "ping the v1 registry");
    await response.body?.cancel();
    return response.headers.get("x-docker-registry-version") ?? undefined;
  }

  /** `GET /v1/repositories/NAME/images` with `X-Docker-Token: true`: the endpoints, base URLs ending in `/v1/`. */
  async repositoryData(path: string, tag: string): Promise<string[]> {
    const url = new URL(`/v1/repositories/${path}/images`, this.#index).href;
    const response = await this.#get(url, `list the images of ${path}`, { "x-docker-token": "true" });
    if (response.status === 404) {
      await response.body?.cancel();
      throw new TugError("NOT_FOUND", `image ${path}:${tag} not found`, { detail: { status: 404 } });
    }
    if (response.status === 401) {
      await response.body?.cancel();
      throw new TugError("UNAUTHORIZED", `unauthorized: the v1 registry refused access to ${path}`, {
        detail: { status: 401 },
      });
    }
    if (response.status !== 200) {
      const body = await readCapped(response, 4096).catch(() => "");
      throw new TugError(
        "UNEXPECTED_STATUS",
        `Error: Status ${response.status} trying to pull repository ${path}: ${JSON.stringify(body)}`,
        { detail: { status: response.status } },
      );
    }
    await this.#json(response, `list the images of ${path}`);
    const token = response.headers.get("x-docker-token");
    if (token) this.#token = token;
    const listed = response.headers.get("x-docker-endpoints");
    if (!listed) return [new URL("/v1/", this.#index).href];
    // The registries named must be reached with the index's scheme (Docker's buildEndpointsList).
    return listed.split(",").map((host) => host.trim()).filter((host) => host !== "").map((host) =>
      `${this.#index.protocol}//${host}/v1/`
    );
  }

  /** `GET repositories/NAME/tags/TAG` on each endpoint until one knows the tag. */
  async remoteTag(endpoints: string[], path: string, tag: string, name: string): Promise<string> {
    for (const base of endpoints) {
      const response = await this.#get(
        `${base}repositories/${path}/tags/${tag}`,
        `look up tag ${tag} of ${path}`,
      );
      if (response.status === 404) {
        await response.body?.cancel();
        continue;
      }
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new TugError(
          "UNEXPECTED_STATUS",
          `Internal server error: ${response.status} trying to fetch remote tags for ${path}`,
          { detail: { status: response.status } },
        );
      }
      const id = await this.#json(response, `look up tag ${tag} of ${path}`);
      if (typeof id !== "string" || !V1_ID.test(id)) {
        throw new TugError(
          "UNEXPECTED_STATUS",
          `the v1 registry answered tag ${tag} of ${path} with an invalid image ID`,
        );
      }
      return id;
    }
    throw new TugError("NOT_FOUND", `Tag ${tag} not found in repository ${name}`);
  }

  async ancestry(base: string, id: string): Promise<string[]> {
    const response = await this.#get(`${base}images/${id}/ancestry`, `fetch the history of image ${id}`);
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new TugError(
        response.status === 401 ? "UNAUTHORIZED" : "UNEXPECTED_STATUS",
        `Server error: ${response.status} trying to fetch remote history for ${id}`,
        { detail: { status: response.status } },
      );
    }
    const ids = await this.#json(response, `fetch the history of image ${id}`);
    if (!Array.isArray(ids) || ids.some((x) => typeof x !== "string" || !V1_ID.test(x))) {
      throw new TugError("UNEXPECTED_STATUS", `the history of image ${id} is not a list of image IDs`);
    }
    return ids as string[];
  }

  /** The image's v1 JSON, checked against the chain: its own ID and its parent's. */
  async imageJson(base: string, id: string, parent: string | undefined): Promise<string> {
    const response = await this.#get(`${base}images/${id}/json`, `fetch the JSON of image ${id}`);
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new TugError(
        response.status === 401 ? "UNAUTHORIZED" : "UNEXPECTED_STATUS",
        `HTTP code ${response.status} while fetching the JSON of image ${id}`,
        { detail: { status: response.status } },
      );
    }
    const text = await readCapped(response, MAX_JSON_BYTES);
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new TugError("CONFIG_INVALID", `the JSON of image ${id} is not valid JSON`, { cause: err });
    }
    const v1 = doc as { id?: unknown; parent?: unknown };
    if (typeof doc !== "object" || doc === null || Array.isArray(doc) || v1.id !== id) {
      throw new TugError("CONFIG_INVALID", `the JSON of image ${id} does not describe image ${id}`);
    }
    if ((v1.parent || undefined) !== parent) {
      throw new TugError(
        "CONFIG_INVALID",
        `invalid parent ID in the JSON of image ${id}: expected ${parent ?? "none"}, got ${
          v1.parent || "none"
        }`,
      );
    }
    return text;
  }

  /** `GET images/ID/layer`, from byte `start` with `Range` (a server that ignores it sends it all: start 0). */
  async layerBody(
    base: string,
    id: string,
    start: number,
    signal?: AbortSignal,
  ): Promise<{ body: ReadableStream<Uint8Array>; start: number; size?: number }> {
    const url = `${base}images/${id}/layer`;
    const response = await this.#get(
      url,
      `fetch the layer of image ${id}`,
      start > 0 ? { range: `bytes=${start}-` } : {},
      signal ?? this.#options.signal,
    );
    const length = response.headers.get("content-length");
    const size = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
    if (response.status === 200 && response.body) {
      return { body: response.body, start: 0, ...(size !== undefined ? { size } : {}) };
    }
    const range = /^bytes\s+(\d+)-\d+\/(\d+|\*)$/i.exec(response.headers.get("content-range") ?? "");
    if (response.status === 206 && response.body && range && Number(range[1]) === start) {
      return { body: response.body, start };
    }
    await response.body?.cancel();
    throw new TugError(
      response.status === 401 ? "UNAUTHORIZED" : "UNEXPECTED_STATUS",
      `Server error: Status ${response.status} while fetching the layer of image ${id}`,
      { detail: { status: response.status } },
    );
  }
}

async function readCapped(response: Response, max: number): Promise<string> {
  const { bytes, truncated } = await readLimited(response.body, max);
  if (truncated) {
    throw new TugError("UNEXPECTED_STATUS", `the v1 registry sent more than ${max} bytes of JSON`);
  }
  return new TextDecoder().decode(bytes);
}
