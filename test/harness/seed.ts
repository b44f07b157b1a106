/**
 * Pushes fixture images into a real registry through its own push API (distribution spec "Pushing blobs":
 * POST /v2/NAME/blobs/uploads/ then a monolithic PUT ?digest=…; "Pushing manifests": PUT with the
 * manifest's Content-Type) and seeds the four standard images every integration test can pull.
 *
 * @module
 */

import { getRandomValues } from "node:crypto";
import {
  buildImage,
  buildIndex,
  type BuiltImage,
  type BuiltLayer,
  jsonBlob,
  type LayerFile,
  MEDIA_TYPES,
  sha256Digest,
} from "./images.ts";
import type { Platform } from "../../src/manifest/types.ts";
import { type RegistryCredentials, registryFetch } from "./registry_fetch.ts";

/** Where to push: a running registry (anything with a `url`) or its base URL. */
export type RegistryTarget = { url: string } | string;

/** Options for the push functions: credentials (Basic, or a token from the realm of a Bearer challenge). */
export type PushOptions = RegistryCredentials;

function baseUrl(target: RegistryTarget): string {
  return (typeof target === "string" ? target : target.url).replace(/\/+$/, "");
}

async function failure(what: string, res: Response): Promise<Error> {
  return new Error(`${what}: registry returned ${res.status}: ${(await res.text()).slice(0, 500)}`);
}

/**
 * Pushes one blob: POST an upload, then PUT all bytes with `?digest=` (no HEAD first, so the access log
 * holds only the upload; pushing a blob the registry already has is harmless).
 *
 * @example
 * ```ts ignore
 * await pushBlob(registry, "tug/custom", image.config);
 * ```
 */
export async function pushBlob(
  target: RegistryTarget,
  repository: string,
  blob: { digest: string; bytes: Uint8Array },
  options: PushOptions = {},
): Promise<void> {
  const base = baseUrl(target);
  const start = await registryFetch(`${base}/v2/${repository}/blobs/uploads/`, { method: "POST" }, options);
  await start.body?.cancel();
  const location = start.headers.get("Location");
  if (start.status !== 202 || !location) throw await failure(`Cannot start upload to ${repository}`, start);
  const url = new URL(location, base);
  url.searchParams.set("digest", blob.digest);
  const put = await registryFetch(url, {
    method: "PUT",
    headers: { "Content-Type": "application/octet-stream", "Content-Length": String(blob.bytes.length) },
    body: blob.bytes as Uint8Array<ArrayBuffer>,
  }, options);
  if (put.status !== 201) throw await failure(`Cannot upload blob ${blob.digest} to ${repository}`, put);
  await put.body?.cancel();
}

/**
 * PUTs manifest bytes under a tag or digest with their media type as Content-Type; returns the digest
 * the registry reports (Docker-Content-Digest).
 *
 * @example
 * ```ts ignore
 * await pushManifest(registry, "tug/custom", "v1", image.manifestBytes, image.manifestMediaType);
 * ```
 */
export async function pushManifest(
  target: RegistryTarget,
  repository: string,
  reference: string,
  bytes: Uint8Array,
  mediaType: string,
  options: PushOptions = {},
): Promise<string> {
  const res = await registryFetch(`${baseUrl(target)}/v2/${repository}/manifests/${reference}`, {
    method: "PUT",
    headers: { "Content-Type": mediaType },
    body: bytes as Uint8Array<ArrayBuffer>,
  }, options);
  if (res.status !== 201) throw await failure(`Cannot push manifest ${repository}:${reference}`, res);
  await res.body?.cancel();
  return res.headers.get("Docker-Content-Digest") ?? "";
}

/**
 * Pushes a built image's blobs (a few at a time) then its manifest under `tag` (or only by digest when
 * `tag` is omitted).
 *
 * @example
 * ```ts ignore
 * await pushImage(registry, "tug/custom", await buildImage({ layers: [] }), "v1");
 * ```
 */
export async function pushImage(
  target: RegistryTarget,
  repository: string,
  image: Pick<BuiltImage, "blobs" | "manifestBytes" | "manifestDigest" | "manifestMediaType">,
  tag?: string,
  options: PushOptions = {},
): Promise<void> {
  const opts = { ...options, tokenCache: options.tokenCache ?? new Map() };
  // Small blobs first and in parallel; the big ones go one after the other to spare the 2-core test box.
  const blobs = [...image.blobs].sort((a, b) => a.size - b.size);
  const small = blobs.filter((b) => b.size < 1 << 20);
  const big = blobs.filter((b) => b.size >= 1 << 20);
  await Promise.all(small.map((b) => pushBlob(target, repository, b, opts)));
  for (const b of big) await pushBlob(target, repository, b, opts);
  await pushManifest(
    target,
    repository,
    tag ?? image.manifestDigest,
    image.manifestBytes,
    image.manifestMediaType,
    opts,
  );
}

/** A pushed manifest and what a test needs to check a pull of it. */
export interface SeededManifest {
  /** Repository name, e.g. `tug/small`. */
  repository: string;
  /** `host/repository@digest`. */
  reference: string;
  /** `sha256:` digest of `manifestBytes`. */
  manifestDigest: string;
  /** Manifest bytes exactly as pushed. */
  manifestBytes: Uint8Array;
  /** Manifest media type. */
  manifestMediaType: string;
  /** The configuration blob. */
  config: { digest: string; size: number; bytes: Uint8Array; mediaType: string };
  /** Layers, bottom first, with diff IDs and file lists. */
  layers: Array<{ digest: string; size: number; mediaType: string; diffId: string; files: LayerFile[] }>;
  /** Platform of the image. */
  platform: Platform;
}

/** A pushed, tagged image. */
export interface SeededImage extends Omit<SeededManifest, "reference"> {
  /** The tag it was pushed under (`v1` by default). */
  tag: string;
  /** `host/repository:tag`. */
  reference: string;
}

/** The pushed `multi` index and its per-platform images. */
export interface SeededIndex {
  /** Repository name, `tug/multi` by default. */
  repository: string;
  /** The tag it was pushed under. */
  tag: string;
  /** `host/repository:tag`. */
  reference: string;
  /** Digest of the index. */
  manifestDigest: string;
  /** Index bytes exactly as pushed. */
  manifestBytes: Uint8Array;
  /** `application/vnd.oci.image.index.v1+json`. */
  manifestMediaType: string;
  /** The platform images, keyed `os/architecture[/variant]`. */
  images: { "linux/amd64": SeededManifest; "linux/arm64/v8": SeededManifest };
  /** The attestation-like manifest listed with platform unknown/unknown. */
  attestation: SeededManifest;
}

/** The four standard fixture images. */
export interface SeededImages {
  /** Docker schema2, 3 gzip layers (files, dirs, symlinks, a hard link, a whiteout), full config. */
  small: SeededImage;
  /** OCI index: linux/amd64 and linux/arm64/v8 (each with /arch.txt naming its arch) + an attestation. */
  multi: SeededIndex;
  /** Docker schema2, one gzip layer holding a 64 MiB random file. */
  large: SeededImage;
  /** OCI manifest whose layer is tar+zstd. */
  zstd: SeededImage;
}

/** Built fixture images, before pushing. */
export interface FixtureImages {
  /** Docker schema2, three gzip layers. */
  small: BuiltImage;
  /** OCI linux/amd64 image of `multi`. */
  multiAmd64: BuiltImage;
  /** OCI linux/arm64/v8 image of `multi`. */
  multiArm64: BuiltImage;
  /** Attestation manifest of `multi`. */
  attestation: BuiltImage;
  /** One 64 MiB random layer. */
  large: BuiltImage;
  /** OCI image with a zstd layer. */
  zstd: BuiltImage;
}

/** Size of the random file in the `large` image. */
export const LARGE_FILE_SIZE = 64 * 1024 * 1024;

const MTIME = Date.UTC(2024, 0, 1) / 1000;

function smallImage(): Promise<BuiltImage> {
  const longName = `usr/share/tug/${"a-very-long-directory-name-".repeat(4)}/${
    "and-a-long-file-name-".repeat(4)
  }.txt`;
  return buildImage({
    format: "docker",
    layers: [
      {
        entries: [
          { path: "bin", type: "directory" },
          { path: "bin/hello", content: "#!/bin/sh\necho hello from tug\n", mode: 0o755 },
          { path: "bin/hi", type: "symlink", linkname: "hello" },
          { path: "etc", type: "directory" },
          { path: "etc/hostname", content: "tug-small\n" },
          { path: "etc/motd", content: "removed by layer 2\n" },
          { path: "etc/os-release", content: 'ID=tug\nPRETTY_NAME="tug test image"\n' },
          { path: "home/tug", type: "directory", mode: 0o750, uid: 1000, gid: 1000 },
          { path: "home/tug/.profile", content: "export PS1='tug$ '\n", uid: 1000, gid: 1000, mode: 0o600 },
          // Longer than ustar's 100+155 bytes split allows: needs a PAX path record.
          { path: longName, content: "long path\n" },
          { path: "tmp", type: "directory", mode: 0o1777 },
        ],
      },
      {
        entries: [
          // Whiteout (image-spec layer.md "Whiteouts"): deletes etc/motd from the layer below.
          { path: "etc/.wh.motd", content: "" },
          { path: "app", type: "directory" },
          { path: "app/data.txt", content: "data shared by a hard link\n" },
          { path: "app/data-link.txt", type: "hardlink", linkname: "app/data.txt" },
        ],
      },
      {
        entries: [
          { path: "app/config.json", content: '{"greeting":"hello"}\n', mtime: MTIME + 60 },
          { path: "app/current", type: "symlink", linkname: "/app" },
          { path: "var/empty", type: "directory", mode: 0o700 },
        ],
      },
    ],
    config: {
      User: "1000:1000",
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TUG_FIXTURE=small"],
      Entrypoint: ["/bin/hello"],
      Cmd: ["--greet", "world"],
      WorkingDir: "/app",
      Labels: { "org.opencontainers.image.title": "tug-small", "dev.tug.fixture": "small" },
      ExposedPorts: { "8080/tcp": {} },
    },
    history: [
      { created: "2024-01-01T00:00:00Z", created_by: "/bin/sh -c #(nop) ADD file:base in / " },
      {
        created: "2024-01-01T00:00:01Z",
        created_by: "/bin/sh -c rm /etc/motd && mkdir /app",
        comment: "layer 2",
      },
      {
        created: "2024-01-01T00:00:02Z",
        created_by: "/bin/sh -c #(nop)  ENV TUG_FIXTURE=small",
        empty_layer: true,
      },
      { created: "2024-01-01T00:00:03Z", created_by: "/bin/sh -c #(nop) COPY file:config in /app " },
      {
        created: "2024-01-01T00:00:04Z",
        created_by: '/bin/sh -c #(nop)  CMD ["--greet" "world"]',
        empty_layer: true,
      },
    ],
  });
}

function archImage(platform: Platform): Promise<BuiltImage> {
  const arch = platform.variant ? `${platform.architecture}/${platform.variant}` : platform.architecture;
  return buildImage({
    format: "oci",
    platform,
    layers: [{
      entries: [
        { path: "arch.txt", content: `${platform.architecture}\n` },
        { path: "etc", type: "directory" },
        { path: "etc/platform", content: `${platform.os}/${arch}\n` },
      ],
    }],
    config: { Cmd: ["cat", "/arch.txt"], Env: [`TUG_ARCH=${platform.architecture}`] },
  });
}

/** An in-toto attestation manifest like BuildKit attaches (platform unknown/unknown in the index). */
function attestationImage(subjectDigest: string): BuiltImage {
  const statement = new TextEncoder().encode(JSON.stringify({
    _type: "https://in-toto.io/Statement/v0.1",
    predicateType: "https://spdx.dev/Document",
    subject: [{ name: "tug/multi", digest: { sha256: subjectDigest.slice(7) } }],
    predicate: { spdxVersion: "SPDX-2.3", name: "tug-multi" },
  }));
  const layer: BuiltLayer = {
    digest: sha256Digest(statement),
    size: statement.length,
    mediaType: MEDIA_TYPES.inToto,
    bytes: statement,
    diffId: "",
    tarSize: 0,
    files: [],
    annotations: { "in-toto.io/predicate-type": "https://spdx.dev/Document" },
  };
  const config = jsonBlob({
    architecture: "unknown",
    os: "unknown",
    config: {},
    rootfs: { type: "layers", diff_ids: [] },
  }, MEDIA_TYPES.ociConfig);
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: [{
      mediaType: layer.mediaType,
      digest: layer.digest,
      size: layer.size,
      annotations: layer.annotations,
    }],
  };
  const m = jsonBlob(manifest, MEDIA_TYPES.ociManifest);
  return {
    manifest,
    manifestBytes: m.bytes,
    manifestDigest: m.digest,
    manifestMediaType: MEDIA_TYPES.ociManifest,
    config,
    layers: [layer],
    platform: { os: "unknown", architecture: "unknown" },
    blobs: [config, layer],
  };
}

function largeImage(): Promise<BuiltImage> {
  const data = new Uint8Array(LARGE_FILE_SIZE);
  // getRandomValues fills at most 64 KiB per call.
  for (let at = 0; at < data.length; at += 65536) getRandomValues(data.subarray(at, at + 65536));
  return buildImage({
    format: "docker",
    layers: [{
      gzipLevel: 1,
      entries: [
        { path: "data", type: "directory" },
        { path: "data/random.bin", content: data },
      ],
    }],
    config: { Cmd: ["sha256sum", "/data/random.bin"] },
  });
}

function zstdImage(): Promise<BuiltImage> {
  return buildImage({
    format: "oci",
    layers: [{
      compression: "zstd",
      entries: [
        { path: "zstd", type: "directory" },
        { path: "zstd/hello.txt", content: "compressed with zstd\n" },
        { path: "zstd/repeat.txt", content: "tug ".repeat(10_000) },
        { path: "zstd/link", type: "symlink", linkname: "hello.txt" },
      ],
    }],
    config: { Cmd: ["cat", "/zstd/hello.txt"] },
  });
}

let built: Promise<FixtureImages> | undefined;

/** Builds the fixture images once per process (the 64 MiB random layer is the slow part) and caches them. */
export function fixtureImages(): Promise<FixtureImages> {
  built ??= (async () => {
    const [small, multiAmd64, multiArm64, large, zstd] = await Promise.all([
      smallImage(),
      archImage({ os: "linux", architecture: "amd64" }),
      archImage({ os: "linux", architecture: "arm64", variant: "v8" }),
      largeImage(),
      zstdImage(),
    ]);
    const attestation = attestationImage(multiAmd64.manifestDigest);
    return { small, multiAmd64, multiArm64, attestation, large, zstd };
  })();
  built.catch(() => built = undefined);
  return built;
}

/** Options for {@linkcode seedImages}. */
export interface SeedOptions extends PushOptions {
  /** Prefix of the repositories (default `tug`, giving `tug/small`, `tug/multi`, …). */
  namespace?: string;
  /** Tag for every image (default `v1`). */
  tag?: string;
  /** Seed only these images (default all four). */
  only?: Array<keyof SeededImages>;
}

function hostOf(target: RegistryTarget): string {
  return new URL(baseUrl(target)).host;
}

function describe(image: BuiltImage, repository: string, reference: string): SeededManifest {
  return {
    repository,
    reference,
    manifestDigest: image.manifestDigest,
    manifestBytes: image.manifestBytes,
    manifestMediaType: image.manifestMediaType,
    config: {
      digest: image.config.digest,
      size: image.config.size,
      bytes: image.config.bytes,
      mediaType: image.config.mediaType,
    },
    layers: image.layers.map((l) => ({
      digest: l.digest,
      size: l.size,
      mediaType: l.mediaType,
      diffId: l.diffId,
      files: l.files,
    })),
    platform: image.platform,
  };
}

/**
 * Pushes the standard fixture images into `target` and returns what a test needs to check pulls of
 * them. Partial results (with `only`) leave the other keys undefined at runtime.
 *
 * @example
 * ```ts ignore
 * await using registry = await startRegistry();
 * const images = await seedImages(registry);
 * console.log(images.small.reference); // 127.0.0.1:PORT/tug/small:v1
 * ```
 */
export async function seedImages(target: RegistryTarget, options: SeedOptions = {}): Promise<SeededImages> {
  const fixtures = await fixtureImages();
  const ns = options.namespace ?? "tug";
  const tag = options.tag ?? "v1";
  const host = hostOf(target);
  const push: PushOptions = {
    username: options.username,
    password: options.password,
    token: options.token,
    tokenCache: options.tokenCache ?? new Map(),
  };
  const want = new Set(options.only ?? ["small", "multi", "large", "zstd"]);
  const out: Partial<SeededImages> = {};
  const tagged = async (name: "small" | "large" | "zstd") => {
    const repository = `${ns}/${name}`;
    await pushImage(target, repository, fixtures[name], tag, push);
    out[name] = { ...describe(fixtures[name], repository, `${host}/${repository}:${tag}`), tag };
  };
  const jobs: Promise<void>[] = [];
  for (const name of ["small", "zstd"] as const) if (want.has(name)) jobs.push(tagged(name));
  if (want.has("multi")) {
    jobs.push((async () => {
      const repository = `${ns}/multi`;
      const { multiAmd64, multiArm64, attestation } = fixtures;
      // Children first: distribution checks that every manifest an index lists exists.
      await Promise.all(
        [multiAmd64, multiArm64, attestation].map((m) => pushImage(target, repository, m, undefined, push)),
      );
      const index = buildIndex([
        { manifest: multiAmd64, platform: multiAmd64.platform },
        { manifest: multiArm64, platform: multiArm64.platform },
        {
          manifest: attestation,
          platform: attestation.platform,
          annotations: {
            "vnd.docker.reference.digest": multiAmd64.manifestDigest,
            "vnd.docker.reference.type": "attestation-manifest",
          },
        },
      ], { format: "oci" });
      await pushManifest(target, repository, tag, index.manifestBytes, index.manifestMediaType, push);
      const byDigest = (m: BuiltImage) =>
        describe(m, repository, `${host}/${repository}@${m.manifestDigest}`);
      out.multi = {
        repository,
        tag,
        reference: `${host}/${repository}:${tag}`,
        manifestDigest: index.manifestDigest,
        manifestBytes: index.manifestBytes,
        manifestMediaType: index.manifestMediaType,
        images: { "linux/amd64": byDigest(multiAmd64), "linux/arm64/v8": byDigest(multiArm64) },
        attestation: byDigest(attestation),
      };
    })());
  }
  await Promise.all(jobs);
  // The 64 MiB push goes alone, after the small ones, so those are ready quickly and do not compete.
  if (want.has("large")) await tagged("large");
  return out as SeededImages;
}
