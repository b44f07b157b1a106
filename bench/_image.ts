/**
 * Builds the benchmark image from real files on this machine (shared libraries, data files and programs
 * under /usr, which compress like a real base image does, unlike random or repeated filler): N gzip layers
 * written as an OCI image layout in a cache folder, so later runs reuse it. Layers are made with the
 * system's `tar` and `gzip -6` (the level Docker and most build tools use).
 *
 * @module
 */

import { createHash } from "node:crypto";

/** What to build. */
export interface ImageSpec {
  /** Cache key: a folder of this name under the cache root. */
  name: string;
  /** Number of image layers. */
  layers: number;
  /** Target compressed size of each image layer, in bytes. */
  layerBytes: number;
  /** Target compressed size of the single browser layer (built apart, not part of the image). */
  browserLayerBytes: number;
}

/** A built layer. */
export interface BuiltBlob {
  digest: string;
  size: number;
  /** Uncompressed size (layers). */
  tarSize?: number;
  path: string;
}

/** The built image: an OCI layout at `layout` with one manifest tagged `bench`. */
export interface BenchImage {
  spec: ImageSpec;
  layout: string;
  tag: string;
  manifestDigest: string;
  layers: BuiltBlob[];
  config: BuiltBlob;
  /** The gzip layer the browser pair lists (its own file, not in the image). */
  browserLayer: BuiltBlob;
  /** Sum of the compressed layer sizes. */
  compressedBytes: number;
  /** Sum of the uncompressed layer sizes. */
  uncompressedBytes: number;
}

const SOURCES = ["usr/lib", "usr/share", "usr/bin", "usr/libexec", "usr/sbin"];
const LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip";

/** Lists regular files, symlinks and folders under `root/rel` in a stable order, with their sizes. */
async function* walk(
  root: string,
  rel: string,
): AsyncGenerator<{ path: string; size: number; dir: boolean }> {
  let entries: Deno.DirEntry[];
  try {
    entries = [];
    for await (const e of Deno.readDir(`${root}/${rel}`)) entries.push(e);
  } catch {
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  yield { path: rel, size: 0, dir: true };
  for (const e of entries) {
    const path = `${rel}/${e.name}`;
    if (e.isDirectory) {
      yield* walk(root, path);
    } else if (e.isFile) {
      try {
        const info = await Deno.lstat(`${root}/${path}`);
        yield { path, size: info.size, dir: false };
      } catch {
        // Vanished or unreadable: skip.
      }
    } else if (e.isSymlink) {
      yield { path, size: 0, dir: false };
    }
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  const buffer = new Uint8Array(1 << 20);
  while (true) {
    const n = await file.read(buffer);
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
  }
  return `sha256:${hash.digest("hex")}`;
}

async function run(args: string[], what: string): Promise<string> {
  const out = await new Deno.Command(args[0], { args: args.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(
      `${what} failed (${args.join(" ")}): ${new TextDecoder().decode(out.stderr).slice(-2000)}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** Tars the listed paths (relative to /) and gzips them at level 6; returns digest, sizes and diffID. */
async function buildLayer(
  listFile: string,
  outPath: string,
): Promise<{ digest: string; size: number; tarSize: number; diffId: string }> {
  const tmp = `${outPath}.partial`;
  // tee feeds the uncompressed tar to sha256sum (the diffID) and wc (its size) while gzip compresses it.
  const script = `set -o pipefail
tar --no-recursion --ignore-failed-read --warning=no-file-changed -C / -cf - -T "$1" 2>/dev/null \\
  | tee >(sha256sum > "$2.diffid") >(wc -c > "$2.tarsize") | gzip -6 -n > "$2"`;
  await run(["bash", "-c", script, "bash", listFile, tmp], "building a layer");
  // The process substitutions may finish a moment after the pipeline: wait for their output.
  for (let i = 0; i < 100; i++) {
    const a = await Deno.readTextFile(`${tmp}.diffid`).catch(() => "");
    const b = await Deno.readTextFile(`${tmp}.tarsize`).catch(() => "");
    if (/^[0-9a-f]{64}/.test(a) && /\d+\s*$/.test(b)) {
      const diffId = `sha256:${a.slice(0, 64)}`;
      const tarSize = Number(b.trim());
      await Deno.remove(`${tmp}.diffid`);
      await Deno.remove(`${tmp}.tarsize`);
      await Deno.rename(tmp, outPath);
      const size = (await Deno.stat(outPath)).size;
      return { digest: await sha256File(outPath), size, tarSize, diffId };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`building a layer: sha256sum/wc gave no result for ${tmp}`);
}

async function writeBlob(layout: string, bytes: Uint8Array): Promise<BuiltBlob> {
  const hex = createHash("sha256").update(bytes).digest("hex");
  const path = `${layout}/blobs/sha256/${hex}`;
  await Deno.writeFile(path, bytes);
  return { digest: `sha256:${hex}`, size: bytes.length, path };
}

/**
 * Returns the benchmark image for `spec`, building it under `cacheRoot/spec.name` when it is not there yet.
 * `log` receives progress lines.
 */
export async function benchImage(
  spec: ImageSpec,
  cacheRoot: string,
  log: (line: string) => void,
): Promise<BenchImage> {
  const dir = `${cacheRoot}/${spec.name}`;
  const metaPath = `${dir}/image.json`;
  try {
    const cached = JSON.parse(await Deno.readTextFile(metaPath)) as BenchImage;
    if (JSON.stringify(cached.spec) === JSON.stringify(spec)) {
      for (const b of [...cached.layers, cached.config, cached.browserLayer]) {
        if ((await Deno.stat(b.path)).size !== b.size) throw new Error("stale");
      }
      return cached;
    }
  } catch {
    // Not built yet (or from another spec): build it.
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const layout = `${dir}/layout`;
  await Deno.mkdir(`${layout}/blobs/sha256`, { recursive: true });
  log(`building the benchmark image in ${dir} (once; later runs reuse it)`);

  // Every file under the source folders, shuffled with a fixed seed, so each layer is a realistic mix of
  // small and large files of every kind (and compresses alike). Files over 64 MB are left out (one would
  // make a layer of its own). Layers take consecutive runs of the shuffled list; the compression ratio
  // learnt from the first layer sizes the next ones (the first guess is about /usr on Debian).
  const all: Array<{ path: string; size: number }> = [];
  for (const s of SOURCES) {
    for await (const f of walk("", s)) if (!f.dir && f.size <= 64e6) all.push({ path: f.path, size: f.size });
  }
  let seed = 0x9e3779b9;
  const random = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  let cursor = 0;
  let ratio = 2.8;
  const built: Array<{ digest: string; size: number; tarSize: number; diffId: string; path: string }> = [];
  const targets = [...Array(spec.layers).fill(spec.layerBytes), spec.browserLayerBytes];
  for (let i = 0; i < targets.length; i++) {
    const want = targets[i] * ratio;
    const chosen: string[] = [];
    let bytes = 0;
    while (bytes < want && cursor < all.length) {
      const f = all[cursor++];
      chosen.push(f.path);
      bytes += f.size + 512;
    }
    if (chosen.length === 0) throw new Error("ran out of files under /usr to build the benchmark image");
    // Parent folders first, then everything in path order, as a build tool writes a layer.
    const dirs = new Set<string>();
    for (const p of chosen) {
      for (let k = p.indexOf("/"); k > 0; k = p.indexOf("/", k + 1)) dirs.add(p.slice(0, k));
    }
    const list = [...dirs, ...chosen].sort();
    const listFile = `${dir}/layer${i}.list`;
    await Deno.writeTextFile(listFile, list.join("\n") + "\n");
    const started = performance.now();
    const out = `${dir}/layer${i}.tar.gz`;
    const layer = await buildLayer(listFile, out);
    await Deno.remove(listFile);
    if (i === 0) ratio = Math.max(1.2, layer.tarSize / layer.size);
    log(
      `  ${i < spec.layers ? `layer ${i + 1}/${spec.layers}` : "browser layer"}: ` +
        `${(layer.size / 1e6).toFixed(0)} MB gzip from ${(layer.tarSize / 1e6).toFixed(0)} MB tar, ` +
        `${list.length} entries (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
    const hex = layer.digest.slice(7);
    const path = i < spec.layers ? `${layout}/blobs/sha256/${hex}` : `${dir}/browser_layer.tar.gz`;
    await Deno.rename(out, path);
    built.push({ ...layer, path });
  }
  const layers = built.slice(0, spec.layers);
  const browser = built[spec.layers];
  const configJson = {
    created: "2024-01-01T00:00:00Z",
    architecture: "amd64",
    os: "linux",
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"] },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({
      created: "2024-01-01T00:00:00Z",
      created_by: `tug bench layer ${i + 1}`,
    })),
  };
  const enc = new TextEncoder();
  const config = await writeBlob(layout, enc.encode(JSON.stringify(configJson)));
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: config.digest,
      size: config.size,
    },
    layers: layers.map((l) => ({ mediaType: LAYER_MEDIA_TYPE, digest: l.digest, size: l.size })),
  };
  const manifestBlob = await writeBlob(layout, enc.encode(JSON.stringify(manifest)));
  const tag = "bench";
  await Deno.writeTextFile(`${layout}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await Deno.writeTextFile(
    `${layout}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{
        mediaType: manifest.mediaType,
        digest: manifestBlob.digest,
        size: manifestBlob.size,
        annotations: { "org.opencontainers.image.ref.name": tag },
      }],
    }),
  );
  const image: BenchImage = {
    spec,
    layout,
    tag,
    manifestDigest: manifestBlob.digest,
    layers: layers.map((l) => ({ digest: l.digest, size: l.size, tarSize: l.tarSize, path: l.path })),
    config,
    browserLayer: {
      digest: browser.digest,
      size: browser.size,
      tarSize: browser.tarSize,
      path: browser.path,
    },
    compressedBytes: layers.reduce((n, l) => n + l.size, 0),
    uncompressedBytes: layers.reduce((n, l) => n + l.tarSize, 0),
  };
  await Deno.writeTextFile(metaPath, JSON.stringify(image, null, 2) + "\n");
  return image;
}

/** Pushes the image into a registry with skopeo (streams from the layout; no re-compression). */
export async function pushBenchImage(image: BenchImage, host: string, repository: string): Promise<string> {
  const ref = `${host}/${repository}:v1`;
  await run(
    [
      "skopeo",
      "copy",
      "-q",
      "--dest-tls-verify=false",
      `oci:${image.layout}:${image.tag}`,
      `docker://${ref}`,
    ],
    "pushing the benchmark image",
  );
  return ref;
}
