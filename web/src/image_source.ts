/// <reference lib="dom" />
/**
 * Where the page gets an image from: the registry (through tug's proxy, or directly when the registry
 * allows pages to read it with CORS headers), with every manifest, config and layer blob kept in
 * IndexedDB ({@linkcode IdbStore}) so a second look is instant and works offline.
 *
 * Everything is verified before it is used or cached: manifests and configs by hashing their bytes, layers
 * by the core's {@linkcode DigestVerifier} while they stream.
 *
 * @module
 */

import { IdbStore } from "../../adapters/idb/mod.ts";
// Value imports name their modules, not src/mod.ts: the barrel also brings the proxy (and, through its
// lazily loaded routes, the puller) into the page's bundle.
import type { Descriptor, ImageConfig, Reference } from "../../src/mod.ts";
import { isTugError, TugError } from "../../src/errors.ts";
import { digestBytes } from "../../src/digest/mod.ts";
import { parseReference, withDefaultTag } from "../../src/reference/mod.ts";
import { DigestVerifier } from "../../src/digest/mod.ts";
import {
  MANIFEST_ACCEPT,
  MAX_MANIFEST_SIZE,
  type ParsedManifest,
  parseImageConfig,
  parseManifest,
} from "../../src/manifest/mod.ts";
import {
  DOCKER_HUB_DOMAINS,
  DOCKER_HUB_REGISTRY,
  type FetchLike,
  RegistryClient,
} from "../../src/registry/mod.ts";
import { verifyManifestDigest } from "../../src/remote/mod.ts";

/** How the page reaches registries. */
export type RegistryMode = { kind: "proxy"; url: string } | { kind: "direct" };

/** A resolved reference: what its tag points at now (or, offline, what it pointed at last time). */
export interface Resolved {
  /** The parsed reference (with the default tag added). */
  readonly ref: Reference;
  /** What the reference points at. */
  readonly descriptor: Descriptor;
  /** The manifest or index found there. */
  readonly parsed: ParsedManifest;
  /** True when the registry could not be reached and the copy in IndexedDB was used. */
  readonly offline: boolean;
}

/** A layer blob, verified: from the cache, or from the registry (cached as it streams). */
export interface BlobStream {
  /** The bytes. For a download they are verified while they flow; the stream errors if they do not match. */
  readonly stream: ReadableStream<Uint8Array>;
  /** True when the blob came from IndexedDB. */
  readonly cached: boolean;
  /** Resolves when the blob was fully read, verified and (for a download) committed to the cache. */
  readonly done: Promise<void>;
}

const decoder = new TextDecoder();
const MANIFEST_CAP = MAX_MANIFEST_SIZE;

/** Reads a small stored blob whole (manifests, configs). */
async function readSmall(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * The registry access of the page.
 *
 * @example
 * ```ts ignore
 * const source = new ImageSource({ mode: { kind: "proxy", url: location.origin } });
 * const resolved = await source.resolve("alpine:3.20");
 * ```
 */
export class ImageSource {
  /** The IndexedDB cache. */
  readonly store: IdbStore;
  /** How registries are reached. */
  readonly mode: RegistryMode;
  readonly #clients = new Map<string, RegistryClient>();

  constructor(options: { mode: RegistryMode; store?: IdbStore }) {
    this.mode = options.mode;
    this.store = options.store ?? new IdbStore({ name: "tug-web", maxBytes: 2 * 1024 * 1024 * 1024 });
  }

  /** Parses a reference as Docker does (docker.io and library/ added, `latest` when no tag). */
  static parse(text: string): Reference {
    return withDefaultTag(parseReference(text.trim()));
  }

  /** The client for `ref`'s repository: through the proxy (`/v2/<host>/<path>`), or to the registry itself. */
  client(ref: Reference): RegistryClient {
    const key = ref.name;
    let client = this.#clients.get(key);
    if (client === undefined) {
      const domain = ref.domain ?? "docker.io";
      // Through the proxy, the registry is named by containerd's `?ns=<host>` on every /v2/ request, which
      // tug's proxy reads to pick its upstream (a host with a port cannot be a repository path component).
      const options = this.mode.kind === "proxy"
        ? { registry: this.mode.url.replace(/\/+$/, ""), fetch: withNamespace(domain) }
        : { registry: directUrl(domain) };
      client = new RegistryClient({
        ...options,
        repository: ref.path,
        retry: { attempts: 2, baseDelay: 100 },
      });
      this.#clients.set(key, client);
    }
    return client;
  }

  /**
   * Resolves `ref` to its manifest or index. A digest reference is served from the cache when present; a
   * tag is asked of the registry, and when the registry cannot be reached the last answer kept in the
   * cache is used instead (`offline: true`).
   */
  async resolve(ref: Reference, signal?: AbortSignal): Promise<Resolved> {
    const key = ref.toString();
    if (ref.digest !== undefined) {
      const parsed = await this.manifest(ref, ref.digest, undefined, signal);
      return {
        ref,
        descriptor: { mediaType: parsed.mediaType, digest: ref.digest, size: parsed.bytes.length },
        parsed,
        offline: false,
      };
    }
    let got;
    try {
      got = await this.client(ref).getManifest(ref.tag!, { accept: [...MANIFEST_ACCEPT], signal });
    } catch (err) {
      if (signal?.aborted || !isNetworkError(err)) throw err;
      const descriptor = await this.store.references.get(key);
      if (descriptor === undefined) throw err;
      const parsed = await this.manifest(ref, descriptor.digest, descriptor.mediaType, signal);
      return { ref, descriptor, parsed, offline: true };
    }
    // The one rule of src/remote/: a tag's manifest is checked against a sha256 Docker-Content-Digest.
    const digest = await verifyManifestDigest(got.bytes, {
      digestHeader: got.digestHeader,
      name: ref.familiar,
    });
    const parsed = parseManifest(got.bytes, { contentType: got.contentType, source: ref.familiar });
    const descriptor: Descriptor = { mediaType: parsed.mediaType, digest, size: got.bytes.length };
    await this.#keep(descriptor, got.bytes);
    await this.store.references.set(key, descriptor);
    return { ref, descriptor, parsed, offline: false };
  }

  /** A manifest or index by digest: from the cache, else from the registry (verified, then cached). */
  async manifest(
    ref: Reference,
    digest: string,
    mediaType?: string,
    signal?: AbortSignal,
  ): Promise<ParsedManifest> {
    const bytes = await this.#small(ref, digest, "manifest", mediaType, signal);
    return parseManifest(bytes, { contentType: mediaType ?? "", source: `${ref.name}@${digest}` });
  }

  /** The image config: from the cache, else from the registry (verified, then cached). */
  async config(ref: Reference, descriptor: Descriptor, signal?: AbortSignal): Promise<{
    config: ImageConfig;
    bytes: Uint8Array;
  }> {
    const bytes = await this.#small(ref, descriptor.digest, "config", undefined, signal, descriptor.size);
    return { config: parseImageConfig(bytes), bytes };
  }

  /** Whether a blob is in the cache. */
  async isCached(digest: string): Promise<boolean> {
    return (await this.store.blobs.stat(digest)) !== undefined;
  }

  /**
   * Opens a layer blob: from the cache when it is there, else from the registry, verified while it flows
   * and written to the cache at the same time (committed only once size and digest matched). The download
   * keeps going to the end even when the reader stops early (a tar reader stops at the end-of-archive
   * blocks), so the blob is complete and verified in the cache; `done` says when.
   */
  async blob(
    ref: Reference,
    descriptor: Descriptor,
    options: { signal?: AbortSignal; onBytes?: (bytes: number) => void } = {},
  ): Promise<BlobStream> {
    const { signal, onBytes } = options;
    if (await this.isCached(descriptor.digest)) {
      const stream = await this.store.blobs.get(descriptor.digest);
      return { stream: counted(stream, onBytes), cached: true, done: Promise.resolve() };
    }
    const verifier = await DigestVerifier.create(descriptor, { name: `layer ${descriptor.digest}` });
    const response = await this.client(ref).getBlob(descriptor.digest, { signal });
    const writer = await this.store.blobs.writer(descriptor).catch(() => undefined);
    const body = response.body.getReader();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let wake: (() => void) | undefined;
    let readerGone = false;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
      pull() {
        wake?.();
      },
      cancel() {
        readerGone = true;
        wake?.();
      },
    }, new CountQueuingStrategy({ highWaterMark: 4 }));
    const done = (async () => {
      let seen = 0;
      try {
        for (;;) {
          let r;
          try {
            r = await body.read();
          } catch (err) {
            if (signal?.aborted) throw err;
            // The body ended in an error after `seen` bytes: say so (a tug proxy errors a download whose
            // bytes failed their digest check, rather than end it cleanly).
            throw new TugError(
              "NETWORK",
              `The download of ${descriptor.digest} broke off after ${seen} of ${descriptor.size} bytes: ${
                err instanceof Error ? err.message : err
              }`,
              { cause: err, detail: { received: seen, size: descriptor.size } },
            );
          }
          if (r.done) break;
          verifier.update(r.value);
          seen += r.value.length;
          onBytes?.(seen);
          if (writer) await writer.write(r.value);
          if (readerGone) continue;
          controller.enqueue(r.value);
          while (!readerGone && (controller.desiredSize ?? 1) <= 0) {
            await new Promise<void>((resolve) => wake = resolve);
          }
        }
        verifier.verify();
        await writer?.commit();
        if (!readerGone) controller.close();
      } catch (err) {
        await body.cancel(err).catch(() => {});
        await writer?.abort().catch(() => {});
        if (!readerGone) controller.error(err);
        throw err;
      }
    })();
    done.catch(() => {});
    return { stream, cached: false, done };
  }

  /** Stores verified bytes under their digest (manifests and configs), ignoring a full or failing cache. */
  async #keep(descriptor: Descriptor, bytes: Uint8Array): Promise<void> {
    try {
      if (await this.store.blobs.stat(descriptor.digest)) return;
      const writer = await this.store.blobs.writer({ digest: descriptor.digest, size: bytes.length });
      await writer.write(bytes);
      await writer.commit();
    } catch (err) {
      console.warn(`Cannot cache ${descriptor.digest}: ${err instanceof Error ? err.message : err}`);
    }
  }

  async #small(
    ref: Reference,
    digest: string,
    what: "manifest" | "config",
    mediaType: string | undefined,
    signal: AbortSignal | undefined,
    size?: number,
  ): Promise<Uint8Array> {
    if (await this.isCached(digest)) return await readSmall(await this.store.blobs.get(digest));
    let bytes: Uint8Array;
    if (what === "manifest") {
      bytes = (await this.client(ref).getManifest(digest, {
        accept: mediaType ? [mediaType, ...MANIFEST_ACCEPT] : [...MANIFEST_ACCEPT],
        signal,
      })).bytes;
    } else {
      if (size !== undefined && size > MANIFEST_CAP) {
        throw new TugError(
          "CONFIG_INVALID",
          `The config ${digest} is ${size} bytes, more than the page reads`,
        );
      }
      bytes = await readSmall((await this.client(ref).getBlob(digest, { signal })).body);
    }
    if (what === "manifest") {
      // The one rule of src/remote/ for a manifest by digest.
      await verifyManifestDigest(bytes, { expected: digest, name: `${ref.name}@${digest}` });
    } else {
      const actual = await digestBytes(bytes, digest.startsWith("sha512:") ? "sha512" : "sha256");
      if (actual !== digest) {
        throw new TugError("DIGEST_MISMATCH", `The ${what} ${digest} of ${ref.familiar} hashes to ${actual}`);
      }
    }
    await this.#keep({ mediaType: mediaType ?? "", digest, size: bytes.length }, bytes);
    return bytes;
  }
}

/** Counts bytes as they pass. */
function counted(
  stream: ReadableStream<Uint8Array>,
  onBytes?: (bytes: number) => void,
): ReadableStream<Uint8Array> {
  if (!onBytes) return stream;
  let seen = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.length;
        onBytes(seen);
        controller.enqueue(chunk);
      },
    }),
  );
}

/** A fetch that adds `ns=<domain>` to the query of /v2/ requests. */
function withNamespace(domain: string): FetchLike {
  return (request: Request) => {
    const url = new URL(request.url);
    if (!url.pathname.startsWith("/v2/") || url.pathname === "/v2/") return fetch(request);
    url.searchParams.set("ns", domain);
    return fetch(new Request(url, request));
  };
}

/** The registry's own URL for a direct connection: Docker Hub's API host, plain http for loopback. */
export function directUrl(domain: string): string {
  if (DOCKER_HUB_DOMAINS.includes(domain)) return DOCKER_HUB_REGISTRY;
  const host = domain.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || host.startsWith("127.") || host === "::1";
  return `${loopback ? "http" : "https"}://${domain}`;
}

/** Whether `err` means the registry could not be reached at all (no answer), as opposed to an answer. */
export function isNetworkError(err: unknown): boolean {
  if (isTugError(err)) return err.code === "NETWORK" || err.code === "TIMEOUT";
  return err instanceof TypeError && /fetch|network/i.test(err.message);
}

/** The text shown for a decoded blob of `bytes`. */
export function decodeText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
