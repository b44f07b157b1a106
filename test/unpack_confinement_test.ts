// unpack() confinement: no entry of a hostile layer, whatever its name, type or PAX header, may write,
// remove or chmod anything outside the target folder. Each case runs in a sandbox with sentinels at `..`,
// `../..`, `../../..` and at absolute paths from the target (test/_unpack_sandbox.ts), which must be exactly
// as they were afterwards. Cases that reproduce a published advisory name it.
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import type { TarEntry } from "./harness/mod.ts";
import { TugError } from "../src/errors.ts";
import type { ProgressEvent } from "../src/pull/events.ts";
import { unpack } from "../adapters/fs/unpack.ts";
import { runTug, tempDir } from "./_cli.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { IMAGE_NAME, layerImage, makeSandbox, storeImage } from "./_unpack_sandbox.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

interface Case {
  name: string;
  /** Layers; `BOX` in names and link targets is replaced by the sandbox's absolute path. */
  layers: TarEntry[][];
  /** The entry refused (its name as in the tar) and the error code. */
  refused?: { entry: string; code: "UNSAFE_PATH" | "TAR_INVALID"; includes?: string };
  root?: boolean;
  check?: (dir: string, box: string) => Promise<void>;
}

const file = (path: string, content = "hostile\n", extra: Partial<TarEntry> = {}): TarEntry => ({
  path,
  content,
  ...extra,
});
const dir = (path: string, mode = 0o755): TarEntry => ({ path, type: "directory", mode });
const sym = (path: string, linkname: string): TarEntry => ({ path, type: "symlink", linkname });
const hard = (path: string, linkname: string): TarEntry => ({ path, type: "hardlink", linkname });
const invalidWhiteout = (entry: string) => ({
  entry,
  code: "UNSAFE_PATH" as const,
  includes: "invalid whiteout name",
});

const cases: Case[] = [
  // The whiteout of `..` (issue H): the old code removed the folder holding the target. containerd refuses
  // whiteout names whose target is not a plain name in the whiteout's own directory ("invalid whiteout name").
  {
    name: "whiteout of .. (.wh...)",
    layers: [[file("f")], [file(".wh...", "")]],
    refused: invalidWhiteout(".wh..."),
  },
  {
    name: "whiteout of . (.wh..)",
    layers: [[file("f")], [file(".wh..", "")]],
    refused: invalidWhiteout(".wh.."),
  },
  {
    name: "whiteout of nothing (.wh.)",
    layers: [[file("f")], [file(".wh.", "")]],
    refused: invalidWhiteout(".wh."),
  },
  {
    name: "whiteout of .. in a directory (d/.wh...)",
    layers: [[dir("d"), file("d/f")], [file("d/.wh...", "")]],
    refused: invalidWhiteout("d/.wh..."),
  },
  {
    name: "whiteout of . in a directory (d/.wh..)",
    layers: [[dir("d"), file("d/f")], [file("d/.wh..", "")]],
    refused: invalidWhiteout("d/.wh.."),
  },
  {
    name: "whiteout of nothing in a directory (d/.wh./)",
    layers: [[dir("d"), file("d/f")], [dir("d/.wh.")]],
    refused: invalidWhiteout("d/.wh./"),
  },
  {
    name: "whiteout of .. named by a PAX path record",
    layers: [[file("f")], [file("benign", "", { pax: { path: "./.wh..." } })]],
    refused: invalidWhiteout("./.wh..."),
  },
  {
    name: "whiteout of .. through a symlink to the target's parent (d -> .., d/.wh...)",
    layers: [[sym("d", "..")], [file("d/.wh...", "")]],
    refused: invalidWhiteout("d/.wh..."),
  },
  // umoci CVE-2021-29136 (GHSA-9m95-8hx6-7p9v): a whiteout under a symlinked directory removed files outside
  // the rootfs. Here the symlinked parent is resolved inside the target, as the container would see it.
  {
    name: "CVE-2021-29136: whiteout through an absolute symlink to a folder outside (d -> BOX/outside)",
    layers: [[sym("d", "BOX/outside")], [file("d/.wh.file", ""), file("d/.wh.sub", "")]],
    check: async (dir, box) => assertEquals(await Deno.readLink(`${dir}/d`), `${box}/outside`),
  },
  {
    name: "CVE-2021-29136: whiteout through d -> / removes the target's own file only",
    layers: [[file("x"), sym("d", "/")], [file("d/.wh.x", "")]],
    check: async (dir) => {
      assertEquals(await exists(`${dir}/x`), false);
      assertEquals(await Deno.readLink(`${dir}/d`), "/");
    },
  },
  {
    name: "CVE-2021-29136: whiteout through a symlink that climbs out (d -> ../../../outside)",
    layers: [[sym("d", "../../../outside")], [file("d/.wh.file", "")]],
    refused: { entry: "d/.wh.file", code: "UNSAFE_PATH", includes: "outside the target folder" },
  },
  {
    name: "CVE-2021-29136: opaque marker through an absolute symlink (d -> BOX/outside)",
    layers: [[sym("d", "BOX/outside")], [file("d/.wh..wh..opq", "")]],
  },
  {
    name: "CVE-2021-29136: opaque marker through a symlink that climbs out (d -> ../../../outside)",
    layers: [[sym("d", "../../../outside")], [file("d/.wh..wh..opq", "")]],
    refused: { entry: "d/.wh..wh..opq", code: "UNSAFE_PATH", includes: "outside the target folder" },
  },
  {
    name: "whiteout of a symlink to a folder outside removes the symlink only",
    layers: [[sym("d", "../../../outside"), sym("e", "BOX/outside")], [file(".wh.d", ""), file(".wh.e", "")]],
    check: async (dir) => {
      assertEquals(await exists(`${dir}/d`), false);
      assertEquals(await exists(`${dir}/e`), false);
    },
  },
  {
    name: "whiteout of the root's own name (.wh.rootfs at the top, ../rootfs through d -> ..)",
    layers: [[file("f")], [file(".wh.rootfs", "")]],
    check: async (dir) => assertEquals(await Deno.readTextFile(`${dir}/f`), "hostile\n"),
  },
  // moby CVE-2014-9356: writes through symlinks created by the same image escaped the extraction root.
  {
    name: "CVE-2014-9356: a file written through an absolute symlink lands inside (l -> BOX/outside)",
    layers: [[sym("l", "BOX/outside"), file("l/file", "mine\n"), file("l/sub/deep", "mine\n")]],
    check: async (dir, box) => {
      assertEquals(await Deno.readTextFile(`${dir}${box}/outside/file`), "mine\n");
      assertEquals(await Deno.readTextFile(`${dir}${box}/outside/sub/deep`), "mine\n");
    },
  },
  {
    name: "CVE-2014-9356: a file written through a relative symlink that climbs out (l -> ../../../outside)",
    layers: [[sym("l", "../../../outside")], [file("l/file", "mine\n")]],
    refused: { entry: "l/file", code: "UNSAFE_PATH" },
  },
  {
    name: "CVE-2014-9356: a chain of symlinks that climbs out (a -> b/.., b -> c, c -> ../..)",
    layers: [[sym("a", "b/../.."), sym("b", "c"), dir("c"), file("a/x")]],
    refused: { entry: "a/x", code: "UNSAFE_PATH" },
  },
  {
    name: "a symlink loop (a -> b, b -> a) is refused, not followed forever",
    layers: [[sym("a", "b"), sym("b", "a"), file("a/x")]],
    refused: { entry: "a/x", code: "UNSAFE_PATH", includes: "too many levels of symlinks" },
  },
  // moby CVE-2014-6407: hard links and symlinks let an archive write or link outside the root.
  {
    name: "CVE-2014-6407: a hard link to an absolute path outside (h => BOX/outside/file)",
    layers: [[hard("h", "BOX/outside/file")]],
    refused: { entry: "h", code: "TAR_INVALID", includes: "does not exist" },
  },
  {
    name: "CVE-2014-6407: a hard link through an absolute symlink to a file outside (l -> BOX/outside)",
    layers: [[sym("l", "BOX/outside")], [hard("h", "l/file")]],
    refused: { entry: "h", code: "TAR_INVALID" },
  },
  {
    name: "CVE-2014-6407: a hard link through a symlink that climbs out (l -> ../../../outside)",
    layers: [[sym("l", "../../../outside")], [hard("h", "l/file")]],
    refused: { entry: "h", code: "UNSAFE_PATH" },
  },
  {
    name: "CVE-2014-6407: a hard link whose own path goes through a symlink that climbs out",
    layers: [[file("f"), sym("l", "../../../outside")], [hard("l/h", "f")]],
    refused: { entry: "l/h", code: "UNSAFE_PATH" },
  },
  {
    name: "CVE-2014-6407: a hard link to a symlink to a file outside, then a file over it",
    layers: [[sym("s", "BOX/outside/file"), hard("h", "s")], [file("h", "mine\n"), file("s", "mine\n")]],
    check: async (dir) => assertEquals(await Deno.readTextFile(`${dir}/h`), "mine\n"),
  },
  {
    name: "a hard link to the root or to .. is refused",
    layers: [[hard("h", "."), hard("i", "..")]],
    refused: { entry: "h", code: "UNSAFE_PATH" },
  },
  {
    name: "a hard link target named by a PAX linkpath that climbs out",
    layers: [[{ ...hard("h", "f"), pax: { linkpath: "../../../outside/file" } }]],
    refused: { entry: "h", code: "UNSAFE_PATH" },
  },
  // A later entry's metadata (mode, owner, times) must never reach through a symlink.
  {
    name: "a directory entry over a symlink to a folder outside replaces the symlink (no chmod outside)",
    layers: [[sym("s", "BOX/outside/sub"), sym("t", "../../../outside/sub")], [
      dir("s", 0o777),
      dir("t", 0o777),
    ]],
    check: async (dir) => {
      assert((await Deno.lstat(`${dir}/s`)).isDirectory);
      assertEquals((await Deno.lstat(`${dir}/t`)).mode! & 0o7777, 0o777);
    },
  },
  {
    name: "a FIFO and a file over symlinks to files outside replace the symlinks",
    layers: [[sym("p", "../../../outside/file"), sym("q", "BOX/outside/file")], [
      { path: "p", type: "fifo", mode: 0o666 },
      file("q", "mine\n", { mode: 0o777 }),
    ]],
    check: async (dir) => assert((await Deno.lstat(`${dir}/p`)).isFifo),
  },
  {
    name: "entries named .. or climbing out are refused (../outside/file, a/../../x)",
    layers: [[file("../../../outside/file", "mine\n")]],
    refused: { entry: "../../../outside/file", code: "UNSAFE_PATH" },
  },
  {
    name: "a directory entry named .. is refused",
    layers: [[dir("../")]],
    refused: { entry: "../", code: "UNSAFE_PATH" },
  },
  {
    name: "an entry named by a PAX path that climbs out is refused",
    layers: [[file("benign", "mine\n", { pax: { path: "a/../../../../outside/file" } })]],
    refused: { entry: "a/../../../../outside/file", code: "UNSAFE_PATH" },
  },
];

for (const c of cases) {
  Deno.test(`unpack() keeps a hostile layer inside the target: ${c.name}`, async () => {
    await using tmp = await tempDir("tug-unpack-confine-");
    const sandbox = await makeSandbox(tmp.dir);
    const swap = (s: string | undefined) => s?.replaceAll("BOX", sandbox.box);
    const layers = c.layers.map((l) =>
      l.map((e) => ({
        ...e,
        path: swap(e.path)!,
        linkname: swap(e.linkname),
        pax: e.pax && Object.fromEntries(Object.entries(e.pax).map(([k, v]) => [k, swap(v)!])),
      }))
    );
    const store = await storeImage(await layerImage(layers));
    if (c.refused) {
      const err = await assertRejects(
        () => unpack(store, IMAGE_NAME, sandbox.target, { root: c.root }),
        TugError,
        { code: c.refused.code, includes: c.refused.includes },
      );
      assertEquals((err.detail as { entry?: string } | undefined)?.entry, c.refused.entry, err.message);
      assertEquals(await exists(sandbox.target), false);
    } else {
      await unpack(store, IMAGE_NAME, sandbox.target, { root: c.root });
      await c.check?.(sandbox.target, sandbox.box);
    }
    await sandbox.assertUntouched(c.name);
  });
}

// containerd CVE-2021-41103 (GHSA-c2h3-6mxw-7mvq): an unpacked root filesystem in a folder other users can
// enter exposes its setuid programs and device nodes to them. umoci creates its bundles 0700; so does tug.
Deno.test("unpack() creates the target 0700 by default, staging folder included (CVE-2021-41103)", async () => {
  await using tmp = await tempDir("tug-unpack-mode-");
  const image = await layerImage([[
    dir("./", 0o755),
    file("bin/su", "#!/bin/sh\n", { mode: 0o4755 }),
    ...(Deno.uid() === 0
      ? [{ path: "dev/null", type: "char" as const, devmajor: 1, devminor: 3, mode: 0o666 }]
      : []),
  ]]);
  const store = await storeImage(image);
  const stagingModes: number[] = [];
  // Read synchronously inside the progress callback, while the staging folder is being filled.
  const onProgress = (e: ProgressEvent) => {
    if (e.status !== "Extracting") return;
    for (const entry of Deno.readDirSync(tmp.dir)) {
      if (entry.name.includes(".tug-unpack-")) {
        stagingModes.push(Deno.lstatSync(`${tmp.dir}/${entry.name}`).mode! & 0o7777);
      }
    }
  };
  await unpack(store, IMAGE_NAME, `${tmp.dir}/new`, { onProgress });
  assertEquals((await Deno.lstat(`${tmp.dir}/new`)).mode! & 0o7777, 0o700);
  assertEquals((await Deno.lstat(`${tmp.dir}/new/bin/su`)).mode! & 0o7777, 0o4755);
  if (Deno.uid() === 0) assert((await Deno.lstat(`${tmp.dir}/new/dev/null`)).isCharDevice);
  assert(stagingModes.length > 0, "the staging folder was seen while extracting");
  assertEquals([...new Set(stagingModes)], [0o700]);
  // An empty folder made beforehand (0755 here) gets the target mode too.
  await Deno.mkdir(`${tmp.dir}/empty`, { mode: 0o755 });
  await unpack(store, IMAGE_NAME, `${tmp.dir}/empty`);
  assertEquals((await Deno.lstat(`${tmp.dir}/empty`)).mode! & 0o7777, 0o700);
});

Deno.test("unpack() gives the target the targetMode asked for, and refuses one that is not permission bits", async () => {
  await using tmp = await tempDir("tug-unpack-mode-");
  const store = await storeImage(await layerImage([[dir("./", 0o700), file("f")]]));
  await unpack(store, IMAGE_NAME, `${tmp.dir}/open`, { targetMode: 0o755 });
  assertEquals((await Deno.lstat(`${tmp.dir}/open`)).mode! & 0o7777, 0o755);
  await unpack(store, IMAGE_NAME, `${tmp.dir}/group`, { targetMode: 0o750 });
  assertEquals((await Deno.lstat(`${tmp.dir}/group`)).mode! & 0o7777, 0o750);
  for (const bad of [0o10000, -1, 1.5, Number.NaN]) {
    await assertRejects(() => unpack(store, IMAGE_NAME, `${tmp.dir}/bad`, { targetMode: bad }), RangeError);
  }
  assertEquals(await exists(`${tmp.dir}/bad`), false);
});

Deno.test("tug unpack --target-mode and tug pull --unpack --target-mode set DIR's mode; 0700 without them", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-unpack-mode-cli-");
  const store = `${tmp.dir}/store`;
  const ref = images.small.reference;
  const modeOf = async (p: string) => (await Deno.lstat(p)).mode! & 0o7777;
  const pulled = await runTug(["pull", "-q", "--store", store, "--unpack", `${tmp.dir}/p`, ref]);
  assertEquals(pulled.code, 0, pulled.stderr);
  assertEquals(await modeOf(`${tmp.dir}/p`), 0o700);
  const open = await runTug([
    "pull",
    "-q",
    "--store",
    store,
    "--unpack",
    `${tmp.dir}/q`,
    "--target-mode",
    "0755",
    ref,
  ]);
  assertEquals(open.code, 0, open.stderr);
  assertEquals(await modeOf(`${tmp.dir}/q`), 0o755);
  const unpacked = await runTug(["unpack", "-q", "--store", store, ref, `${tmp.dir}/u`]);
  assertEquals(unpacked.code, 0, unpacked.stderr);
  assertEquals(await modeOf(`${tmp.dir}/u`), 0o700);
  const group = await runTug(["unpack", "-q", "--store", store, "--target-mode", "750", ref, `${tmp.dir}/v`]);
  assertEquals(group.code, 0, group.stderr);
  assertEquals(await modeOf(`${tmp.dir}/v`), 0o750);
  for (
    const args of [
      ["unpack", "--store", store, "--target-mode", "rwx", ref, `${tmp.dir}/bad`],
      ["unpack", "--store", store, "--target-mode", "0800", ref, `${tmp.dir}/bad`],
      ["pull", "--store", store, "--target-mode", "0755", ref],
    ]
  ) {
    const bad = await runTug(args);
    assertEquals(bad.code, 2, `${args.join(" ")}: ${bad.stderr}`);
    assert(bad.stderr.includes("--target-mode"), bad.stderr);
  }
  assertEquals(await exists(`${tmp.dir}/bad`), false);
  for (const command of ["unpack", "pull"]) {
    const help = await runTug([command, "--help"]);
    assert(help.stdout.includes("--target-mode"), help.stdout);
  }
});
