/**
 * `unpack()`: turns an image from a store into a root filesystem on disk, the second half of `docker pull`
 * ("Extracting … Pull complete"). Layers are applied in order with their whiteouts; each layer's uncompressed
 * stream is hashed as it is applied and must match the config's `rootfs.diff_ids`; nothing is ever written
 * outside the target folder, whatever the tar says. Runs on Deno and Node (node:fs).
 *
 * @module
 */
import {
  chmod,
  constants,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  unlink,
  utimes,
} from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import type { Stats } from "node:fs";
import { execFile } from "node:child_process";
import { basename, dirname, join, resolve } from "node:path";
import process from "node:process";
import { TugError } from "../../src/errors.ts";
import type { HasherFactory } from "../../src/digest/hasher.ts";
import { parseDigest } from "../../src/digest/parse_digest.ts";
import { decompressLayer, type DecompressLayerOptions } from "../../src/image/decompress_layer.ts";
import { normalizeTarPath } from "../../src/image/normalize_tar_path.ts";
import { releaseOwned } from "../../src/image/_owned_chunks.ts";
import { readTar, type TarEntry } from "../../src/image/tar_reader.ts";
import type { Descriptor, Platform } from "../../src/manifest/types.ts";
import type { ProgressHandler } from "../../src/pull/events.ts";
import type { Store } from "../../src/store/types.ts";
import { nodeHasher } from "../crypto/node_hasher.ts";
import { resolveImage } from "./_resolve_image.ts";

/**
 * Options for {@linkcode unpack}.
 *
 * @example Unpack the arm64 image of a multi-platform name, printing Docker's statuses
 * ```ts
 * import type { UnpackOptions } from "./unpack.ts";
 *
 * const options: UnpackOptions = {
 *   platform: "linux/arm64",
 *   onProgress: (e) => e.status === "Pull complete" && console.log(e.id, e.status),
 * };
 * console.assert(options.platform === "linux/arm64");
 * ```
 */
export interface UnpackOptions {
  /** The platform to pick when the name points at an index (default linux/amd64, as pull() defaults). */
  platform?: Platform | string;
  /** Receives "Extracting" (compressed bytes read of the layer's size) and "Pull complete" per layer. */
  onProgress?: ProgressHandler;
  /** Cancels the unpack; the target folder is then left as it was. */
  signal?: AbortSignal;
  /** Hasher for the diffID checks (default node:crypto's). */
  hasher?: HasherFactory;
  /**
   * Act as root: set owners (lchown) and create device nodes. Default: whether the process runs as uid 0.
   * `false` as root gives what an unprivileged user gets: no chown, device nodes refused.
   */
  root?: boolean;
  /**
   * Bytes of the next layer decompressed and hashed ahead while the current one is written (default
   * 4 MiB; 0 turns the read-ahead off). Bounds memory whatever the layer sizes.
   */
  readAhead?: number;
  /**
   * The largest window a zstd layer may declare, in bytes (default 128 MiB, as the zstd CLI); larger frames
   * are refused with `DECOMPRESSION_LIMIT` before anything is decoded.
   */
  maxZstdWindow?: number;
}

/** What {@linkcode unpack} did. */
export interface UnpackResult {
  /** The target folder (absolute). */
  readonly dir: string;
  /** The image manifest unpacked. */
  readonly manifest: Descriptor;
  /** Digest of its configuration (Docker's image ID). */
  readonly config: string;
  /** The verified diffIDs, bottom layer first. */
  readonly diffIds: readonly string[];
}

/** Docker's message (moby distribution/pull_v2.go errRootFSMismatch) for every diffID disagreement. */
const ROOTFS_MISMATCH = "layers from manifest don't match image configuration";
/** Symlinks followed while resolving one path, as Linux's MAXSYMLINKS (40). */
const MAX_SYMLINKS = 40;
const READ_AHEAD = 4 << 20;
/**
 * Decoded chunks kept after the tar reader took them, before their memory is released. The reader hands out
 * views of at most the chunk it is in, and the applier holds at most one view besides (the write in flight
 * while the next is read; `apply()` awaits it before it returns), so 2 would do; 4 leaves a margin.
 */
const KEPT_CHUNKS = 4;

function errno(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

function unsafe(entry: string, why: string): TugError {
  return new TugError("UNSAFE_PATH", `Refusing tar entry "${entry}": ${why}`, { detail: { entry } });
}

function ioError(action: string, err: unknown): TugError {
  if (err instanceof TugError) return err;
  return new TugError("STORE_IO", `${action}: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
    detail: { errno: errno(err) },
  });
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if (errno(err) === "ENOENT") return undefined;
    throw err;
  }
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    execFile(command, args, (err, _out, stderr) => {
      if (err) fail(new Error(`${command} ${args.join(" ")}: ${String(stderr).trim() || err.message}`));
      else done();
    });
  });
}

/** Metadata applied to directories once every layer is in (writing into them would change their mtimes). */
interface DirMeta {
  mode: number;
  mtime: number;
}

/**
 * Applies layers to one root folder. Every write goes to a path tug resolved itself, component by
 * component with lstat, so the kernel never follows a symlink from the layers: an intermediate symlink is
 * resolved inside the root (an absolute target means the root, as it would inside the container), one
 * that climbs above the root is refused, and the last component is never followed (it is replaced).
 */
class Applier {
  readonly #root: string;
  readonly #asRoot: boolean;
  /** Relative real paths known to be directories (not symlinks) in the tree; cleared on any removal. */
  #dirs = new Set<string>([""]);
  /** Directory metadata to apply at the end, by relative real path. */
  readonly dirMeta = new Map<string, DirMeta>();
  /** Paths this layer created (and their ancestors): whiteouts hide lower layers' content only. */
  #created = new Set<string>();
  #createdAncestors = new Set<string>();

  constructor(root: string, asRoot: boolean) {
    this.#root = root;
    this.#asRoot = asRoot;
  }

  startLayer(): void {
    this.#created = new Set();
    this.#createdAncestors = new Set();
  }

  #abs(rel: string): string {
    return rel === "" ? this.#root : join(this.#root, rel);
  }

  #markCreated(rel: string): void {
    this.#created.add(rel);
    for (let i = rel.lastIndexOf("/"); i > 0; i = rel.lastIndexOf("/", i - 1)) {
      const parent = rel.slice(0, i);
      if (this.#createdAncestors.has(parent)) break;
      this.#createdAncestors.add(parent);
    }
    this.#createdAncestors.add("");
  }

  /**
   * Resolves the directory `parts` names to a real relative path inside the root, following symlinks the
   * way a chroot would but refusing targets that climb above the root. Missing directories are created
   * (0755, as Docker's MkdirAll for parents) when `create` is set; otherwise undefined is returned.
   */
  async #resolveDir(parts: string[], entry: string, create: boolean): Promise<string | undefined> {
    const real: string[] = [];
    const queue = [...parts];
    let links = 0;
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (real.length === 0) {
          throw unsafe(entry, "it goes through a symlink that leads outside the target folder");
        }
        real.pop();
        continue;
      }
      real.push(part);
      const rel = real.join("/");
      if (this.#dirs.has(rel)) continue;
      const abs = this.#abs(rel);
      const st = await lstatOrUndefined(abs);
      if (st === undefined) {
        if (!create) return undefined;
        await mkdir(abs, { mode: 0o755 });
        this.#dirs.add(rel);
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) throw unsafe(entry, "too many levels of symlinks");
        const target = await readlink(abs);
        real.pop();
        // An absolute target is a path in the image's root filesystem, i.e. inside the target folder.
        if (target.startsWith("/")) real.length = 0;
        queue.unshift(...target.split("/"));
        continue;
      }
      if (!st.isDirectory()) {
        throw new TugError(
          "TAR_INVALID",
          `Cannot extract tar entry "${entry}": "/${rel}" in the image is not a directory`,
          { detail: { entry } },
        );
      }
      this.#dirs.add(rel);
    }
    return real.join("/");
  }

  /** Splits a clean path into the resolved real parent and the last name. */
  async #place(path: string, entry: string, create: boolean): Promise<string | undefined> {
    const slash = path.lastIndexOf("/");
    const parent = await this.#resolveDir(slash === -1 ? [] : path.slice(0, slash).split("/"), entry, create);
    if (parent === undefined) return undefined;
    const name = path.slice(slash + 1);
    return parent === "" ? name : `${parent}/${name}`;
  }

  /** Forgets cached knowledge under `rel` after a removal. */
  #forget(rel: string): void {
    this.#dirs = new Set([""]);
    const prefix = rel + "/";
    for (const key of this.dirMeta.keys()) {
      if (key === rel || key.startsWith(prefix)) this.dirMeta.delete(key);
    }
  }

  /** Removes `rel` (never following it) except what this layer created, for whiteouts and opaque dirs. */
  async #removeLower(rel: string): Promise<void> {
    const abs = this.#abs(rel);
    if (this.#created.has(rel) || this.#createdAncestors.has(rel)) {
      const st = await lstatOrUndefined(abs);
      if (!st?.isDirectory()) return;
      for (const name of await readdir(abs)) await this.#removeLower(rel === "" ? name : `${rel}/${name}`);
      return;
    }
    await rm(abs, { recursive: true, force: true });
    this.#forget(rel);
  }

  async apply(entry: TarEntry): Promise<void> {
    const { path, safe } = normalizeTarPath(entry.name);
    if (!safe) throw unsafe(entry.name, "its path climbs above the target folder");
    const base = path.slice(path.lastIndexOf("/") + 1);

    // Whiteouts (image-spec layer.md "Whiteouts"); AUFS's own `.wh..wh.` metadata is skipped, as Docker does.
    if (base.startsWith(".wh.")) {
      if (base === ".wh..wh..opq") {
        const dir = await this.#resolveDir(path.split("/").slice(0, -1), entry.name, false);
        if (dir === undefined) return;
        const st = await lstatOrUndefined(this.#abs(dir));
        if (!st?.isDirectory()) return;
        for (const name of await readdir(this.#abs(dir))) {
          await this.#removeLower(dir === "" ? name : `${dir}/${name}`);
        }
        return;
      }
      if (base.startsWith(".wh..wh.")) return;
      const target = await this.#place(path.slice(0, -base.length) + base.slice(4), entry.name, false);
      if (target !== undefined) await this.#removeLower(target);
      return;
    }

    if (path === "") {
      // `/` or `./`: the root itself; only its metadata can change.
      if (entry.type !== "directory") throw unsafe(entry.name, "it would replace the target folder itself");
      this.dirMeta.set("", { mode: entry.mode & 0o7777, mtime: entry.mtime });
      if (this.#asRoot) await lchown(this.#root, entry.uid, entry.gid);
      return;
    }

    if ((entry.type === "char" || entry.type === "block") && !this.#asRoot) {
      throw unsafe(entry.name, `it is a ${entry.type} device node, which only root may create`);
    }
    let linkTarget: string | undefined;
    if (entry.type === "hardlink") {
      const target = normalizeTarPath(entry.linkname);
      if (!target.safe || target.path === "") {
        throw unsafe(entry.name, `its hard link target "${entry.linkname}" is outside the target folder`);
      }
      const resolved = await this.#place(target.path, entry.name, false);
      if (resolved === undefined) {
        throw new TugError(
          "TAR_INVALID",
          `Cannot extract tar entry "${entry.name}": its hard link target "${entry.linkname}" does not exist`,
        );
      }
      linkTarget = this.#abs(resolved);
    }

    const rel = (await this.#place(path, entry.name, true))!;
    const abs = this.#abs(rel);
    const existing = await lstatOrUndefined(abs);
    if (existing && !(existing.isDirectory() && entry.type === "directory")) {
      // Replace whatever is there; a directory goes with its content (Docker's UnpackLayer does RemoveAll).
      if (existing.isDirectory()) {
        await rm(abs, { recursive: true, force: true });
        this.#forget(rel);
      } else {
        await unlink(abs);
      }
    }
    this.#markCreated(rel);
    const mode = entry.mode & 0o7777;
    switch (entry.type) {
      case "directory":
        if (!existing) await mkdir(abs, { mode: 0o700 });
        this.#dirs.add(rel);
        this.dirMeta.set(rel, { mode, mtime: entry.mtime });
        if (this.#asRoot) await lchown(abs, entry.uid, entry.gid);
        return;
      case "file":
        await this.#writeFile(abs, entry, mode);
        return;
      case "symlink":
        await symlink(entry.linkname, abs);
        if (this.#asRoot) await lchown(abs, entry.uid, entry.gid);
        await lutimes(abs, entry.mtime, entry.mtime);
        return;
      case "hardlink": {
        const st = await lstatOrUndefined(linkTarget!);
        if (!st || st.isDirectory()) {
          throw new TugError(
            "TAR_INVALID",
            `Cannot extract tar entry "${entry.name}": its hard link target "${entry.linkname}" is ${
              st ? "a directory" : "missing"
            }`,
          );
        }
        // link(2) does not follow a symlink target: the link is to the symlink itself, inside the root.
        await link(linkTarget!, abs);
        return;
      }
      case "fifo":
        await run("mkfifo", ["-m", mode.toString(8), abs]);
        break;
      case "char":
      case "block":
        await run("mknod", [
          "-m",
          mode.toString(8),
          abs,
          entry.type === "char" ? "c" : "b",
          String(entry.devmajor),
          String(entry.devminor),
        ]);
        break;
      default:
        throw new TugError(
          "TAR_INVALID",
          `Cannot extract tar entry "${entry.name}": unsupported entry type "${entry.typeflag}"`,
        );
    }
    if (this.#asRoot) await lchown(abs, entry.uid, entry.gid);
    await utimes(abs, entry.mtime, entry.mtime);
  }

  async #writeFile(abs: string, entry: TarEntry, mode: number): Promise<void> {
    // O_EXCL|O_NOFOLLOW: the name was just cleared, so anything there now is not ours to write through.
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
    const handle: FileHandle = await open(abs, flags, 0o600);
    try {
      const reader = entry.body.getReader();
      // One write in flight while the next chunk is decompressed.
      let pending: Promise<unknown> | undefined;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (pending) await pending;
          pending = handle.write(value);
        }
        if (pending) await pending;
      } catch (err) {
        await pending?.catch(() => {});
        await reader.cancel(err).catch(() => {});
        throw err;
      }
      // chown first: it clears setuid/setgid bits, which the chmod then sets.
      if (this.#asRoot) await handle.chown(entry.uid, entry.gid);
      await handle.chmod(mode);
      await handle.utimes(entry.mtime, entry.mtime);
    } finally {
      await handle.close();
    }
  }

  /** Sets directory modes and mtimes, deepest first, once nothing more is written into them. */
  async finish(): Promise<void> {
    const dirs = [...this.dirMeta.entries()].sort((a, b) => b[0].split("/").length - a[0].split("/").length);
    for (const [rel, meta] of dirs) {
      const abs = this.#abs(rel);
      const st = await lstatOrUndefined(abs);
      if (!st?.isDirectory()) continue;
      await chmod(abs, meta.mode);
      await utimes(abs, meta.mtime, meta.mtime);
    }
  }
}

/** One layer's uncompressed stream, hashed on the way, with the compressed bytes read so far. */
interface LayerStream {
  /** Chunks of the tar; `read` is how many compressed bytes had been read when the chunk came out. */
  reader: ReadableStreamDefaultReader<{ chunk: Uint8Array; read: number }>;
  digest(): string;
}

async function openLayer(
  store: Store,
  layer: Descriptor,
  algorithm: "sha256" | "sha512",
  hasher: HasherFactory,
  readAhead: number,
  decompress: DecompressLayerOptions,
): Promise<LayerStream> {
  const hash = await hasher(algorithm);
  let read = 0;
  const compressed = (await store.blobs.get(layer.digest)).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        read += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }),
  );
  // Docker sniffs the compression rather than trusting the media type (pkg/archive DecompressStream). The
  // decoder works only as the read-ahead below asks, in bounded steps: a bomb costs time, not memory.
  const tar = decompressLayer(compressed, "auto", decompress);
  const hashed = tar.pipeThrough(
    new TransformStream<Uint8Array, { chunk: Uint8Array; read: number }>(
      {
        transform(chunk, controller) {
          hash.update(chunk);
          controller.enqueue({ chunk, read });
        },
      },
      undefined,
      // The read-ahead: up to this many uncompressed bytes wait here while the layer before is written.
      { highWaterMark: Math.max(readAhead, 1), size: (o) => o.chunk.byteLength },
    ),
  );
  return { reader: hashed.getReader(), digest: () => `${algorithm}:${hash.digest()}` };
}

async function checkTarget(dir: string): Promise<void> {
  let st: Stats;
  try {
    st = await stat(dir);
  } catch (err) {
    if (errno(err) === "ENOENT") return;
    throw ioError(`Cannot unpack into ${dir}`, err);
  }
  if (!st.isDirectory()) {
    throw new TugError("UNSAFE_PATH", `Cannot unpack into ${dir}: it exists and is not a directory`);
  }
  if ((await readdir(dir)).length > 0) {
    throw new TugError(
      "UNSAFE_PATH",
      `Cannot unpack into ${dir}: the folder is not empty (unpack needs a new or empty folder)`,
    );
  }
}

/**
 * Checks that `dir` can take an unpacked image: it must not exist, or be an empty directory.
 *
 * @param dir The target folder.
 * @throws {TugError} `UNSAFE_PATH` when `dir` is a file or a non-empty folder.
 *
 * @example
 * ```ts
 * import { checkUnpackTarget } from "./unpack.ts";
 *
 * await checkUnpackTarget("/nonexistent/rootfs"); // fine: it will be created
 * ```
 */
export async function checkUnpackTarget(dir: string): Promise<void> {
  await checkTarget(resolve(dir));
}

/**
 * Unpacks an image from `store` into the folder `dir` as a root filesystem, applying its layers in order
 * (gzip, zstd or plain tar; files, directories, symlinks, hard links, FIFOs, modes, mtimes; owners and
 * device nodes when running as root; whiteouts and opaque directories).
 *
 * Guarantees:
 * - Each layer's uncompressed stream is hashed while it is applied and must equal the config's
 *   `rootfs.diff_ids`, in order and in number; otherwise `TugError` `LAYERS_MISMATCH` with Docker's message
 *   "layers from manifest don't match image configuration".
 * - Nothing is written outside `dir`: a leading `/` (and an entry named `/`) means `dir` itself; entries
 *   whose path climbs above it, hard links to paths outside it, writes through a symlink that leads above
 *   it, and device nodes without root are refused with `TugError` `UNSAFE_PATH` naming the entry. Absolute
 *   symlinks are kept as they are (they are content) and, when a later entry goes through one, resolved
 *   inside `dir` as the container would see them.
 * - All or nothing: `dir` must not exist or be empty (`UNSAFE_PATH` otherwise). The image is built in a
 *   hidden sibling folder and renamed to `dir` at the end, so a failed or cancelled unpack leaves `dir` as
 *   it was. (The rename replaces an empty `dir`: its own mode and owner give way to the image's root's.)
 *
 * While layer N is written, layer N+1 is read, decompressed and hashed ahead into a bounded buffer
 * (`readAhead`, 4 MiB by default), so disk writes and decompression overlap without holding a layer in
 * memory. Progress events are Docker's: "Extracting" with the compressed bytes consumed of the layer's
 * size, then "Pull complete", per layer in order.
 *
 * @param store The store holding the image (blobs verified when they were committed).
 * @param image A name the store holds (`registry/repo:tag`, `…@sha256:…`) or a manifest/index descriptor.
 * @param dir The target folder: new, or empty.
 * @param options Platform (for an index), progress, cancellation, hasher, root mode, read-ahead.
 * @returns The folder, the manifest unpacked and the verified diffIDs.
 *
 * @example Unpack an image pulled into an OCI layout store
 * ```ts ignore
 * import { OciLayoutStore } from "./oci_layout_store.ts";
 * import { unpack } from "./unpack.ts";
 *
 * const store = await OciLayoutStore.open("/var/lib/tug");
 * const result = await unpack(store, "docker.io/library/alpine:3.20", "/tmp/alpine-rootfs", {
 *   onProgress: (e) => console.log(e.id ?? "", e.status),
 * });
 * console.log(result.diffIds);
 * ```
 */
export async function unpack(
  store: Store,
  image: string | Descriptor,
  dir: string,
  options: UnpackOptions = {},
): Promise<UnpackResult> {
  const target = resolve(dir);
  const signal = options.signal;
  signal?.throwIfAborted();
  const resolved = await resolveImage(store, image, options.platform, "unpack");
  const layers = resolved.manifest.layers;
  const diffIds = resolved.config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== layers.length) {
    throw new TugError("LAYERS_MISMATCH", ROOTFS_MISMATCH, {
      detail: { layers: layers.length, diffIds: diffIds.length },
    });
  }
  const algorithms = diffIds.map((d) => parseDigest(d).algorithm);
  await checkTarget(target);
  const hasher = options.hasher ?? nodeHasher;
  const readAhead = options.readAhead ?? READ_AHEAD;
  const asRoot = options.root ?? process.getuid?.() === 0;
  const onProgress = options.onProgress;

  const staging = join(
    dirname(target),
    `.${basename(target)}.tug-unpack-${process.pid}-${Math.random().toString(36).slice(2, 10)}`,
  );
  try {
    await mkdir(dirname(target), { recursive: true });
    await mkdir(staging, { mode: 0o755 });
  } catch (err) {
    throw ioError(`Cannot create ${staging}`, err);
  }
  const streams: LayerStream[] = [];
  let next: Promise<LayerStream> | undefined;
  const applier = new Applier(staging, asRoot);
  try {
    const decompress = { maxZstdWindow: options.maxZstdWindow, signal };
    const opener = (i: number) => openLayer(store, layers[i], algorithms[i], hasher, readAhead, decompress);
    next = layers.length > 0 ? opener(0) : undefined;
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i];
      const id = parseDigest(layer.digest).hex.slice(0, 12);
      const current = await next!;
      streams.push(current);
      // Start the next layer now: it decompresses into its bounded buffer while this one is written.
      next = i + 1 < layers.length && readAhead > 0 ? opener(i + 1) : undefined;
      next?.catch(() => {});
      let lastReported = -1;
      const report = (read: number) => {
        if (read === lastReported) return;
        lastReported = read;
        onProgress?.({ status: "Extracting", id, current: read, total: layer.size, digest: layer.digest });
      };
      // Chunks the tar reader took, oldest first. Once it is KEPT_CHUNKS further on, nothing reads a chunk
      // any more, and its memory is handed back now rather than at the next full GC (see _owned_chunks.ts).
      const taken: Uint8Array[] = [];
      // The tar reader stops at the end-of-archive blocks and cancels its input; this wrapper keeps the
      // layer stream so whatever follows those blocks is still read and hashed, as Docker does.
      const tarInput = new ReadableStream<Uint8Array>({
        async pull(controller) {
          // Checked per chunk, so a cancel stops inside a big file too.
          signal?.throwIfAborted();
          const r = await current.reader.read();
          if (r.done) {
            controller.close();
            return;
          }
          report(r.value.read);
          taken.push(r.value.chunk);
          if (taken.length > KEPT_CHUNKS) releaseOwned(taken.shift()!);
          controller.enqueue(r.value.chunk);
        },
      }, { highWaterMark: 0 });
      applier.startLayer();
      for await (const entry of readTar(tarInput)) {
        signal?.throwIfAborted();
        try {
          await applier.apply(entry);
        } catch (err) {
          if (err instanceof TugError) throw err;
          throw ioError(`Cannot extract tar entry "${entry.name}" of layer ${layer.digest}`, err);
        }
      }
      // Every entry is applied: no view of the layer's chunks is in use any more.
      for (const chunk of taken.splice(0)) releaseOwned(chunk);
      for (;;) {
        const r = await current.reader.read();
        if (r.done) break;
        report(r.value.read);
        releaseOwned(r.value.chunk);
      }
      const actual = current.digest();
      if (actual !== diffIds[i]) {
        throw new TugError("LAYERS_MISMATCH", ROOTFS_MISMATCH, {
          detail: { layer: layer.digest, expected: diffIds[i], actual },
        });
      }
      report(layer.size);
      onProgress?.({ status: "Pull complete", id, digest: layer.digest });
      if (!next && i + 1 < layers.length) next = opener(i + 1);
    }
    await applier.finish();
    signal?.throwIfAborted();
    try {
      await rename(staging, target);
    } catch (err) {
      throw ioError(`Cannot move the unpacked image to ${target}`, err);
    }
  } catch (err) {
    const pending = next;
    if (pending) streams.push(...await pending.then((s) => [s], () => []));
    for (const s of streams) await s.reader.cancel(err).catch(() => {});
    await rm(staging, { recursive: true, force: true }).catch(() => {});
    if (errno(err) !== undefined && !(err instanceof TugError)) {
      throw ioError(`Cannot unpack into ${target}`, err);
    }
    throw err;
  }
  return {
    dir: target,
    manifest: resolved.descriptor,
    config: resolved.manifest.config.digest,
    diffIds,
  };
}
