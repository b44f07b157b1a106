// Differential fuzzing of unpack() against the real umoci. Seeded layers, two kinds:
//
// - hostile: names with `..`, `.`, empty components, leading `/`, invalid and valid whiteouts, opaque
//   markers, symlinks to `/`, `..`, `../../..` and to absolute paths of the sandbox, hard links out,
//   PAX `path`/`linkpath` records that differ from the ustar name, duplicates, devices, setuid modes.
//   tug unpacks each into a sandbox (test/_unpack_sandbox.ts): it may succeed or refuse with a TugError,
//   nothing else; and nothing outside the target changes (paths, types, modes, owners, contents, mtimes),
//   and a refused unpack leaves no target and no staging folder.
// - benign: layers a real image builder could produce (files, directories, symlinks, hard links, FIFOs,
//   devices, owners, setuid modes, long PAX names, fractional mtimes, replacements, entries written through
//   symlinks to directories, valid whiteouts and opaque markers of lower-layer content). tug and `umoci
//   unpack` must produce the same tree: as root both set owners and create devices; as another user both
//   run rootless and the generator makes no devices.
//
// What the comparison leaves out, and why:
// - directory mtimes: umoci sets each directory's mtime after its own layer, tug after the last layer,
//   and a later layer writing into a directory changes it either way (same rule as test/unpack_test.ts);
// - the root folder's own line: tug's target is 0700 by default (containerd CVE-2021-41103), umoci's
//   rootfs takes the image's `./` mode; the 0700 bundle around it is umoci's protection.
//
// `TUG_FUZZ_SEED=n` replays a seed; `TUG_FUZZ_SCALE=k` multiplies counts and time budgets (`deno task soak`).
import { assert, assertEquals } from "./_assert.ts";
import type { TarEntry } from "./harness/mod.ts";
import { TugError } from "../src/errors.ts";
import { unpack } from "../adapters/fs/unpack.ts";
import { runTool, tempDir } from "./_cli.ts";
import {
  IMAGE_NAME,
  layerImage,
  makeSandbox,
  storeImage,
  tree,
  treeDiff,
  writeOciLayout,
} from "./_unpack_sandbox.ts";
import { Fuzzer, SCALE, SEED } from "./_fuzz.ts";

const AS_ROOT = Deno.uid() === 0;

const LONG = "long-name-".repeat(12); // > 100 bytes: written with a PAX path record

// ---- hostile layers ------------------------------------------------------------------------------------

const HOSTILE_PARTS = [
  "a",
  "b",
  "d",
  "file",
  "outside",
  "..",
  ".",
  "",
  ".wh.a",
  ".wh.d",
  ".wh.file",
  ".wh.",
  ".wh..",
  ".wh...",
  ".wh..wh..opq",
  ".wh..wh.plnk",
  LONG,
];

/** Plain names, most of the time: so that entries build on each other (a symlink, then a path through it). */
const PLAIN_PARTS = ["a", "b", "d", "file", "outside", "sub"];

function hostilePath(f: Fuzzer): string {
  const parts = Array.from(
    { length: 1 + f.int(3) },
    () => f.pick(f.chance(0.6) ? PLAIN_PARTS : HOSTILE_PARTS),
  );
  return f.pick(["", "", "/", "./"]) + parts.join("/") + (f.chance(0.1) ? "/" : "");
}

function hostileLink(f: Fuzzer, box: string): string {
  return f.pick([
    "/",
    "..",
    "../..",
    "../../..",
    "../../../outside",
    "../../../outside/file",
    `${box}/outside`,
    `${box}/outside/file`,
    `${box}/outside/sub`,
    `${box}/link-to-file`,
    "a",
    "d",
    "a/../..",
    "/d/../..",
    ".",
    hostilePath(f) || "x",
  ]);
}

function hostileEntry(f: Fuzzer, box: string): TarEntry {
  const type = f.pick(
    ["file", "file", "directory", "symlink", "symlink", "hardlink", "fifo", "char"] as const,
  );
  const path = hostilePath(f);
  const e: TarEntry = {
    path: path === "" ? "x" : path,
    type,
    mode: f.pick([0o644, 0o777, 0o4755, 0o000, 0o1777]),
  };
  if (type === "file") e.content = f.chance(0.5) ? "" : "hostile\n";
  if (type === "symlink") e.linkname = hostileLink(f, box);
  if (type === "hardlink") e.linkname = f.chance(0.5) ? hostileLink(f, box) : hostilePath(f) || "x";
  if (type === "char") Object.assign(e, { devmajor: 1, devminor: 3 });
  // A PAX record saying something else than the ustar header (tar readers obey PAX).
  if (f.chance(0.15)) e.pax = { path: hostilePath(f) || "." };
  if ((type === "symlink" || type === "hardlink") && f.chance(0.15)) {
    e.pax = { ...e.pax, linkpath: hostileLink(f, box) };
  }
  return e;
}

/**
 * Hostile layers, two ways: all hostile entries, or a benign image (see benignLayers) with a few hostile
 * entries spliced in, so that the hostile ones meet a real tree with symlinks to go through.
 */
function hostileLayers(f: Fuzzer, box: string): TarEntry[][] {
  if (f.chance(0.5)) {
    const layers = benignLayers(f);
    for (let k = 0, n = 1 + f.int(3); k < n; k++) {
      const layer = layers[f.int(layers.length)];
      layer.splice(f.int(layer.length + 1), 0, hostileEntry(f, box));
    }
    return layers;
  }
  const layers: TarEntry[][] = [];
  for (let l = 0, n = 1 + f.int(3); l < n; l++) {
    const entries: TarEntry[] = [];
    for (let i = 0, m = 1 + f.int(12); i < m; i++) {
      const e = hostileEntry(f, box);
      entries.push(e);
      if (f.chance(0.1)) entries.push({ ...e }); // duplicate
    }
    layers.push(entries);
  }
  return layers;
}

Deno.test("unpack() on seeded hostile layers never changes anything outside the target", async () => {
  const f = new Fuzzer(SEED);
  const count = 200 * SCALE;
  const budgetMs = 15_000 * SCALE;
  const started = performance.now();
  const outcomes = new Map<string, number>();
  let runs = 0;
  await using tmp = await tempDir("tug-unpack-fuzz-hostile-");
  for (let i = 0; i < count && performance.now() - started < budgetMs; i++) {
    const sandbox = await makeSandbox(`${tmp.dir}/${i}`);
    const layers = hostileLayers(f, sandbox.box);
    const root = AS_ROOT && f.chance(0.7);
    const what = `hostile case #${i} (seed ${SEED}): ${JSON.stringify(layers)}`;
    const store = await storeImage(await layerImage(layers));
    let outcome = "unpacked";
    try {
      await unpack(store, IMAGE_NAME, sandbox.target, { root });
    } catch (err) {
      if (!(err instanceof TugError)) throw new Error(`${what}: untyped error`, { cause: err });
      outcome = err.code;
      assertEquals(
        await Deno.lstat(sandbox.target).then(() => true, () => false),
        false,
        `${what}: target left`,
      );
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    await sandbox.assertUntouched(what);
    await Deno.remove(`${tmp.dir}/${i}`, { recursive: true });
    runs++;
  }
  assert(runs >= Math.min(count, 20), `only ${runs} hostile cases ran`);
  // Both kinds of outcome must occur, or the generator is not exercising anything.
  assert(
    (outcomes.get("unpacked") ?? 0) > 0 && (outcomes.get("UNSAFE_PATH") ?? 0) > 0,
    JSON.stringify([...outcomes]),
  );
  console.log(`hostile unpack fuzz: ${runs} cases, outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`);
});

// ---- benign layers, tug against umoci ------------------------------------------------------------------

type Kind = "directory" | "file" | "symlink" | "fifo" | "char";

const NAMES = ["a", "b", "c", "etc", "bin", "with space", "ünïcödé", LONG, ".hidden", "x.wh.y"];

/** Entries the benign generator wrote through a symlink (reported, so a run shows it exercised them). */
let throughSymlinks = 0;

function benignLayers(f: Fuzzer): TarEntry[][] {
  /** The tree after the layers so far: path → kind. */
  const model = new Map<string, Kind>();
  /** Symlinks made to point at a directory: link path → the directory's real path. */
  const links = new Map<string, string>();
  const dirs = () => ["", ...[...model].filter(([, k]) => k === "directory").map(([p]) => p)];
  /** Where a new entry can go: [the path written in the tar, the real directory it lands in]. */
  const parents = (): [string, string][] => [
    ...dirs().map((d): [string, string] => [d, d]),
    // Through a symlink to a directory: both tools resolve it inside the root (securejoin in umoci).
    ...[...links].filter(([link, real]) =>
      model.get(link) === "symlink" && (real === "" || model.get(real) === "directory")
    ),
  ];
  const under = (p: string, q: string) => q === p || q.startsWith(p + "/");
  const join = (dir: string, name: string) => dir === "" ? name : `${dir}/${name}`;
  const meta = () => ({
    uid: f.pick([0, 0, 1000, 65534]),
    gid: f.pick([0, 0, 1000, 65534]),
    // Whole seconds mostly; a fractional one goes into a PAX mtime record. Eighths only: tug holds mtimes
    // as float seconds, so a decimal fraction (.109 = .10899999…) can round one nanosecond apart from the
    // nanoseconds umoci parses; that digit is below what either file system API promises.
    mtime: 946684800 + f.int(1_000_000_000) + (f.chance(0.2) ? f.int(8) / 8 : 0),
  });
  const layers: TarEntry[][] = [];
  for (let l = 0, n = 1 + f.int(5); l < n; l++) {
    const entries: TarEntry[] = [];
    /** Paths this layer created or changed: whiteouts and opaque markers only hide lower content. */
    const touched = new Set<string>();
    const touch = (p: string) => {
      for (let q = p; q !== ""; q = q.includes("/") ? q.slice(0, q.lastIndexOf("/")) : "") touched.add(q);
    };
    const lower = [...model.keys()].filter((p) => ![...touched].some((t) => under(p, t) || under(t, p)));
    if (l === 0 && f.chance(0.5)) entries.push({ path: "./", type: "directory", mode: 0o755, ...meta() });
    for (let i = 0, m = 1 + f.int(20); i < m; i++) {
      const op = f.int(10);
      if (op === 0 && l > 0) {
        // Whiteout of lower-layer content this layer has not touched.
        const candidates = lower.filter((p) =>
          model.has(p) && ![...touched].some((t) => under(p, t) || under(t, p))
        );
        if (candidates.length === 0) continue;
        const p = f.pick(candidates);
        const slash = p.lastIndexOf("/");
        links.delete(p);
        entries.push({ path: `${p.slice(0, slash + 1)}.wh.${p.slice(slash + 1)}`, content: "" });
        for (const q of [...model.keys()]) if (under(p, q)) model.delete(q);
        continue;
      }
      if (op === 1 && l > 0) {
        const candidates = dirs().filter((d) =>
          d !== "" && lower.includes(d) && ![...touched].some((t) => under(d, t))
        );
        if (candidates.length === 0) continue;
        const d = f.pick(candidates);
        entries.push({ path: `${d}/.wh..wh..opq`, content: "" });
        for (const q of [...model.keys()]) if (q.startsWith(d + "/")) model.delete(q);
        continue;
      }
      const [via, realParent] = f.pick(parents());
      const name = f.pick(NAMES);
      const written = join(via, name);
      const path = join(realParent, name);
      if (written.length > 250) continue; // the harness writes ustar prefix + name or a PAX path; keep it short
      let kind: Kind | "hardlink" = f.pick(
        ["directory", "directory", "file", "file", "file", "symlink", "hardlink", "fifo", "char"] as const,
      );
      if (kind === "char" && !AS_ROOT) kind = "fifo";
      const files = [...model].filter(([p, k]) => k === "file" && p !== path).map(([p]) => p);
      if (kind === "hardlink" && (files.length === 0 || model.has(path))) kind = "file";
      const existing = model.get(path);
      const e: TarEntry = { path: written, type: kind, ...meta() };
      if (written !== path) throughSymlinks++;
      switch (kind) {
        case "directory":
          e.mode = f.pick([0o755, 0o700, 0o750, 0o1777, 0o2775]);
          break;
        case "file":
          e.mode = f.pick([0o644, 0o600, 0o755, 0o4755, 0o2755, 0o444, 0o640]);
          e.content = f.chance(0.3) ? "" : `content ${f.int(1e9)}\n`.repeat(1 + f.int(50));
          break;
        case "symlink": {
          const candidates = dirs().filter((d) => !under(path, d));
          if (f.chance(0.5) && candidates.length > 0) {
            // To a directory of the tree, spelled absolute or relative (climbing to the root first).
            const target = f.pick(candidates);
            const up = "../".repeat(path.split("/").length - 1);
            e.linkname = f.chance(0.5) ? `/${target}` : (up + target || ".");
            links.set(path, target);
          } else {
            e.linkname = f.pick(["/", "..", "a", "/etc/passwd", "../../x", "b/c", LONG, "nowhere"]);
            links.delete(path);
          }
          break;
        }
        case "hardlink":
          e.linkname = f.pick(files);
          delete e.uid;
          break;
        case "fifo":
          e.mode = f.pick([0o644, 0o600, 0o1644, 0o4755]);
          break;
        case "char":
          Object.assign(e, { devmajor: 1, devminor: f.pick([3, 5, 7]), mode: f.pick([0o666, 0o2660]) });
          break;
      }
      // Replacing something else removes it with everything under it; a directory over one merges.
      if (existing !== undefined && !(existing === "directory" && kind === "directory")) {
        for (const q of [...model.keys()]) if (under(path, q)) model.delete(q);
      }
      model.set(path, kind === "hardlink" ? "file" : kind);
      touch(path);
      entries.push(e);
    }
    layers.push(entries);
  }
  return layers;
}

Deno.test("unpack() and umoci unpack give the same tree for seeded benign layers", async () => {
  const f = new Fuzzer(SEED ^ 0xb3);
  throughSymlinks = 0;
  const count = 30 * SCALE;
  const budgetMs = 25_000 * SCALE;
  const started = performance.now();
  let runs = 0;
  let paths = 0;
  await using tmp = await tempDir("tug-unpack-fuzz-umoci-");
  for (let i = 0; i < count && performance.now() - started < budgetMs; i++) {
    const layers = benignLayers(f);
    const what = `benign case #${i} (seed ${SEED}): ${JSON.stringify(layers)}`;
    const image = await layerImage(layers, f.chance(0.5));
    const ours = `${tmp.dir}/tug-${i}`;
    await unpack(await storeImage(image), IMAGE_NAME, ours);
    await writeOciLayout(image, `${tmp.dir}/oci-${i}`);
    const bundle = `${tmp.dir}/umoci-${i}`;
    // As root both set owners and make device nodes; otherwise both run rootless (no chown, no devices).
    await runTool("umoci", [
      "unpack",
      ...(AS_ROOT ? [] : ["--rootless"]),
      "--image",
      `${tmp.dir}/oci-${i}:img`,
      bundle,
    ]);
    const mine = await tree(ours, { dirMtimes: false });
    const theirs = await tree(`${bundle}/rootfs`, { dirMtimes: false });
    mine.delete("/");
    theirs.delete("/");
    assertEquals(treeDiff(mine, theirs, ["tug", "umoci"]), [], what);
    paths += mine.size;
    await Deno.remove(`${tmp.dir}/tug-${i}`, { recursive: true });
    await Deno.remove(bundle, { recursive: true });
    await Deno.remove(`${tmp.dir}/oci-${i}`, { recursive: true });
    runs++;
  }
  assert(runs >= Math.min(count, 4), `only ${runs} benign cases ran`);
  assert(paths > runs, `the images held only ${paths} paths in ${runs} cases`);
  assert(throughSymlinks > 0, "no entry went through a symlink");
  console.log(
    `benign differential fuzz: ${runs} images, ${paths} paths compared with umoci, ${throughSymlinks} entries through symlinks`,
  );
});
