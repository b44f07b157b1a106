/**
 * Helpers for the unpack confinement and differential tests: an image put straight into a MemoryStore, a
 * sandbox with sentinels around the target folder, a snapshot of everything outside the target (to prove
 * an unpack neither wrote, removed nor chmod-ed anything there), an OCI layout umoci can read, and a tree
 * listing of a root filesystem.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { assertEquals } from "./_assert.ts";
import { buildImage, type BuiltImage, type TarEntry } from "./harness/mod.ts";
import { MemoryStore } from "../src/store/memory_store.ts";

/** The name {@linkcode storeImage} stores images under. */
export const IMAGE_NAME = "example.com/unpack/test:v1";

/** An image written straight into a MemoryStore under `name` (no registry needed for hostile layers). */
export async function storeImage(image: BuiltImage, name = IMAGE_NAME): Promise<MemoryStore> {
  const store = new MemoryStore();
  const blobs = [...image.blobs, {
    digest: image.manifestDigest,
    size: image.manifestBytes.length,
    bytes: image.manifestBytes,
  }];
  for (const blob of blobs) {
    const writer = await store.blobs.writer({ digest: blob.digest, size: blob.size });
    await writer.write(blob.bytes);
    await writer.commit();
  }
  await store.references.set(name, {
    mediaType: image.manifestMediaType,
    digest: image.manifestDigest,
    size: image.manifestBytes.length,
  });
  return store;
}

/** An OCI image of uncompressed or gzip layers built from entries. */
export async function layerImage(layers: TarEntry[][], gzip = true): Promise<BuiltImage> {
  return await buildImage({
    format: "oci",
    layers: layers.map((entries) => ({ entries, compression: gzip ? "gzip" : "none" })),
  });
}

/**
 * Writes `image` as an OCI image layout at `dir` with the tag `tag` (what `umoci unpack --image
 * DIR:TAG` reads).
 */
export async function writeOciLayout(image: BuiltImage, dir: string, tag = "img"): Promise<void> {
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  await Deno.writeTextFile(`${dir}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const blobs = [...image.blobs, { digest: image.manifestDigest, bytes: image.manifestBytes }];
  for (const blob of blobs) await Deno.writeFile(`${dir}/blobs/sha256/${blob.digest.slice(7)}`, blob.bytes);
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: image.manifestMediaType,
        digest: image.manifestDigest,
        size: image.manifestBytes.length,
        annotations: { "org.opencontainers.image.ref.name": tag },
      }],
    }),
  );
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  hash.update(await Deno.readFile(path));
  return hash.digest("hex");
}

/** Options for {@linkcode tree}. */
export interface TreeOptions {
  /** Top-level names to leave out (the target folder inside a sandbox). */
  skip?: string[];
  /** Include directory mtimes (default true). */
  dirMtimes?: boolean;
}

/**
 * One line per path under `root` (never following a symlink): type, permission bits, owner, then size,
 * sha256, link count and mtime for files, the target and mtime for symlinks, device numbers for devices.
 */
export async function tree(root: string, options: TreeOptions = {}): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const skip = new Set(options.skip ?? []);
  const dirMtimes = options.dirMtimes ?? true;
  const walk = async (rel: string) => {
    const abs = rel === "" ? root : `${root}/${rel}`;
    const st = await Deno.lstat(abs);
    const head = `${(st.mode! & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
    const mtime = st.mtime?.getTime();
    const key = rel || "/";
    if (st.isSymlink) {
      out.set(key, `symlink ${head} -> ${await Deno.readLink(abs)} mtime=${mtime}`);
    } else if (st.isFile) {
      out.set(key, `file ${head} ${st.size} ${await sha256(abs)} nlink=${st.nlink} mtime=${mtime}`);
    } else if (st.isDirectory) {
      out.set(key, `dir ${head}${dirMtimes ? ` mtime=${mtime}` : ""}`);
      const names: string[] = [];
      for await (const e of Deno.readDir(abs)) names.push(e.name);
      for (const name of names.sort()) {
        if (rel === "" && skip.has(name)) continue;
        await walk(rel === "" ? name : `${rel}/${name}`);
      }
    } else if (st.isFifo) {
      out.set(key, `fifo ${head} mtime=${mtime}`);
    } else if (st.isCharDevice || st.isBlockDevice) {
      out.set(key, `${st.isCharDevice ? "char" : "block"} ${head} rdev=${st.rdev} mtime=${mtime}`);
    } else {
      out.set(key, `other ${head}`);
    }
  };
  await walk("");
  return out;
}

/** Line-by-line differences between two trees ("path: a / b"), empty when they are the same. */
export function treeDiff(a: Map<string, string>, b: Map<string, string>, names = ["a", "b"]): string[] {
  const diff: string[] = [];
  for (const [path, line] of b) {
    if (a.get(path) !== line) {
      diff.push(`${path}: ${names[0]} ${a.get(path) ?? "(missing)"} / ${names[1]} ${line}`);
    }
  }
  for (const [path, line] of a) {
    if (!b.has(path)) diff.push(`${path}: ${names[0]} ${line} / ${names[1]} (missing)`);
  }
  return diff;
}

/**
 * A sandbox folder around an unpack target: `box/outside/{file,sub/,sub/deep}` and `box/a/{sibling,b/}`
 * with the target at `box/a/b/rootfs`, so that `..`, `../..` and `../../..` from the target, and absolute
 * paths to `box/outside`, all name sentinels. {@linkcode Sandbox.assertUntouched} proves that nothing
 * outside the target changed (paths, types, modes, owners, contents, mtimes, directory mtimes included).
 */
export interface Sandbox {
  /** The sandbox folder (absolute). */
  box: string;
  /** The unpack target (not created). */
  target: string;
  /** Fails when anything outside the target differs from when the sandbox was made. */
  assertUntouched(what: string): Promise<void>;
}

/** Makes a {@linkcode Sandbox} under `dir`. */
export async function makeSandbox(dir: string): Promise<Sandbox> {
  const box = `${dir}/box`;
  await Deno.mkdir(`${box}/outside/sub`, { recursive: true });
  await Deno.mkdir(`${box}/a/b`, { recursive: true });
  await Deno.writeTextFile(`${box}/outside/file`, "sentinel outside the target\n");
  await Deno.chmod(`${box}/outside/file`, 0o640);
  await Deno.writeTextFile(`${box}/outside/sub/deep`, "deep sentinel\n");
  await Deno.chmod(`${box}/outside/sub`, 0o750);
  await Deno.writeTextFile(`${box}/a/sibling`, "sibling of the target's parent\n");
  await Deno.symlink("outside/file", `${box}/link-to-file`);
  // Fixed mtimes, so the snapshot sees any write into a sentinel folder.
  const past = new Date(Date.UTC(2020, 0, 1));
  for (const p of ["outside/sub", "outside", "a/b", "a", ""]) await Deno.utime(`${box}/${p}`, past, past);
  const target = `${box}/a/b/rootfs`;
  // The target's parent changes when the target (and its staging folder) come and go: its mtime is left out.
  const snap = async () => {
    const t = await tree(box);
    const parent = t.get("a/b");
    if (parent !== undefined) t.set("a/b", parent.replace(/ mtime=\d+/, ""));
    for (const key of [...t.keys()]) if (key.startsWith("a/b/")) t.delete(key);
    return t;
  };
  const before = await snap();
  return {
    box,
    target,
    async assertUntouched(what: string) {
      assertEquals(
        treeDiff(await snap(), before, ["now", "before"]),
        [],
        `${what}: changed outside the target`,
      );
      const left: string[] = [];
      for await (const e of Deno.readDir(`${box}/a/b`)) if (e.name !== "rootfs") left.push(e.name);

      assertEquals(left, [], `${what}: staging folders left next to the target`);
    },
  };
}
