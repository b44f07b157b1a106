/// <reference lib="dom" />
/**
 * The page's image loading, shared by every render: one {@linkcode ImageSource} per registry choice, and
 * the resolved references and platform images already asked for (a failed one is forgotten, so the next
 * render asks again).
 *
 * @module
 */

import type { Descriptor, Reference } from "../../src/mod.ts";
import { TugError } from "../../src/errors.ts";
import { type ImageData, meta } from "./context.ts";
import { ImageSource, type RegistryMode, type Resolved } from "./image_source.ts";
import type { PageState } from "./url_state.ts";
import { fetchUpstreams, hasHost, qualify, type UpstreamsInfo } from "./upstreams.ts";

/**
 * Resolves references and loads platform images for the page, remembering what it loaded.
 *
 * @example
 * ```ts ignore
 * const loader = new ImageLoader();
 * const { ref, descriptor } = await loader.resolve({ image: "alpine:3.20" });
 * ```
 */
export class ImageLoader {
  readonly #sources = new Map<string, ImageSource>();
  readonly #resolved = new Map<string, Promise<Resolved>>();
  readonly #images = new Map<string, Promise<ImageData>>();
  readonly #upstreams = new Map<string, Promise<UpstreamsInfo | undefined>>();

  /** How a state reaches registries: directly, or through its proxy (the `tug-proxy` meta, or this origin). */
  mode(state: PageState): RegistryMode {
    if (state.registry === "direct") return { kind: "direct" };
    return { kind: "proxy", url: state.registry ?? meta("tug-proxy") ?? location.origin };
  }

  /** The registry access for a state (one per registry choice, all sharing the first one's cache). */
  source(state: PageState): ImageSource {
    const mode = this.mode(state);
    const key = mode.kind === "direct" ? "direct" : mode.url;
    let source = this.#sources.get(key);
    if (!source) {
      source = new ImageSource({ mode, store: [...this.#sources.values()][0]?.store });
      this.#sources.set(key, source);
    }
    return source;
  }

  /** Where a state's images come from, for error messages. */
  where(state: PageState): string {
    const mode = this.mode(state);
    return mode.kind === "direct" ? "the registry" : `the tug proxy at ${mode.url}`;
  }

  /**
   * What the proxy of a state says about its upstreams (`GET /upstreams`), asked once per proxy; undefined
   * when going direct or when the proxy has no such endpoint.
   */
  upstreams(state: PageState): Promise<UpstreamsInfo | undefined> {
    const mode = this.mode(state);
    if (mode.kind === "direct") return Promise.resolve(undefined);
    let info = this.#upstreams.get(mode.url);
    if (!info) {
      info = fetchUpstreams(mode.url);
      this.#upstreams.set(mode.url, info);
      info.catch(() => this.#upstreams.delete(mode.url));
    }
    return info;
  }

  /**
   * The reference a state's image names: through a proxy, a name without a host is the proxy's default
   * upstream's (its own routing rule), not Docker Hub's; directly, Docker's rule (docker.io) applies.
   */
  async reference(state: PageState): Promise<Reference> {
    const text = state.image!.trim();
    if (hasHost(text)) return ImageSource.parse(text);
    return ImageSource.parse(qualify(text, await this.upstreams(state)));
  }

  /** Resolves the state's image reference (once per registry choice and reference). */
  resolve(state: PageState): Promise<Resolved> {
    const source = this.source(state);
    const key = `${source.mode.kind === "direct" ? "direct" : source.mode.url}|${state.image}`;
    let resolved = this.#resolved.get(key);
    if (!resolved) {
      resolved = this.reference(state).then((ref) => source.resolve(ref));
      this.#resolved.set(key, resolved);
      resolved.catch(() => this.#resolved.delete(key));
    }
    return resolved;
  }

  /** Loads a platform image's manifest and config (once per manifest digest). */
  image(state: PageState, ref: Reference, descriptor: Descriptor): Promise<ImageData> {
    const source = this.source(state);
    let image = this.#images.get(descriptor.digest);
    if (!image) {
      image = (async () => {
        const parsed = await source.manifest(ref, descriptor.digest, descriptor.mediaType);
        if (parsed.kind !== "manifest") {
          throw new TugError("MANIFEST_UNSUPPORTED", `${descriptor.digest} is an index inside an index`);
        }
        const { config, bytes } = await source.config(ref, parsed.manifest.config);
        return {
          descriptor,
          manifest: parsed.manifest,
          manifestBytes: parsed.bytes,
          config,
          configBytes: bytes,
        };
      })();
      this.#images.set(descriptor.digest, image);
      image.catch(() => this.#images.delete(descriptor.digest));
    }
    return image;
  }
}
