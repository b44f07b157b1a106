// unpack(): seeded images unpacked by tug and by the real umoci give the same trees; diffIDs checked;
// whiteouts; hostile tars built in the test (createTar) refused or kept inside the target folder.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import {
  buildImage,
  type BuiltImage,
  createTar,
  type ImageSpec,
  pushImage,
  sharedRegistry,
  type TarEntry,
} from "./harness/mod.ts";
import { pull } from "../src/pull/pull.ts";
import type { ProgressEvent } from "../src/pull/events.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { TugError } from "../src/errors.ts";
import { OciLayoutStore } from "../adapters/fs/oci_layout_store.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";
import { unpack } from "../adapters/fs/unpack.ts";
import { runTool as run, runTug, tempDir } from "./_cli.ts";
import { storeImage } from "./_unpack_sandbox.ts";

async function sha256(path: string): Promise<string> {
  const file = await Deno.open(path);
  const hash = (await import("node:crypto")).createHash("sha256");
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * One line per path: type, permission bits, then size + sha256 + link count for files, the target for
 * symlinks. Directory mtimes are left out: umoci sets each directory's mtime after its layer, tug after the
 * last layer, and a later layer writing into a directory changes it either way.
 */
async function tree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string) => {
    const abs = rel === "" ? root : `${root}/${rel}`;
    const st = await Deno.lstat(abs);
    const mode = (st.mode! & 0o7777).toString(8);
    if (st.isSymlink) {
      out.set(rel || "/", `symlink ${mode} -> ${await Deno.readLink(abs)} mtime=${st.mtime?.getTime()}`);
    } else if (st.isFile) {
      out.set(
        rel || "/",
        `file ${mode} ${st.size} ${await sha256(abs)} nlink=${st.nlink} mtime=${st.mtime?.getTime()}`,
      );
    } else if (st.isDirectory) {
      out.set(rel || "/", `dir ${mode}`);
      for await (const e of Deno.readDir(abs)) await walk(rel === "" ? e.name : `${rel}/${e.name}`);
    } else {
      out.set(rel || "/", `other ${mode}`);
    }
  };
  await walk("");
  return out;
}

function assertSameTree(actual: Map<string, string>, expected: Map<string, string>, what: string): void {
  assert(expected.size > 1, `${what}: umoci unpacked nothing`);
  const diff: string[] = [];
  for (const [path, line] of expected) {
    if (actual.get(path) !== line) {
      diff.push(`${path}: tug ${actual.get(path) ?? "(missing)"} / umoci ${line}`);
    }
  }
  for (const [path, line] of actual) {
    if (!expected.has(path)) diff.push(`${path}: tug ${line} / umoci (missing)`);
  }
  assertEquals(diff, [], `${what}: trees differ`);
}

async function layerImage(layers: TarEntry[][], extra: Partial<ImageSpec> = {}): Promise<BuiltImage> {
  return await buildImage({ format: "oci", layers: layers.map((entries) => ({ entries })), ...extra });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Nothing but `keep` is left in `parent` (no target, no staging folder). */
async function assertOnly(parent: string, keep: string[]): Promise<void> {
  const names: string[] = [];
  for await (const e of Deno.readDir(parent)) names.push(e.name);
  assertEquals(names.sort(), keep.sort(), `left in ${parent}`);
}

/** An OCI image with whiteouts and an opaque directory, as a stacked file system produces them. */
function whiteoutSpec(): ImageSpec {
  return {
    format: "oci",
    layers: [
      {
        entries: [
          { path: "d", type: "directory", mode: 0o755 },
          { path: "d/a", content: "a\n" },
          { path: "d/b", content: "b\n" },
          { path: "d/sub", type: "directory" },
          { path: "d/sub/deep", content: "deep\n" },
          { path: "x", content: "x\n" },
          { path: "gone", type: "directory" },
          { path: "gone/inner", content: "inner\n" },
          { path: "keep", content: "keep\n", mode: 0o600 },
          { path: "ro", type: "directory", mode: 0o555 },
          { path: "ro/file", content: "in a read-only directory\n", mode: 0o444 },
          { path: "suid", content: "#!/bin/sh\n", mode: 0o4755 },
        ],
      },
      {
        entries: [
          // Created before the opaque marker in the same layer: it stays (whiteouts hide lower layers only).
          { path: "d/c", content: "c\n" },
          { path: "d/.wh..wh..opq", content: "" },
          { path: ".wh.x", content: "" },
          { path: ".wh.gone", content: "" },
          { path: "ro/second", content: "added later\n" },
          { path: "keep", type: "symlink", linkname: "/x" },
        ],
      },
      {
        entries: [
          { path: "gone", type: "directory", mode: 0o700 },
          { path: "gone/new", content: "new\n" },
          { path: "hl", type: "hardlink", linkname: "d/c" },
        ],
      },
    ],
  };
}

Deno.test("unpack() gives the same tree as umoci unpack for every seeded image and a whiteout image", async () => {
  const { registry, images } = await sharedRegistry();
  const whiteouts = await buildImage(whiteoutSpec());
  await pushImage(registry, "unpack/whiteouts", whiteouts, "v1");
  await using tmp = await tempDir("tug-unpack-umoci-");
  const cases = [
    { name: images.small.reference },
    { name: images.large.reference },
    { name: images.zstd.reference },
    { name: images.multi.reference, platform: "linux/amd64" },
    { name: images.multi.reference, platform: "linux/arm64/v8" },
    { name: `${registry.host}/unpack/whiteouts:v1` },
  ];
  for (const [i, c] of cases.entries()) {
    const one = await OciLayoutStore.open(`${tmp.dir}/store-${i}`);
    await pull(c.name, { store: one, hasher: nodeHasher, platform: c.platform });
    const ours = `${tmp.dir}/tug-${i}`;
    // umoci's rootfs takes the image's root mode (0755 here); tug's target is 0700 unless asked otherwise.
    await unpack(one, c.name, ours, { platform: c.platform, targetMode: 0o755 });
    // umoci reads OCI-typed manifests only: skopeo converts each image from the registry into an OCI layout
    // (same layer bytes, OCI media types), which umoci then unpacks.
    const layout = `${tmp.dir}/oci-${i}`;
    await run("skopeo", [
      "copy",
      "-q",
      "--src-tls-verify=false",
      "--format",
      "oci",
      ...(c.platform ? ["--override-arch", c.platform.split("/")[1]] : []),
      ...(c.platform?.split("/")[2] ? ["--override-variant", c.platform.split("/")[2]] : []),
      // umoci 0.4 does not read zstd layers: the zstd image's tar is recompressed with gzip on the way.
      ...(c.name === images.zstd.reference ? ["--dest-compress", "--dest-compress-format", "gzip"] : []),
      `docker://${c.name}`,
      `oci:${layout}:img`,
    ]);
    const bundle = `${tmp.dir}/umoci-${i}`;
    await run("umoci", ["unpack", "--rootless", "--image", `${layout}:img`, bundle]);
    assertSameTree(await tree(ours), await tree(`${bundle}/rootfs`), `${c.name} ${c.platform ?? ""}`);
    await Deno.remove(ours, { recursive: true });
    await Deno.remove(bundle, { recursive: true });
  }
});

Deno.test("unpack() applies the small image's layers: whiteout, hard link, symlinks, modes, owners", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-unpack-small-");
  const store = new MemoryStore();
  await pull(images.small.reference, { store });
  const events: ProgressEvent[] = [];
  const dir = `${tmp.dir}/rootfs`;
  const result = await unpack(store, images.small.reference, dir, { onProgress: (e) => events.push(e) });
  assertEquals(result.diffIds, images.small.layers.map((l) => l.diffId));
  assertEquals(result.manifest.digest, images.small.manifestDigest);
  assertEquals(await exists(`${dir}/etc/motd`), false);
  assertEquals(await Deno.readTextFile(`${dir}/etc/hostname`), "tug-small\n");
  assertEquals(await Deno.readLink(`${dir}/bin/hi`), "hello");
  assertEquals(await Deno.readLink(`${dir}/app/current`), "/app");
  const data = await Deno.lstat(`${dir}/app/data.txt`);
  assertEquals((await Deno.lstat(`${dir}/app/data-link.txt`)).ino, data.ino);
  assertEquals(data.nlink, 2);
  assertEquals((await Deno.lstat(`${dir}/tmp`)).mode! & 0o7777, 0o1777);
  assertEquals((await Deno.lstat(`${dir}/bin/hello`)).mode! & 0o7777, 0o755);
  const home = await Deno.lstat(`${dir}/home/tug`);
  assertEquals(home.mode! & 0o7777, 0o750);
  if (Deno.uid() === 0) assertEquals([home.uid, home.gid], [1000, 1000]);
  const config = await Deno.lstat(`${dir}/app/config.json`);
  assertEquals(config.mtime?.getTime(), Date.UTC(2024, 0, 1, 0, 1));
  // Docker's per-layer statuses, in layer order: Extracting (compressed bytes of the layer size), Pull complete.
  for (const [i, layer] of images.small.layers.entries()) {
    const mine = events.filter((e) => e.digest === layer.digest);
    assertEquals(mine.at(-1)?.status, "Pull complete");
    assertEquals(mine.at(-2), {
      type: "layer",
      status: "Extracting",
      id: layer.digest.slice(7, 19),
      current: layer.size,
      total: layer.size,
      digest: layer.digest,
    });
    assert(mine.slice(0, -1).every((e) => e.status === "Extracting" && e.total === layer.size));
    const done = events.findIndex((e) => e.digest === layer.digest && e.status === "Pull complete");
    const nextFirst = events.findIndex((e) => e.digest === images.small.layers[i + 1]?.digest);
    assert(nextFirst === -1 || nextFirst > done, "layers are reported one after the other");
  }
});

Deno.test("unpack() applies whiteouts to lower layers only and keeps modes of read-only directories", async () => {
  await using tmp = await tempDir("tug-unpack-wh-");
  const store = await storeImage(await buildImage(whiteoutSpec()));
  for (const root of [true, false]) {
    const dir = `${tmp.dir}/rootfs-${root}`;
    await unpack(store, "example.com/unpack/test:v1", dir, { root });
    const names = [];
    for await (const e of Deno.readDir(`${dir}/d`)) names.push(e.name);
    assertEquals(names, ["c"]);
    assertEquals(await exists(`${dir}/x`), false);
    assertEquals(await exists(`${dir}/gone/inner`), false);
    assertEquals(await Deno.readTextFile(`${dir}/gone/new`), "new\n");
    assertEquals((await Deno.lstat(`${dir}/gone`)).mode! & 0o7777, 0o700);
    assertEquals(await Deno.readLink(`${dir}/keep`), "/x");
    assertEquals((await Deno.lstat(`${dir}/ro`)).mode! & 0o7777, 0o555);
    assertEquals(await Deno.readTextFile(`${dir}/ro/second`), "added later\n");
    assertEquals((await Deno.lstat(`${dir}/suid`)).mode! & 0o7777, 0o4755);
    assertEquals((await Deno.lstat(`${dir}/hl`)).ino, (await Deno.lstat(`${dir}/d/c`)).ino);
    await Deno.chmod(`${dir}/ro`, 0o755); // so the temp folder can be removed when not running as root
  }
});

Deno.test("unpack() refuses a config whose diff_ids disagree with the layers, leaving no folder", async () => {
  const { registry } = await sharedRegistry();
  const good = await buildImage({
    format: "docker",
    layers: [{ entries: [{ path: "a", content: "a\n" }] }, { entries: [{ path: "b", content: "b\n" }] }],
  });
  const config = JSON.parse(new TextDecoder().decode(good.config.bytes));
  const variants = {
    // The right diffIDs, swapped: the count matches, the order does not.
    swapped: [...config.rootfs.diff_ids].reverse(),
    // One diffID missing: Docker compares the counts first.
    short: config.rootfs.diff_ids.slice(0, 1),
  };
  await using tmp = await tempDir("tug-unpack-diffid-");
  for (const [name, diffIds] of Object.entries(variants)) {
    const tampered = await buildImage({
      format: "docker",
      layers: [{ entries: [{ path: "a", content: "a\n" }] }, { entries: [{ path: "b", content: "b\n" }] }],
      configBytes: new TextEncoder().encode(
        JSON.stringify({ ...config, rootfs: { type: "layers", diff_ids: diffIds } }),
      ),
    });
    const ref = `${registry.host}/unpack/tampered-${name}:v1`;
    let store = new MemoryStore();
    if (name === "swapped") {
      await pushImage(registry, `unpack/tampered-${name}`, tampered, "v1");
      await pull(ref, { store });
    } else {
      // pull() already refuses a count mismatch; an image put in the store by other means meets unpack's check.
      store = await storeImage(tampered, ref);
    }
    const events: ProgressEvent[] = [];
    const err = await assertRejects(
      () => unpack(store, ref, `${tmp.dir}/rootfs`, { onProgress: (e) => events.push(e) }),
      TugError,
      { code: "LAYERS_MISMATCH", includes: "layers from manifest don't match image configuration" },
    );
    assert(err.message.length > 0);
    await assertOnly(tmp.dir, []);
    if (name === "swapped") {
      // The first layer was extracted, then its hash disagreed: no "Pull complete" was reported.
      assert(events.some((e) => e.status === "Extracting"));
      assertEquals(events.filter((e) => e.status === "Pull complete"), []);
    }
  }
});

Deno.test("unpack() refuses a non-empty target folder and fills an empty one", async () => {
  await using tmp = await tempDir("tug-unpack-target-");
  const store = await storeImage(await layerImage([[{ path: "f", content: "f\n" }]]));
  await Deno.mkdir(`${tmp.dir}/full`);
  await Deno.writeTextFile(`${tmp.dir}/full/mine`, "keep me\n");
  await assertRejects(
    () => unpack(store, "example.com/unpack/test:v1", `${tmp.dir}/full`),
    TugError,
    { code: "UNSAFE_PATH", includes: "not empty" },
  );
  assertEquals(await Deno.readTextFile(`${tmp.dir}/full/mine`), "keep me\n");
  await Deno.writeTextFile(`${tmp.dir}/file`, "");
  await assertRejects(() => unpack(store, "example.com/unpack/test:v1", `${tmp.dir}/file`), TugError, {
    code: "UNSAFE_PATH",
    includes: "not a directory",
  });
  await Deno.mkdir(`${tmp.dir}/empty`);
  await unpack(store, "example.com/unpack/test:v1", `${tmp.dir}/empty`);
  assertEquals(await Deno.readTextFile(`${tmp.dir}/empty/f`), "f\n");
  await assertRejects(() => unpack(store, "example.com/unpack/nope:v1", `${tmp.dir}/new`), TugError, {
    code: "NOT_FOUND",
  });
  await assertOnly(tmp.dir, ["full", "file", "empty"]);
});

Deno.test("unpack() reads a layer without end-of-archive blocks, hashing it as it is", async () => {
  await using tmp = await tempDir("tug-unpack-noend-");
  const tar = createTar([{ path: "f", content: "no end blocks\n" }], { omitEndBlocks: true });
  const image = await buildImage({ format: "oci", layers: [{ tar, compression: "none" }] });
  const result = await unpack(await storeImage(image), "example.com/unpack/test:v1", `${tmp.dir}/r`);
  assertEquals(result.diffIds, [image.layers[0].diffId]);
  assertEquals(await Deno.readTextFile(`${tmp.dir}/r/f`), "no end blocks\n");
});

const marker = `tug-unpack-test-${crypto.randomUUID()}`;

/** Hostile layers: each is refused with UNSAFE_PATH naming the entry, or lands inside the folder. */
const hostile: Array<{
  name: string;
  layers: TarEntry[][];
  refused?: string;
  root?: boolean;
  check?: (dir: string) => Promise<void>;
}> = [
  { name: "../evil", layers: [[{ path: "../evil", content: "x" }]], refused: "../evil" },
  { name: "a/../../evil", layers: [[{ path: "a/../../evil", content: "x" }]], refused: "a/../../evil" },
  {
    name: "absolute /etc/passwd lands in DIR/etc/passwd",
    layers: [[{ path: "/etc/passwd", content: "root:x:0:0::/root:/bin/sh\n" }]],
    check: async (dir) =>
      assertEquals(await Deno.readTextFile(`${dir}/etc/passwd`), "root:x:0:0::/root:/bin/sh\n"),
  },
  {
    name: "an entry named / does not open DIR to others: DIR keeps the target mode 0700",
    layers: [[{ path: "/", type: "directory", mode: 0o777 }, { path: "f", content: "f" }]],
    check: async (dir) => assertEquals((await Deno.lstat(dir)).mode! & 0o7777, 0o700),
  },
  {
    name: "symlink link -> / then link/etc/x lands in DIR/etc/x",
    layers: [[{ path: "link", type: "symlink", linkname: "/" }], [{
      path: `link/etc/${marker}`,
      content: "x",
    }]],
    check: async (dir) => {
      assertEquals(await Deno.readTextFile(`${dir}/etc/${marker}`), "x");
      assertEquals(await exists(`/etc/${marker}`), false);
      assertEquals(await Deno.readLink(`${dir}/link`), "/");
    },
  },
  {
    name: "symlink up -> ../.. then up/x",
    layers: [[{ path: "up", type: "symlink", linkname: "../.." }, { path: `up/${marker}`, content: "x" }]],
    refused: `up/${marker}`,
  },
  {
    name: "a file over a symlink to /etc/passwd replaces the symlink",
    layers: [[{ path: "f", type: "symlink", linkname: "/etc/passwd" }], [{ path: "f", content: "mine\n" }]],
    check: async (dir) => {
      assert((await Deno.lstat(`${dir}/f`)).isFile);
      assertEquals(await Deno.readTextFile(`${dir}/f`), "mine\n");
    },
  },
  {
    name: "hard link to ../../etc/passwd",
    layers: [[{ path: "h", type: "hardlink", linkname: "../../etc/passwd" }]],
    refused: "h",
  },
  {
    name: "hard link through a symlink that escapes",
    layers: [[{ path: "esc", type: "symlink", linkname: "../../.." }, {
      path: "h",
      type: "hardlink",
      linkname: "esc/etc/passwd",
    }]],
    refused: "h",
  },
  {
    name: "char device when not root",
    layers: [[{ path: "dev/null", type: "char", devmajor: 1, devminor: 3, mode: 0o666 }]],
    root: false,
    refused: "dev/null",
  },
  {
    name: "whiteout ../.wh.x",
    layers: [[{ path: "f", content: "f" }], [{ path: "../.wh.x", content: "" }]],
    refused: "../.wh.x",
  },
];

for (const c of hostile) {
  Deno.test(`unpack() with a hostile tar: ${c.name}`, async () => {
    await using tmp = await tempDir("tug-unpack-hostile-");
    // Two levels deep, so that `..` and `../..` from the folder stay inside the temp folder we check.
    const parent = `${tmp.dir}/a/b`;
    await Deno.mkdir(parent, { recursive: true });
    const dir = `${parent}/rootfs`;
    const store = await storeImage(await layerImage(c.layers));
    if (c.refused !== undefined) {
      const err = await assertRejects(
        () => unpack(store, "example.com/unpack/test:v1", dir, { root: c.root }),
        TugError,
        { code: "UNSAFE_PATH", includes: `"${c.refused}"` },
      );
      assertEquals((err.detail as { entry: string }).entry, c.refused);
      await assertOnly(parent, []);
      await assertOnly(`${tmp.dir}/a`, ["b"]);
      await assertOnly(tmp.dir, ["a"]);
      assertEquals(await exists(`/${marker}`), false);
    } else {
      await unpack(store, "example.com/unpack/test:v1", dir, { root: c.root });
      await c.check!(dir);
      await assertOnly(parent, ["rootfs"]);
    }
  });
}

Deno.test("tug unpack and tug pull --unpack write the root filesystem; a non-empty folder is refused", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-unpack-cli-");
  const store = `${tmp.dir}/store`;
  const pulled = await runTug(["pull", "--store", store, "--unpack", `${tmp.dir}/a`, images.zstd.reference]);
  assertEquals(pulled.code, 0, pulled.stderr);
  assertEquals(await Deno.readTextFile(`${tmp.dir}/a/zstd/hello.txt`), "compressed with zstd\n");
  // Docker's order: the layer's Pull complete comes before the Digest and Status lines.
  const lines = pulled.stdout.split("\n");
  const complete = lines.findIndex((l) => l.includes("Pull complete"));
  const digest = lines.findIndex((l) => l.startsWith("Digest: "));
  assert(complete !== -1 && digest > complete, pulled.stdout);

  const unpacked = await runTug(["unpack", "--store", store, images.zstd.reference, `${tmp.dir}/b`]);
  assertEquals(unpacked.code, 0, unpacked.stderr);
  // tug unpack pulls nothing: each layer says Extracting, then Extract complete.
  assertStringIncludes(unpacked.stdout, "Extracting\n");
  assertStringIncludes(unpacked.stdout, "Extract complete\n");
  assertEquals(await Deno.readLink(`${tmp.dir}/b/zstd/link`), "hello.txt");

  const again = await runTug(["unpack", "--store", store, images.zstd.reference, `${tmp.dir}/b`]);
  assertEquals(again.code, 1);
  assertStringIncludes(again.stderr, "not empty");
  const refused = await runTug(["pull", "--store", store, "--unpack", `${tmp.dir}/b`, images.zstd.reference]);
  assertEquals(refused.code, 1);
  assertStringIncludes(refused.stderr, "not empty");
  const usage = await runTug(["unpack", "--store", store, images.zstd.reference]);
  assertEquals(usage.code, 2);
});

Deno.test("unpack() cancelled while extracting leaves neither the folder nor its staging copy", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-unpack-abort-");
  const store = new MemoryStore();
  await pull(images.large.reference, { store, hasher: nodeHasher });
  const controller = new AbortController();
  await assertRejects(
    () =>
      unpack(store, images.large.reference, `${tmp.dir}/rootfs`, {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.status === "Extracting") controller.abort(new TugError("ABORTED", "stop"));
        },
      }),
    TugError,
    { code: "ABORTED" },
  );
  await assertOnly(tmp.dir, []);
});

Deno.test("unpack() gives FIFOs and device nodes their setuid, setgid and sticky bits after the owner", async () => {
  await using tmp = await tempDir("tug-unpack-special-");
  const asRoot = Deno.uid() === 0;
  const store = await storeImage(
    await layerImage([[
      { path: "p", type: "fifo", mode: 0o1644, uid: 1000, gid: 1000 },
      { path: "q", type: "fifo", mode: 0o4755, uid: 1000, gid: 1000 },
      ...(asRoot
        ? [{ path: "c", type: "char" as const, mode: 0o2660, devmajor: 1, devminor: 3, gid: 5 }]
        : []),
    ]]),
  );
  const dir = `${tmp.dir}/rootfs`;
  await unpack(store, "example.com/unpack/test:v1", dir);
  const p = await Deno.lstat(`${dir}/p`);
  assert(p.isFifo);
  assertEquals(p.mode! & 0o7777, 0o1644);
  assertEquals((await Deno.lstat(`${dir}/q`)).mode! & 0o7777, 0o4755);
  if (asRoot) {
    assertEquals([p.uid, p.gid], [1000, 1000]);
    const c = await Deno.lstat(`${dir}/c`);
    assert(c.isCharDevice);
    assertEquals([c.mode! & 0o7777, c.gid], [0o2660, 5]);
  }
});
