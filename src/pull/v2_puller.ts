// This module is browser compatible.
/**
 * The v2 puller (moby distribution/pull_v2.go): ping, manifest by tag or digest with the digest
 * checked, index → platform, config and layers through the download manager, then commit.
 *
 * @module
 */

import { TugError } from "../errors.ts";
import type { Descriptor, ImageManifest } from "../manifest/types.ts";
import { MANIFEST_ACCEPT, SCHEMA1_MANIFEST_ACCEPT } from "../manifest/mod.ts";
import { type ParsedManifest, parseManifest } from "../manifest/mod.ts";
import { checkImageConfigMediaType } from "../manifest/mod.ts";
import { parseImageConfig } from "../manifest/mod.ts";
import { selectManifest } from "../manifest/mod.ts";
import type { Store } from "../store/types.ts";
import type { RegistryClient } from "../registry/registry_client.ts";
import type { Endpoint } from "../registry/lookup_endpoints.ts";
import type { Reference } from "../reference/reference.ts";
import { parseReference } from "../reference/parse_reference.ts";
import { referenceKey } from "../reference/reference_key.ts";
import type { DownloadManager } from "./download_manager.ts";
import { shortId } from "./download_manager.ts";
import {
  fallbackAt,
  fallbackFromEndpoint,
  ImageConfigPullError,
  withoutFallback,
} from "./fallback_policy.ts";
import type { PulledImage, PullOptions, PullOutcome, PullSession } from "./types.ts";
import { digestEvent, layerEvent, type ProgressHandler, pullingFromEvent, statusEvent } from "./events.ts";
import { isSchema1Manifest } from "../manifest/schema1.ts";
import { pullSchema1 } from "./legacy/schema1_puller.ts";
import { writeSmallBlob } from "./_small_blob.ts";
import { endpointClient, wantedPlatform } from "./_remote.ts";
import { checkConfigSize, fetchManifest } from "../remote/read_image.ts";
import { verifyManifestDigest } from "../remote/verify_manifest_digest.ts";

/** Errors that came from a layer download (Docker judges those after its download manager's wrapping). */
const layerErrors = new WeakSet<object>();

/** What {@linkcode V2Puller.pullAllTags} hands back to the loop. */
export interface V2AllTagsResult {
  /** One result per tag, in the registry's order. */
  readonly tags: PullOutcome[];
  /** Whether anything new came into the store. */
  readonly downloaded: boolean;
  /** `Downloaded newer image for NAME` or `Image is up to date for NAME`. */
  readonly status: string;
}

/** Upper bound on tag pages followed, so a registry that keeps sending `Link` cannot loop forever. */
const MAX_TAG_PAGES = 100_000;

/** What a {@linkcode V2Puller} needs: the endpoint, the repository, the shared downloads and the pull's options. */
export interface V2PullerInit {
  /** A version 2 endpoint from `lookupEndpoints`. */
  readonly endpoint: Endpoint;
  /** The repository (a reference; its tag or digest is not used here). */
  readonly repository: Reference;
  /** The download manager that fetches and verifies config and layers. */
  readonly downloads: DownloadManager;
  /** The pull's options (store, credentials, platform, progress, signal, …). */
  readonly options: PullOptions & { tagsPageSize?: number };
}

/**
 * The v2 puller of one endpoint (moby distribution/pull_v2.go `v2Puller`): it holds the pull's session —
 * the endpoint, its registry client, the download manager, the options — and what the endpoint confirmed
 * (`confirmedV2`). Errors that allow trying the next endpoint come back as `FallbackError`.
 */
export class V2Puller {
  readonly endpoint: Endpoint;
  readonly repository: Reference;
  readonly downloads: DownloadManager;
  readonly options: PullOptions & { tagsPageSize?: number };
  readonly store: Store;
  readonly signal: AbortSignal | undefined;
  readonly #client: RegistryClient;
  /** Whether the endpoint showed it speaks v2 (the ping's version header, or a manifest or tag list). */
  #confirmedV2 = false;

  constructor(init: V2PullerInit) {
    this.endpoint = init.endpoint;
    this.repository = init.repository;
    this.downloads = init.downloads;
    this.options = init.options;
    this.store = init.options.store;
    this.signal = init.options.signal;
    this.#client = endpointClient(init.endpoint, init.repository, init.options);
  }

  /** The registry client for this endpoint and repository. */
  get client(): RegistryClient {
    return this.#client;
  }

  /** The session handed to the schema 1 branch, reporting to `onProgress`. */
  #session(onProgress: ProgressHandler): PullSession {
    const { client, downloads, store, signal } = this;
    return { client, downloads, store, signal, hasher: this.options.hasher, onProgress };
  }

  /** Pulls `ref` (a tag or a digest of the repository) from this endpoint. */
  pull(ref: Reference): Promise<PullOutcome> {
    return this.#withEndpoint(() => this.#pullRef(ref, this.options.onProgress ?? (() => {})));
  }

  /**
   * Pulls every tag of the repository from this endpoint, as Docker's `pullV2Repository` does for
   * `docker pull --all-tags`: the tag list is read first (following its pages); a missing repository
   * falls back without confirming v2; once the list is in, the endpoint counts as v2 and a failing tag no
   * longer falls back to v1. One `Status:` line ends the pull.
   */
  pullAllTags(): Promise<V2AllTagsResult> {
    return this.#withEndpoint(async () => {
      const { options, signal } = this;
      const tags: string[] = [];
      try {
        let last: string | undefined;
        for (let page = 0; page < MAX_TAG_PAGES; page++) {
          const got = await this.#client.listTags({
            ...(options.tagsPageSize !== undefined ? { n: options.tagsPageSize } : {}),
            ...(last !== undefined ? { last } : {}),
            ...(signal ? { signal } : {}),
          });
          tags.push(...got.tags);
          if (got.next === undefined || got.next === last || got.tags.length === 0) break;
          last = got.next;
        }
      } catch (err) {
        // allowV1Fallback: the repository may exist on a v1 endpoint.
        throw fallbackAt("tag", err, signal);
      }
      // The v2 registry knows this repository: no v1 fallback from here on.
      this.#confirmedV2 = true;
      const onProgress = options.onProgress ?? (() => {});
      // Per-tag pulls report Digest lines; the single Status line comes at the end (writeStatus).
      const perTag: ProgressHandler = (event) => {
        if (event.type !== "status") onProgress(event);
      };
      const results: PullOutcome[] = [];
      for (const tag of tags) {
        const tagRef = parseReference(`${this.repository.name}:${tag}`);
        try {
          results.push(await this.#pullRef(tagRef, perTag));
        } catch (err) {
          throw withoutFallback(err);
        }
      }
      const downloaded = results.some((r) => r.downloaded);
      const status = downloaded
        ? `Downloaded newer image for ${this.repository.familiar}`
        : `Image is up to date for ${this.repository.familiar}`;
      onProgress(statusEvent(status));
      return { tags: results, downloaded, status };
    });
  }

  /**
   * NewV2Repository + v2Puller.Pull: ping, then run `body`; errors Docker falls back on come back as
   * `FallbackError` carrying whether v2 was confirmed.
   */
  async #withEndpoint<T>(body: () => Promise<T>): Promise<T> {
    const { signal } = this;
    // 1. Ping: a transport failure here always falls back; the version header confirms v2. Any HTTP
    //    answer (even an error status) counts as a working transport, as Docker's PingV2Registry.
    try {
      const ping = await this.#client.ping(signal);
      this.#confirmedV2 = (ping.apiVersion ?? "").split(/[\s,]+/).includes("registry/2.0");
    } catch (err) {
      throw fallbackAt("ping", err, signal);
    }

    try {
      return await body();
    } catch (err) {
      throw fallbackFromEndpoint(err, this.endpoint, {
        confirmedV2: this.#confirmedV2,
        layer: layerErrors.has(err as object),
        signal,
      });
    }
  }

  async #pullRef(ref: Reference, onProgress: ProgressHandler): Promise<PullOutcome> {
    const { client, options, signal, store } = this;
    const tagOrDigest = ref.digest ?? ref.tag!;

    // 2. The manifest. Tag-level UNAUTHORIZED / MANIFEST_UNKNOWN / NAME_UNKNOWN fall back without
    //    confirming v2 (Docker's allowV1Fallback); by digest, the error goes through continueOnError and
    //    keeps what the ping confirmed (pull_v2.go pullV2Tag).
    let top: { bytes: Uint8Array; contentType: string; digestHeader?: string };
    try {
      top = await client.getManifest(tagOrDigest, {
        accept: [...MANIFEST_ACCEPT, ...SCHEMA1_MANIFEST_ACCEPT],
        signal,
      });
    } catch (err) {
      throw ref.digest === undefined ? fallbackAt("tag", err, signal) : err;
    }
    // A manifest came back: this endpoint speaks v2.
    this.#confirmedV2 = true;
    // Legacy schema 1 is checked by its canonical payload and converted to an OCI image.
    if (isSchema1Manifest(top.bytes, top.contentType)) {
      return await pullSchema1(this.#session(onProgress), ref, top);
    }
    // Docker says "Pulling from" only once the manifest is in (pull_v2.go pullV2Tag), so a missing tag
    // prints nothing but the error. It names the repository's path without the host (`library/alpine`:
    // Docker 1.13 pulls Docker Hub with TrimHostname, and its RemoteName keeps `library/`).
    onProgress(pullingFromEvent(tagOrDigest, ref.path));
    const topDigest = await verifyManifestDigest(top.bytes, {
      expected: ref.digest,
      digestHeader: top.digestHeader,
      name: ref.digest === undefined ? ref.familiar : `${ref.name}@${tagOrDigest}`,
    });
    const parsed = parseManifest(top.bytes, { contentType: top.contentType });

    const previous = await store.references.get(referenceKey(ref));
    let downloaded = false;
    const images: PulledImage[] = [];
    const manifestsToStore: Array<{ descriptor: Descriptor; bytes: Uint8Array }> = [];

    const pullImage = async (
      descriptor: Descriptor,
      manifestParsed: ParsedManifest & { kind: "manifest" },
    ) => {
      const manifest = manifestParsed.manifest;
      // Attestation manifests of buildx (platform unknown/unknown) carry no image config.
      if (!descriptor.platform || descriptor.platform.os !== "unknown") {
        checkImageConfigMediaType(manifest.config);
      }
      const isImage = !descriptor.platform || descriptor.platform.os !== "unknown";
      const result = await this.#downloadImage(manifest, isImage, onProgress);
      downloaded ||= result;
      images.push({ descriptor, manifest, platform: descriptor.platform });
      manifestsToStore.push({ descriptor, bytes: manifestParsed.bytes });
    };

    const topDescriptor: Descriptor = {
      mediaType: parsed.mediaType,
      digest: topDigest,
      size: top.bytes.length,
    };
    if (parsed.kind === "index") {
      const children = options.allPlatforms
        ? parsed.index.manifests
        : [selectManifest(parsed.index, wantedPlatform(options.platform))];
      for (const child of children) {
        const { parsed: childParsed } = await fetchManifest(client, ref, child.digest, {
          size: child.size,
          signal,
        });
        if (childParsed.kind !== "manifest") {
          throw new TugError("MANIFEST_INVALID", `Index ${topDigest} of ${ref.familiar} nests another index`);
        }
        await pullImage(child, childParsed);
      }
      // The index is kept even for one platform: NAME@<index digest> (the digest Docker prints) names it, and
      // inspect/unpack/save by that name pick the platform image through it.
      manifestsToStore.push({ descriptor: topDescriptor, bytes: top.bytes });
    } else {
      await pullImage(topDescriptor, parsed);
    }

    // 3. Commit: blobs are in; now the manifests, then the references.
    for (const { descriptor, bytes } of manifestsToStore) {
      if (!(await store.blobs.stat(descriptor.digest))) {
        await writeSmallBlob(store, descriptor, bytes);
        downloaded = true;
      }
    }
    // Docker's pullV2Tag: the tag names the image pulled (one platform's manifest, or the index with
    // --all-platforms); addDigestReference names it by the digest of what the registry served for the
    // reference, the index for a multi-platform image. A digest name must point at a blob of that digest
    // (the proxy serves it as such), so NAME@<index digest> points at the index.
    const tagged: Descriptor = parsed.kind === "index" && !options.allPlatforms
      ? images[0].descriptor
      : topDescriptor;
    const records = new Map<string, Descriptor>();
    if (ref.tag !== undefined) records.set(referenceKey(ref), tagged);
    records.set(`${ref.name}@${topDigest}`, topDescriptor);
    for (const [name, descriptor] of records) await store.references.set(name, descriptor);

    const upToDate = !downloaded && previous?.digest === records.get(referenceKey(ref))?.digest;
    const status = upToDate
      ? `Image is up to date for ${ref.familiar}`
      : `Downloaded newer image for ${ref.familiar}`;
    onProgress(digestEvent(topDigest));
    onProgress(statusEvent(status));
    return {
      reference: ref.toString(),
      familiar: ref.familiar,
      digest: topDigest,
      status,
      downloaded: !upToDate,
      images,
    };
  }

  /** Downloads config and layers; true when anything was fetched. */
  async #downloadImage(
    manifest: ImageManifest,
    isImage: boolean,
    onProgress: ProgressHandler,
  ): Promise<boolean> {
    const { client, downloads, options, signal, store } = this;
    const layers = manifest.layers;
    const present = await Promise.all(layers.map((l) => store.blobs.stat(l.digest)));
    // pull_v2.go pullSchema2: "If the image already exists locally, no need to pull anything" — an image
    // whose config (and every layer) is stored prints no layer line, only Digest and Status.
    if (isImage && present.every((stat, i) => stat?.size === layers[i].size)) {
      const config = await store.blobs.stat(manifest.config.digest);
      if (config?.size === manifest.config.size) return false;
    }
    const seen = new Set<string>();
    for (let i = 0; i < layers.length; i++) {
      const id = shortId(layers[i].digest);
      if (seen.has(id)) continue;
      seen.add(id);
      onProgress(
        layerEvent(id, present[i]?.size === layers[i].size ? "Already exists" : "Pulling fs layer", {
          digest: layers[i].digest,
        }),
      );
    }
    // A config is a document, buffered and parsed: refused by its declared size before a byte is fetched (the
    // download then stops at that size), not after a lying manifest's 3 GiB "config" was downloaded.
    if (isImage) checkConfigSize(manifest.config);
    // The config first and silently, as Docker does; a bad config stops the pull. Docker fetches it
    // outside the download manager, so it takes no download slot (3 layers start at once by default) and
    // gets none of the layer retries: one attempt, as Docker's pullSchema2Config.
    const configOutcome = downloads.download(client, store.blobs, manifest.config, {
      signal,
      silent: true,
      queued: false,
      maxAttempts: 1,
    });
    const layerOutcomes = layers.map((layer, i) =>
      present[i]?.size === layer.size
        ? Promise.resolve("exists" as const)
        : downloads.download(client, store.blobs, layer, { signal, onProgress })
    );
    const settled = await Promise.allSettled([configOutcome, ...layerOutcomes]);
    // Docker's ImageConfigPullError: a failed config fetch stops the pull unless from a mirror. A failed
    // layer is judged as Docker's download manager reports it (see continueOnError's `layer`).
    if (settled[0].status === "rejected") {
      const reason = settled[0].reason;
      throw signal?.aborted || !(reason instanceof Error) ? reason : new ImageConfigPullError(reason);
    }
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) {
      if (failed.reason instanceof Error) layerErrors.add(failed.reason);
      throw failed.reason;
    }
    const outcomes = settled.map((s) => (s as PromiseFulfilledResult<string>).value);

    const config = isImage ? parseImageConfig(await readCapped(store, manifest.config)) : undefined;
    if (config && config.rootfs.diff_ids.length !== layers.length) {
      throw new TugError(
        "LAYERS_MISMATCH",
        `layers from manifest don't match image configuration (${layers.length} layers, ` +
          `${config.rootfs.diff_ids.length} diff_ids in config ${manifest.config.digest})`,
      );
    }
    if (config && options.verifyDiffIds) {
      // Loaded only when asked for: the layer decoders (fflate, fzstd) would cost every pull memory.
      const { checkDiffIds } = await import("../image/check_diff_ids.ts");
      await checkDiffIds(store, layers, config.rootfs.diff_ids, { hasher: options.hasher, signal });
    }
    const done = new Set<string>();
    for (let i = 0; i < layers.length; i++) {
      const id = shortId(layers[i].digest);
      if (outcomes[i + 1] === "downloaded" && !done.has(id)) {
        done.add(id);
        onProgress(layerEvent(id, "Pull complete", { digest: layers[i].digest }));
      }
    }
    return outcomes.includes("downloaded");
  }
}

async function readCapped(store: Store, descriptor: Descriptor): Promise<Uint8Array> {
  checkConfigSize(descriptor);
  const stream = await store.blobs.get(descriptor.digest);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// Kept importable from here, where it lived before src/reference/reference_key.ts.
export { referenceKey };
