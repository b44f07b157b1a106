// The `tug` command bundled for Node 20 (adapters/cli/build_node.ts, esbuild) pulls from the real registry into
// an OCI layout exactly as the Deno command does: same references, same digests, same bytes.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { seedImages, sharedRegistry, startRegistry } from "./harness/mod.ts";
import { openStore, readBlob, runTug, snapshot, tempDir } from "./_cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The store's files and its index.json entries in name order. */
async function sortedSnapshot(dir: string): Promise<{ files: Record<string, number>; entries: unknown[] }> {
  const { files, index } = await snapshot(dir);
  const name = (e: { annotations?: Record<string, string> }) =>
    e.annotations?.["org.opencontainers.image.ref.name"] ?? "";
  const entries = JSON.parse(index).manifests.sort((a: never, b: never) => name(a).localeCompare(name(b)));
  return { files, entries };
}

/** Builds the Node bundle into `dir` the way `deno task build:node` does, and returns its path. */
async function buildBundle(dir: string): Promise<string> {
  const bundle = `${dir}/tug.mjs`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}adapters/cli/build_node.ts`, bundle],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assertStringIncludes(new TextDecoder().decode(out.stdout), `${bundle}: `);
  return bundle;
}

Deno.test("tug on Node 20 pulls every seeded image with the digests and bytes the Deno command stores", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-node-");
  const bundle = await buildBundle(tmp.dir);
  const version = await runTug(["version"], { runtime: "node", bundle });
  assertEquals([version.code, version.stdout], [0, "tug 0.1.0\n"]);

  const pulls = [
    [images.small.reference],
    ["--platform", "linux/arm64", images.multi.reference],
    [images.zstd.reference],
    [images.large.reference],
  ];
  const nodeStore = `${tmp.dir}/node`;
  const denoStore = `${tmp.dir}/deno`;
  for (const args of pulls) {
    const onNode = await runTug(["pull", "--store", nodeStore, ...args], { runtime: "node", bundle });
    assertEquals(onNode.code, 0, onNode.stderr);
    assertEquals(onNode.stderr, "");
    const reference = args.at(-1)!;
    assertStringIncludes(onNode.stdout, `Status: Downloaded newer image for ${reference}\n`);
    assertEquals(onNode.stdout.trimEnd().split("\n").at(-1), reference);
    const onDeno = await runTug(["pull", "-q", "--store", denoStore, ...args]);
    assertEquals(onDeno.code, 0, onDeno.stderr);
  }

  // The same index.json (references, digests, annotations) and the same files.
  assertEquals(await sortedSnapshot(nodeStore), await sortedSnapshot(denoStore));
  const store = await openStore(nodeStore);
  const arm = images.multi.images["linux/arm64/v8"];
  assertEquals((await store.references.get(images.multi.reference))?.digest, arm.manifestDigest);
  assertEquals(await readBlob(store, arm.manifestDigest), arm.manifestBytes);
  for (const image of [images.small, images.zstd, images.large]) {
    assertEquals((await store.references.get(image.reference))?.digest, image.manifestDigest);
    assertEquals(await readBlob(store, image.manifestDigest), image.manifestBytes);
    for (const layer of image.layers) assertEquals((await store.blobs.stat(layer.digest))?.size, layer.size);
  }

  // `images` prints the same on both runtimes.
  const nodeImages = await runTug(["images", "--store", nodeStore], { runtime: "node", bundle });
  const denoImages = await runTug(["images", "--store", nodeStore]);
  assertEquals(nodeImages.code, 0, nodeImages.stderr);
  assertEquals(nodeImages.stdout, denoImages.stdout);
  const nodeJson = await runTug(["images", "--json", "--store", nodeStore], { runtime: "node", bundle });
  assertEquals(nodeJson.stdout, (await runTug(["images", "--json", "--store", nodeStore])).stdout);
  assertEquals(nodeJson.stdout.trimEnd().split("\n").length, 4);

  // A second pull on Node: up to date, no blob written, the same references (the store may reorder them).
  const before = await sortedSnapshot(nodeStore);
  const again = await runTug(["pull", "--store", nodeStore, images.small.reference], {
    runtime: "node",
    bundle,
  });
  assertStringIncludes(again.stdout, `Status: Image is up to date for ${images.small.reference}\n`);
  assertEquals(await sortedSnapshot(nodeStore), before);

  // Errors: Docker's message, exit code 1 (process.exitCode), the store untouched.
  const missing = `${images.small.reference.slice(0, -3)}:nope`;
  const failed = await runTug(["pull", "--store", nodeStore, missing], { runtime: "node", bundle });
  assertEquals([failed.code, failed.stdout, failed.stderr], [
    1,
    "",
    `Error: manifest for ${missing} not found\n`,
  ]);
  const usage = await runTug(["pull"], { runtime: "node", bundle });
  assertEquals(usage.code, 2);
  assertEquals(await sortedSnapshot(nodeStore), before);

  // --json on Node is Docker's jsonmessage stream too.
  const json = await runTug(["pull", "--json", "--store", `${tmp.dir}/json`, images.zstd.reference], {
    runtime: "node",
    bundle,
  });
  assertEquals(json.code, 0, json.stderr);
  const messages = json.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assertEquals(messages.at(-1), { status: `Status: Downloaded newer image for ${images.zstd.reference}` });
  assert(
    messages.some((m) => m.status === "Downloading" && m.progressDetail.total === images.zstd.layers[0].size),
  );
});

Deno.test("tug on Node 20 authenticates with a docker config against an htpasswd registry", async () => {
  await using registry = await startRegistry({ auth: { htpasswd: { users: { alice: "s3cret" } } } });
  const { small } = await seedImages(registry, { username: "alice", password: "s3cret", only: ["small"] });
  await using tmp = await tempDir("tug-node-");
  const bundle = await buildBundle(tmp.dir);
  const denied = await runTug(["pull", "--store", `${tmp.dir}/s`, small.reference], {
    runtime: "node",
    bundle,
  });
  assertEquals(denied.code, 1);
  assertMatch(denied.stderr, /^Error: .*(denied|unauthorized|authentication required)/i);
  await Deno.mkdir(`${tmp.dir}/docker`);
  await Deno.writeTextFile(
    `${tmp.dir}/docker/config.json`,
    JSON.stringify({ auths: { [registry.host]: { auth: btoa("alice:s3cret") } } }),
  );
  const run = await runTug(["pull", "--store", `${tmp.dir}/s`, small.reference], {
    runtime: "node",
    bundle,
    env: { DOCKER_CONFIG: `${tmp.dir}/docker` },
  });
  assertEquals(run.code, 0, run.stderr);
  const store = await openStore(`${tmp.dir}/s`);
  assertEquals((await store.references.get(small.reference))?.digest, small.manifestDigest);
});
