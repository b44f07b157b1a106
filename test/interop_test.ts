// Other tools read what `tug pull` wrote: skopeo (inspect, copy) and umoci (ls, unpack), the real Debian
// binaries, on stores filled by the real command from the harness's registry.
//
// skopeo 1.9.3 resolves `oci:STORE:NAME` only for index entries with OCI media types, and addresses a layout
// without a name only when it holds one entry. A Docker-typed image is therefore read from a store holding
// just that image, pulled by digest (a pull by tag records two references: NAME:TAG and NAME@DIGEST).
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { runTug, tempDir } from "./_cli.ts";

async function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function runOk(cmd: string, args: string[]): Promise<string> {
  const out = await run(cmd, args);
  assertEquals(out.code, 0, `${cmd} ${args.join(" ")} failed: ${out.stderr}`);
  return out.stdout;
}

async function pullOk(store: string, ...args: string[]): Promise<void> {
  const out = await runTug(["pull", "-q", "--store", store, ...args]);
  assertEquals(out.code, 0, out.stderr);
}

Deno.test("skopeo inspects and copies OCI-typed images tug pulled, by name, with byte-identical manifests", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-interop-");
  const store = `${tmp.dir}/store`;
  const arm = images.multi.images["linux/arm64/v8"];
  await pullOk(store, images.zstd.reference);
  await pullOk(store, "--platform", "linux/arm64", images.multi.reference);
  await pullOk(store, images.small.reference); // a Docker-typed neighbour does not get in the way
  const cases = [
    { name: images.zstd.reference, image: images.zstd },
    { name: `${images.zstd.reference.slice(0, -3)}@${images.zstd.manifestDigest}`, image: images.zstd },
    { name: images.multi.reference, image: arm },
  ];
  for (const [i, { name, image }] of cases.entries()) {
    const inspected = JSON.parse(await runOk("skopeo", ["inspect", `oci:${store}:${name}`]));
    assertEquals(inspected.Digest, image.manifestDigest, name);
    assertEquals(inspected.Layers, image.layers.map((l) => l.digest));
    assertEquals(inspected.Architecture, image.platform.architecture);
    const raw = await runOk("skopeo", ["inspect", "--raw", `oci:${store}:${name}`]);
    assertEquals(new TextEncoder().encode(raw), image.manifestBytes);

    const out = `${tmp.dir}/copy-${i}`;
    await runOk("skopeo", ["copy", "-q", `oci:${store}:${name}`, `dir:${out}`]);
    assertEquals(await Deno.readFile(`${out}/manifest.json`), image.manifestBytes);
    assertEquals(await Deno.readFile(`${out}/${image.config.digest.slice(7)}`), image.config.bytes);
    for (const layer of image.layers) {
      assertEquals((await Deno.stat(`${out}/${layer.digest.slice(7)}`)).size, layer.size);
    }
  }
});

Deno.test("skopeo reads the index tug kept with --all-platforms, and each platform from it", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-interop-");
  const store = `${tmp.dir}/store`;
  await pullOk(store, "--all-platforms", images.multi.reference);
  const name = `oci:${store}:${images.multi.reference}`;
  assertEquals(
    new TextEncoder().encode(await runOk("skopeo", ["inspect", "--raw", name])),
    images.multi.manifestBytes,
  );
  for (const [platform, image] of Object.entries(images.multi.images)) {
    const [, arch, variant] = platform.split("/");
    const args = [
      "--override-os",
      "linux",
      "--override-arch",
      arch,
      ...(variant ? ["--override-variant", variant] : []),
    ];
    const inspected = JSON.parse(await runOk("skopeo", [...args, "inspect", name]));
    // skopeo names the digest of what the reference points at (the index) and the chosen image's layers.
    assertEquals(inspected.Digest, images.multi.manifestDigest, platform);
    assertEquals(inspected.Architecture, arch);
    assertEquals(inspected.Layers, image.layers.map((l) => l.digest));
    const out = `${tmp.dir}/copy-${arch}`;
    await runOk("skopeo", [...args, "copy", "-q", name, `dir:${out}`]);
    assertEquals(await Deno.readFile(`${out}/manifest.json`), image.manifestBytes);
  }
});

Deno.test("skopeo reads a Docker-typed image from a store holding just that image, pulled by digest", async () => {
  const { images, registry } = await sharedRegistry();
  await using tmp = await tempDir("tug-interop-");
  const small = images.small;
  assertEquals(small.manifestMediaType, "application/vnd.docker.distribution.manifest.v2+json");

  // In a store with tag and digest references, skopeo 1.9.3 finds no Docker-typed entry by name.
  const mixed = `${tmp.dir}/mixed`;
  await pullOk(mixed, small.reference);
  const byName = await run("skopeo", ["inspect", `oci:${mixed}:${small.reference}`]);
  assert(byName.code !== 0);
  assertStringIncludes(byName.stderr, "no descriptor found for reference");

  // The documented way: its own store, pulled by digest (one index entry), addressed without a name.
  const alone = `${tmp.dir}/alone`;
  await pullOk(alone, `${registry.host}/${small.repository}@${small.manifestDigest}`);
  const inspected = JSON.parse(await runOk("skopeo", ["inspect", `oci:${alone}`]));
  assertEquals(inspected.Digest, small.manifestDigest);
  assertEquals(inspected.Layers, small.layers.map((l) => l.digest));
  assertEquals(
    new TextEncoder().encode(await runOk("skopeo", ["inspect", "--raw", `oci:${alone}`])),
    small.manifestBytes,
  );
  const out = `${tmp.dir}/copy`;
  await runOk("skopeo", ["copy", "-q", `oci:${alone}`, `dir:${out}`]);
  assertEquals(await Deno.readFile(`${out}/manifest.json`), small.manifestBytes);
  assertEquals(await Deno.readFile(`${out}/${small.config.digest.slice(7)}`), small.config.bytes);
});

Deno.test("umoci lists every reference tug pulled and unpacks the OCI-typed arm64 image", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-interop-");
  const store = `${tmp.dir}/store`;
  await pullOk(store, images.small.reference);
  await pullOk(store, images.zstd.reference);
  await pullOk(store, "--platform", "linux/arm64", images.multi.reference);
  const listed = (await runOk("umoci", ["ls", "--layout", store])).trim().split("\n").sort();
  const arm = images.multi.images["linux/arm64/v8"];
  const withDigest = (r: string, d: string) => `${r.slice(0, r.lastIndexOf(":"))}@${d}`;
  assertEquals(
    listed,
    [
      images.small.reference,
      withDigest(images.small.reference, images.small.manifestDigest),
      images.zstd.reference,
      withDigest(images.zstd.reference, images.zstd.manifestDigest),
      images.multi.reference,
      // The digest the pull printed: the index's (kept in the store), as Docker's addDigestReference.
      withDigest(images.multi.reference, images.multi.manifestDigest),
    ].sort(),
  );
  const bundle = `${tmp.dir}/bundle`;
  await runOk("umoci", ["unpack", "--rootless", "--image", `${store}:${images.multi.reference}`, bundle]);
  const expected = arm.layers.flatMap((l) => l.files).find((f) => f.path === "arch.txt");
  assert(expected, "the fixture has arch.txt");
  const text = await Deno.readTextFile(`${bundle}/rootfs/arch.txt`);
  assertStringIncludes(text, "arm64");
  assertEquals(new TextEncoder().encode(text).length, expected.size);
});
