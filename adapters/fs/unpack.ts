/**
 * `unpack()`: turns an image from a store into a root filesystem on disk, the second half of `docker pull`
 * ("Extracting … Pull complete"). Layers are applied in order with their whiteouts; each layer's uncompressed
 * stream is hashed as it is applied and must match the config's `rootfs.diff_ids`; nothing is ever written
 * outside the target folder, whatever the tar says. Runs on Deno and Node (node:fs).
 *
 * @module
 */
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import process from "node:process";
import { TugError } from "../../src/errors.ts";
import type { HasherFactory } from "../../src/digest/hasher.ts";
import { parseDigest } from "../../src/digest/parse_digest.ts";
import { type LayerStream, openLayer } from "../../src/image/open_layer.ts";
import { releaseOwned } from "../../src/image/owned_chunks.ts";
import { readTar } from "../../src/image/tar_reader.ts";
import type { Descriptor, Platform } from "../../src/manifest/types.ts";
import { layerEvent, type ProgressHandler } from "../../src/pull/events.ts";
import type { Store } from "../../src/store/types.ts";
import { nodeHasher } from "../crypto/node_hasher.ts";
import { resolveImage } from "./resolve_image.ts";
import { EntryApplier } from "./_entry_applier.ts";

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
  /**
   * Permission bits of the target folder (default 0o700, as umoci creates its bundles): the image's device
   * nodes and setuid files are then out of reach of other local users (containerd CVE-2021-41103). The
   * image's own `./` entry sets the folder's owner and mtime, not its mode. The staging folder the image is
   * built in is 0700 throughout.
   */
  targetMode?: number;
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
const READ_AHEAD = 4 << 20;
/**
 * Decoded chunks kept after the tar reader took them, before their memory is released. The reader hands out
 * views of at most the chunk it is in, and the applier holds at most one view besides (the write in flight
 * while the next is read; `apply()` awaits it before it returns), so 2 would do; 4 leaves a margin.
 */
const KEPT_CHUNKS = 4;
/** The target folder's default mode: its owner only (umoci's bundles; containerd CVE-2021-41103). */
const TARGET_MODE = 0o700;

function errno(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

function ioError(action: string, err: unknown): TugError {
  if (err instanceof TugError) return err;
  return new TugError("STORE_IO", `${action}: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
    detail: { errno: errno(err) },
  });
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
 * - Nothing outside `dir` is written, removed or chmod-ed: every creation, write, link, owner/mode/time
 *   change and removal (whiteouts included) goes through one resolver (`_confined_root.ts`) that follows
 *   symlinks inside `dir` only and never follows the last component. A leading `/` (and an entry named
 *   `/`) means `dir` itself; entries whose path climbs above it, hard links to paths outside it, paths
 *   through a symlink that leads above it, invalid whiteout names (`.wh.`, `.wh..`, `.wh...`, refused as
 *   containerd does) and device nodes without root are refused with `TugError` `UNSAFE_PATH` naming the
 *   entry. Absolute symlinks are kept as they are (they are content) and, when a later entry goes through
 *   one, resolved inside `dir` as the container would see them.
 * - `dir` is 0700 (`targetMode` otherwise), and so is the staging folder while it fills: device nodes and
 *   setuid files are never reachable by other local users (containerd CVE-2021-41103).
 * - All or nothing: `dir` must not exist or be empty (`UNSAFE_PATH` otherwise). The image is built in a
 *   hidden sibling folder and renamed to `dir` at the end, so a failed or cancelled unpack leaves `dir` as
 *   it was. (The rename replaces an empty `dir`: it gets the target mode and the owner of the image's
 *   root.)
 *
 * While layer N is written, layer N+1 is read, decompressed and hashed ahead into a bounded buffer
 * (`readAhead`, 4 MiB by default), so disk writes and decompression overlap without holding a layer in
 * memory. Progress events are Docker's: "Extracting" with the compressed bytes consumed of the layer's
 * size, then "Pull complete", per layer in order.
 *
 * @param store The store holding the image (blobs verified when they were committed).
 * @param image A name the store holds (`registry/repo:tag`, `…@sha256:…`) or a manifest/index descriptor.
 * @param dir The target folder: new, or empty.
 * @param options Platform (for an index), progress, cancellation, hasher, root mode, read-ahead, target
 *   mode.
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
  const targetMode = options.targetMode ?? TARGET_MODE;
  if (!Number.isInteger(targetMode) || targetMode < 0 || targetMode > 0o7777) {
    throw new RangeError(`targetMode must be permission bits (0 to 0o7777), got ${targetMode}`);
  }
  const onProgress = options.onProgress;

  const staging = join(
    dirname(target),
    `.${basename(target)}.tug-unpack-${process.pid}-${Math.random().toString(36).slice(2, 10)}`,
  );
  try {
    await mkdir(dirname(target), { recursive: true });
    // 0700 from the start: device nodes and setuid files appear in it long before the final chmod.
    await mkdir(staging, { mode: 0o700 });
  } catch (err) {
    throw ioError(`Cannot create ${staging}`, err);
  }
  const streams: LayerStream[] = [];
  let next: Promise<LayerStream> | undefined;
  const applier = new EntryApplier(staging, asRoot, targetMode);
  try {
    const decompress = { maxZstdWindow: options.maxZstdWindow, signal };
    const opener = (i: number) =>
      openLayer(store, layers[i], { algorithm: algorithms[i], hasher, readAhead, decompress });
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
        onProgress?.(
          layerEvent(id, "Extracting", { current: read, total: layer.size, digest: layer.digest }),
        );
      };
      // Chunks the tar reader took, oldest first. Once it is KEPT_CHUNKS further on, nothing reads a chunk
      // any more, and its memory is handed back now rather than at the next full GC (see owned_chunks.ts).
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
      // The layer was decompressed anyway: remember its diffID, so save, verify and pull need not again.
      await store.diffIds?.set(layer.digest, actual);
      report(layer.size);
      onProgress?.(layerEvent(id, "Pull complete", { digest: layer.digest }));
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
