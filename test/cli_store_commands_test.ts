// `tug images` and `tug inspect` run as real subprocesses over a store `tug pull` filled from the real registry.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { type SeededManifest, sharedRegistry } from "./harness/mod.ts";
import { openStore, runTug, snapshot, tempDir } from "./_cli.ts";

async function filledStore(dir: string): Promise<void> {
  const { images } = await sharedRegistry();
  for (
    const args of [[images.small.reference], [images.zstd.reference], [
      "--all-platforms",
      images.multi.reference,
    ]]
  ) {
    const run = await runTug(["pull", "-q", "--store", dir, ...args]);
    assertEquals(run.code, 0, run.stderr);
  }
}

interface Inspected {
  reference: string;
  descriptor: { digest: string; mediaType: string; size: number };
  index?: { manifests: Array<{ digest: string }> };
  manifestDescriptor?: { digest: string };
  manifest?: { config: { digest: string }; layers: Array<{ digest: string }> };
  config?: { architecture: string; os: string; rootfs: { diff_ids: string[] } };
}

function assertDescribes(out: Inspected, image: SeededManifest): void {
  assertEquals(out.manifestDescriptor?.digest, image.manifestDigest);
  assertEquals(out.manifest?.config.digest, image.config.digest);
  assertEquals(out.manifest?.layers.map((l) => l.digest), image.layers.map((l) => l.digest));
  const config = JSON.parse(new TextDecoder().decode(image.config.bytes));
  assertEquals(out.config?.architecture, config.architecture);
  assertEquals(out.config?.os, config.os);
  assertEquals(out.config?.rootfs.diff_ids, image.layers.map((l) => l.diffId));
}

Deno.test("tug images lists the store's references as a table, with -q, and as JSON lines", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir();
  await filledStore(tmp.dir);
  const names = [images.small.reference, images.zstd.reference, images.multi.reference].sort();

  const quiet = await runTug(["images", "-q", "--store", tmp.dir]);
  assertEquals(quiet.code, 0, quiet.stderr);
  assertEquals(quiet.stdout.trimEnd().split("\n").sort(), names);

  const table = await runTug(["images", "--store", tmp.dir]);
  assertEquals(table.code, 0, table.stderr);
  const rows = table.stdout.trimEnd().split("\n");
  assertMatch(rows[0], /^REPOSITORY +TAG +DIGEST +IMAGE ID +CONTENT SIZE$/);
  assertEquals(rows.length, 4);
  const small = rows.find((r) => r.startsWith(`${images.small.reference.slice(0, -3)} `));
  assert(small, table.stdout);
  const cells = small.split(/ {2,}/);
  assertEquals(cells.slice(0, 4), [
    images.small.reference.slice(0, -3),
    "v1",
    images.small.manifestDigest.slice(0, 19),
    images.small.config.digest.slice(7, 19),
  ]);
  const smallSize = images.small.config.size + images.small.layers.reduce((n, l) => n + l.size, 0);
  assertEquals(cells[4], `${(smallSize / 1000).toFixed(3)}kB`);
  assertStringIncludes(rows.find((r) => r.includes("/tug/multi "))!, "<index>");

  const json = await runTug(["images", "--json", "--store", tmp.dir]);
  assertEquals(json.code, 0, json.stderr);
  const entries = json.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assertEquals(entries.map((e) => e.reference).sort(), names);
  const multi = entries.find((e) => e.reference === images.multi.reference);
  assertEquals(multi.digest, images.multi.manifestDigest);
  assertEquals(multi.mediaType, images.multi.manifestMediaType);
  const zstd = entries.find((e) => e.reference === images.zstd.reference);
  assertEquals(zstd.imageId, images.zstd.config.digest);
  assertEquals(zstd.size, images.zstd.config.size + images.zstd.layers.reduce((n, l) => n + l.size, 0));

  // --digests adds no name@digest reference that a tag of the same repository already lists (a pull by
  // tag records both): each image is listed once.
  const digests = await runTug(["images", "-q", "--digests", "--store", tmp.dir]);
  assertEquals(digests.stdout.trimEnd().split("\n").sort(), names);
});

Deno.test("tug images on an empty store prints only the header", async () => {
  await using tmp = await tempDir();
  await openStore(tmp.dir);
  const run = await runTug(["images", "--store", tmp.dir]);
  assertEquals(run.code, 0, run.stderr);
  assertEquals(run.stdout, "REPOSITORY   TAG   DIGEST   IMAGE ID   CONTENT SIZE\n");
});

Deno.test("tug inspect prints an image's manifest and config from the store", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir();
  await filledStore(tmp.dir);
  const before = await snapshot(tmp.dir);

  const small = await runTug(["inspect", "--store", tmp.dir, images.small.reference]);
  assertEquals(small.code, 0, small.stderr);
  const out: Inspected = JSON.parse(small.stdout);
  assertEquals(out.reference, images.small.reference);
  assertEquals(out.descriptor.digest, images.small.manifestDigest);
  assertDescribes(out, images.small);

  // An index: the index, then the image of the platform asked for.
  const multi = await runTug([
    "inspect",
    "--store",
    tmp.dir,
    "--platform",
    "linux/arm64",
    images.multi.reference,
  ]);
  assertEquals(multi.code, 0, multi.stderr);
  const m: Inspected = JSON.parse(multi.stdout);
  assertEquals(m.descriptor.digest, images.multi.manifestDigest);
  assertEquals(m.index?.manifests.length, 3);
  assertDescribes(m, images.multi.images["linux/arm64/v8"]);

  // By digest.
  const digestRef = `${images.zstd.reference.slice(0, -3)}@${images.zstd.manifestDigest}`;
  const byDigest = await runTug(["inspect", "--store", tmp.dir, digestRef]);
  assertEquals(byDigest.code, 0, byDigest.stderr);
  assertDescribes(JSON.parse(byDigest.stdout), images.zstd);

  assertEquals(await snapshot(tmp.dir), before);
});

Deno.test("tug inspect of an image the store lacks fails with exit 1 and a hint", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir();
  await openStore(tmp.dir);
  const run = await runTug(["inspect", "--store", tmp.dir, images.large.reference]);
  assertEquals(run.code, 1);
  assertEquals(run.stdout, "");
  assertEquals(
    run.stderr,
    `Error: No such image in the store: ${images.large.reference} (pull it first, or use --remote)\n`,
  );
  const usage = await runTug(["inspect", "--store", tmp.dir]);
  assertEquals(usage.code, 2);
});

Deno.test("tug inspect --remote reads manifest and config from the registry without touching a store", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir();
  const env = { TUG_STORE: `${tmp.dir}/never` };
  const small = await runTug(["inspect", "--remote", images.small.reference], { env });
  assertEquals(small.code, 0, small.stderr);
  assertDescribes(JSON.parse(small.stdout), images.small);

  const multi = await runTug(["inspect", "--remote", "--platform", "linux/arm64", images.multi.reference], {
    env,
  });
  assertEquals(multi.code, 0, multi.stderr);
  const m: Inspected = JSON.parse(multi.stdout);
  assertEquals(m.descriptor.digest, images.multi.manifestDigest);
  assertDescribes(m, images.multi.images["linux/arm64/v8"]);

  const missing = await runTug(["inspect", "--remote", `${images.small.reference.slice(0, -3)}:nope`], {
    env,
  });
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, `${images.small.reference.slice(0, -3)}:nope`);
  assertEquals([...Deno.readDirSync(tmp.dir)], []);
});
