// `tug pull` run as a real subprocess (deno run adapters/cli/main.ts) against the harness's real registry.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { MAIN, openStore, readBlob, runTug, snapshot, tempDir, throttlingProxy } from "./_cli.ts";

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[/;

Deno.test("tug pull stores each seeded image and prints Docker's plain progress when not on a terminal", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir();
  for (const image of [images.small, images.large, images.zstd]) {
    const run = await runTug(["pull", "--store", tmp.dir, image.reference]);
    assertEquals(run.code, 0, run.stderr);
    assertEquals(run.stderr, "");
    assert(!ANSI.test(run.stdout), "plain output has no escape sequences");
    const lines = run.stdout.trimEnd().split("\n");
    assertEquals(lines[0], `v1: Pulling from ${image.repository}`);
    assertEquals(lines.at(-3), `Digest: ${image.manifestDigest}`);
    assertEquals(lines.at(-2), `Status: Downloaded newer image for ${image.reference}`);
    assertEquals(lines.at(-1), image.reference);
    for (const layer of image.layers) {
      const id = layer.digest.slice(7, 19);
      assertEquals(
        lines.filter((l) => l.startsWith(`${id}: `) && !l.includes("Waiting")),
        [
          `${id}: Pulling fs layer`,
          `${id}: Verifying Checksum`,
          `${id}: Download complete`,
          `${id}: Pull complete`,
        ],
      );
    }
    const store = await openStore(tmp.dir);
    assertEquals((await store.references.get(image.reference))?.digest, image.manifestDigest);
    assertEquals(await readBlob(store, image.manifestDigest), image.manifestBytes);
    assertEquals(await readBlob(store, image.config.digest), image.config.bytes);
    for (const layer of image.layers) assertEquals((await store.blobs.stat(layer.digest))?.size, layer.size);
  }
  assertEquals((await (await openStore(tmp.dir)).listTemp()).length, 0);
});

Deno.test("tug pull --platform linux/arm64 picks the arm64/v8 manifest of the multi index", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir();
  const arm = images.multi.images["linux/arm64/v8"];
  const run = await runTug(["pull", "--store", tmp.dir, "--platform", "linux/arm64", images.multi.reference]);
  assertEquals(run.code, 0, run.stderr);
  // Docker prints the digest of what the tag points at: the index.
  assertStringIncludes(run.stdout, `Digest: ${images.multi.manifestDigest}\n`);
  const store = await openStore(tmp.dir);
  assertEquals((await store.references.get(images.multi.reference))?.digest, arm.manifestDigest);
  assertEquals(await readBlob(store, arm.manifestDigest), arm.manifestBytes);
  assertEquals(await readBlob(store, arm.config.digest), arm.config.bytes);
  assertEquals(await store.blobs.stat(images.multi.images["linux/amd64"].manifestDigest), undefined);
  assertEquals(await store.blobs.stat(images.multi.images["linux/amd64"].config.digest), undefined);
});

Deno.test("tug pull --all-platforms keeps the index and every platform's image", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir();
  const run = await runTug(["pull", "--store", tmp.dir, "--all-platforms", images.multi.reference]);
  assertEquals(run.code, 0, run.stderr);
  const store = await openStore(tmp.dir);
  assertEquals((await store.references.get(images.multi.reference))?.digest, images.multi.manifestDigest);
  assertEquals(await readBlob(store, images.multi.manifestDigest), images.multi.manifestBytes);
  for (const image of [...Object.values(images.multi.images), images.multi.attestation]) {
    assertEquals(await readBlob(store, image.manifestDigest), image.manifestBytes);
    assertEquals(await readBlob(store, image.config.digest), image.config.bytes);
    for (const layer of image.layers) assertEquals((await store.blobs.stat(layer.digest))?.size, layer.size);
  }
});

Deno.test("tug pull NAME@DIGEST stores the image under its digest reference", async () => {
  const { images, registry } = await sharedRegistry();
  await using tmp = await tempDir();
  const byDigest = `${registry.host}/${images.small.repository}@${images.small.manifestDigest}`;
  const run = await runTug(["pull", "--store", tmp.dir, byDigest]);
  assertEquals(run.code, 0, run.stderr);
  assertStringIncludes(
    run.stdout,
    // Docker names the repository path without the host.
    `${images.small.manifestDigest}: Pulling from tug/small\n`,
  );
  assertStringIncludes(run.stdout, `Status: Downloaded newer image for ${byDigest}\n`);
  assertEquals(run.stdout.trimEnd().split("\n").at(-1), byDigest);
  const store = await openStore(tmp.dir);
  assertEquals((await store.references.get(byDigest))?.digest, images.small.manifestDigest);
  assertEquals((await store.references.list()).map((r) => r.name), [byDigest]);
});

Deno.test("tug pull -q prints only the reference", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir();
  const run = await runTug(["pull", "-q", "--store", tmp.dir, images.zstd.reference]);
  assertEquals(run.code, 0, run.stderr);
  assertEquals(run.stdout, `${images.zstd.reference}\n`);
  assertEquals(run.stderr, "");
  const again = await runTug(["pull", "--quiet", "--store", tmp.dir, images.zstd.reference]);
  assertEquals(again.stdout, `${images.zstd.reference}\n`);
});

Deno.test("tug pull --json prints Docker Engine jsonmessage lines, each layer's statuses in order", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir();
  const image = images.small;
  const run = await runTug(["pull", "--json", "--store", tmp.dir, image.reference]);
  assertEquals(run.code, 0, run.stderr);
  const messages = run.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  for (const m of messages) {
    assertEquals(typeof m.status, "string");
    for (const key of Object.keys(m)) {
      assert(["status", "id", "progressDetail", "progress"].includes(key), key);
    }
  }
  assertEquals(messages[0], { status: `Pulling from ${image.repository}`, id: "v1" });
  assertEquals(messages.at(-2), { status: `Digest: ${image.manifestDigest}` });
  assertEquals(messages.at(-1), { status: `Status: Downloaded newer image for ${image.reference}` });
  // Docker's order for one layer; a layer may skip Waiting and send several Downloading messages.
  const order = ["Pulling fs layer", "Waiting", "Downloading", "Verifying Checksum", "Download complete"];
  order.push("Pull complete");
  for (const layer of image.layers) {
    const id = layer.digest.slice(7, 19);
    const mine = messages.filter((m) => m.id === id);
    const ranks = mine.map((m) => order.indexOf(m.status));
    assert(!ranks.includes(-1), `unknown status for ${id}: ${JSON.stringify(mine)}`);
    assertEquals(ranks, [...ranks].sort((a, b) => a - b), `statuses of ${id} out of order`);
    assertEquals(mine[0].status, "Pulling fs layer");
    assertEquals(mine.at(-1).status, "Pull complete");
    const downloading = mine.filter((m) => m.status === "Downloading");
    assert(downloading.length > 0, `no Downloading for ${id}`);
    let last = 0;
    for (const d of downloading) {
      assertEquals(d.progressDetail.total, layer.size);
      // Docker's progress reader reports bytes read: no Downloading message at 0 B.
      const current = d.progressDetail.current;
      assert(current > last && current <= layer.size, `current ${current} after ${last}`);
      last = current;
      assertMatch(d.progress, /^\[[=> ]+\] +\S+\/\S+$/);
    }
    assertEquals(last, layer.size);
  }
});

Deno.test("tug pull a second time prints no layer line, only Digest and Status: Image is up to date", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir();
  const image = images.small;
  assertEquals((await runTug(["pull", "-q", "--store", tmp.dir, image.reference])).code, 0);
  const before = await snapshot(tmp.dir);
  const run = await runTug(["pull", "--store", tmp.dir, image.reference]);
  assertEquals(run.code, 0, run.stderr);
  assertEquals(
    run.stdout,
    [
      // pull_v2.go pullSchema2: the image (its config) is stored, so no layer is looked at.
      `v1: Pulling from ${image.repository}`,
      `Digest: ${image.manifestDigest}`,
      `Status: Image is up to date for ${image.reference}`,
      image.reference,
      "",
    ].join("\n"),
  );
  assertEquals(await snapshot(tmp.dir), before);
});

Deno.test("tug pull of an unknown tag fails with Docker's message, exit 1, and leaves the store as it was", async () => {
  const { images, registry } = await sharedRegistry();
  await using tmp = await tempDir();
  assertEquals((await runTug(["pull", "-q", "--store", tmp.dir, images.small.reference])).code, 0);
  const before = await snapshot(tmp.dir);
  const missing = `${registry.host}/tug/small:nope`;
  const run = await runTug(["pull", "--store", tmp.dir, missing]);
  assertEquals(run.code, 1);
  assertEquals(run.stderr, `Error: manifest for ${missing} not found\n`);
  assertEquals(run.stdout, "");
  assertEquals(await snapshot(tmp.dir), before);
  assertEquals((await (await openStore(tmp.dir)).listTemp()).length, 0);
  const repo = await runTug(["pull", "--store", tmp.dir, `${registry.host}/tug/no-such-repo:v1`]);
  assertEquals(repo.code, 1);
  assertStringIncludes(repo.stderr, `${registry.host}/tug/no-such-repo`);
  assertEquals(await snapshot(tmp.dir), before);
});

Deno.test("tug pull refuses a malformed reference or bad flags and names the input", async () => {
  await using tmp = await tempDir();
  const bad = await runTug(["pull", "--store", tmp.dir, "FOO//bar"]);
  assertEquals(bad.code, 1);
  assertMatch(bad.stderr, /^Error: .*"FOO\/\/bar"/);
  const upper = await runTug(["pull", "--store", tmp.dir, "Alpine:3"]);
  assertEquals(upper.code, 1);
  assertStringIncludes(upper.stderr, '"Alpine:3"');
  const none = await runTug(["pull", "--store", tmp.dir]);
  assertEquals(none.code, 2);
  // docker/cli's ExactArgs message, `tug:` for `docker:`.
  assertEquals(
    none.stderr,
    "tug: 'tug pull' requires 1 argument\n\nUsage:  tug pull [OPTIONS] NAME[:TAG|@DIGEST]\n\n" +
      "Run 'tug pull --help' for more information\n",
  );
  const flag = await runTug(["pull", "--store", tmp.dir, "--max-concurrent-downloads", "0", "alpine"]);
  assertEquals(flag.code, 2);
  assertStringIncludes(flag.stderr, '--max-concurrent-downloads must be a positive integer, got "0"');
  const unknown = await runTug(["pull", "--bogus", "alpine"]);
  assertEquals(unknown.code, 2);
  assertStringIncludes(unknown.stderr, "unknown flag: --bogus");
  // Nothing was created for a refused command.
  assertEquals([...Deno.readDirSync(tmp.dir)], []);
});

Deno.test("tug pull uses $TUG_STORE when --store is not given", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir();
  const dir = `${tmp.dir}/from-env`;
  const run = await runTug(["pull", "-q", images.small.reference], { env: { TUG_STORE: dir } });
  assertEquals(run.code, 0, run.stderr);
  const store = await openStore(dir);
  assertEquals((await store.references.get(images.small.reference))?.digest, images.small.manifestDigest);
  const listed = await runTug(["images", "-q"], { env: { TUG_STORE: dir } });
  assertEquals(listed.stdout, `${images.small.reference}\n`);
});

Deno.test("tug pull --max-concurrent-downloads 1 pulls every layer", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir();
  const run = await runTug([
    "pull",
    "--max-concurrent-downloads",
    "1",
    "--store",
    tmp.dir,
    images.small.reference,
  ]);
  assertEquals(run.code, 0, run.stderr);
  // With one download at a time, the layers after the first wait their turn, as Docker shows.
  assertStringIncludes(run.stdout, `${images.small.layers[1].digest.slice(7, 19)}: Waiting\n`);
  const store = await openStore(tmp.dir);
  for (const layer of images.small.layers) {
    assertEquals((await store.blobs.stat(layer.digest))?.size, layer.size);
  }
});

Deno.test("tug pull interrupted by SIGINT exits 130, keeps the partial layer, and the next pull resumes it", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = throttlingProxy(registry.url, 16 * 1024 * 1024);
  await using tmp = await tempDir();
  const reference = images.large.reference.replace(registry.host, `127.0.0.1:${proxy.addr.port}`);
  const layer = images.large.layers[0];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "pull", "--json", "--store", tmp.dir, reference],
    env: { DOCKER_CONFIG: "/nonexistent/tug-test-docker-config", TUG_CONFIG: "/nonexistent/tug-config.json" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  // Interrupt once at least 8 MiB of the layer arrived (bounded: the layer takes ~4 s at this rate).
  let output = "";
  let interrupted = false;
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    output += decoder.decode(chunk, { stream: true });
    if (interrupted) continue;
    const current = [...output.matchAll(/"current":(\d+)/g)].map((m) => Number(m[1])).at(-1) ?? 0;
    if (current >= 8 << 20) {
      child.kill("SIGINT");
      interrupted = true;
    }
  }
  const status = await child.status;
  assert(interrupted, `the pull finished before it could be interrupted:\n${output}`);
  assertEquals(status.code, 130, await stderr);
  assertEquals(await stderr, "tug: The pull was interrupted\n");
  const store = await openStore(tmp.dir);
  assertEquals(await store.references.get(reference), undefined);
  assertEquals(await store.blobs.stat(layer.digest), undefined);
  const partial = (await store.listTemp()).filter((t) => t.kind === "partial");
  assertEquals(partial.length, 1, JSON.stringify(await store.listTemp()));

  // The second pull asks for the rest only (a 206 for the remaining bytes) and verifies the whole layer.
  const before = (await registry.accessLog()).length;
  const again = await runTug(["pull", "-q", "--store", tmp.dir, reference]);
  assertEquals(again.code, 0, again.stderr);
  const blobGets = (await registry.accessLog()).slice(before).filter((e) =>
    e.method === "GET" && e.path.endsWith(`/blobs/${layer.digest}`)
  );
  assertEquals(blobGets.map((e) => e.status), [206]);
  assert(blobGets[0].size < layer.size - (8 << 20), `resumed with ${blobGets[0].size} bytes`);
  assertEquals((await store.blobs.stat(layer.digest))?.size, layer.size);
  assertEquals((await store.references.get(reference))?.digest, images.large.manifestDigest);
  assertEquals((await store.listTemp()).length, 0);
});
