// Which references a pull records (Docker's pullV2Tag / addDigestReference), against the real docker-registry.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { openStore, runTug, tempDir } from "./_cli.ts";
import { pull } from "../src/pull/pull.ts";
import { MemoryStore } from "../src/store/memory_store.ts";

Deno.test("pull() of an index records NAME@<index digest>, which a later pull by that digest finds up to date", async () => {
  const { images, registry } = await sharedRegistry();
  const multi = images.multi;
  const arm = multi.images["linux/arm64/v8"];
  const store = new MemoryStore();
  const byTag = await pull(multi.reference, { store, platform: "linux/arm64" });
  assertEquals(byTag.digest, multi.manifestDigest);
  const byIndex = `${registry.host}/${multi.repository}@${multi.manifestDigest}`;
  // The digest Docker prints is the one it records (addDigestReference), and it names the index.
  assertEquals((await store.references.get(byIndex))?.digest, multi.manifestDigest);
  // The tag keeps naming the platform image; the platform manifest gets no digest name of its own.
  assertEquals((await store.references.get(multi.reference))?.digest, arm.manifestDigest);
  assertEquals(
    await store.references.get(`${registry.host}/${multi.repository}@${arm.manifestDigest}`),
    undefined,
  );
  const again = await pull(byIndex, { store, platform: "linux/arm64" });
  assertEquals(again.status, `Image is up to date for ${byIndex}`);
  assertEquals(again.downloaded, false);
});

Deno.test("pull() of NAME:TAG@DIGEST records only NAME@DIGEST, as Docker keeps only the digest", async () => {
  const { images, registry } = await sharedRegistry();
  const small = images.small;
  const store = new MemoryStore();
  // A tag the registry does not have: Docker never asks for it, and tug must not invent it.
  const name = `${registry.host}/${small.repository}`;
  const result = await pull(`${name}:never-pushed@${small.manifestDigest}`, { store });
  assertEquals(result.digest, small.manifestDigest);
  assertEquals(result.reference, `${name}@${small.manifestDigest}`);
  assertEquals((await store.references.list()).map((r) => r.name), [`${name}@${small.manifestDigest}`]);
});

Deno.test("tug inspect, unpack and save by NAME@<index digest> reach the platform image a pull printed", async () => {
  const { images, registry } = await sharedRegistry();
  const multi = images.multi;
  const arm = multi.images["linux/arm64/v8"];
  await using tmp = await tempDir("tug-index-ref-");
  const store = `${tmp.dir}/store`;
  const pulled = await runTug(["pull", "--store", store, "--platform", "linux/arm64", multi.reference]);
  assertEquals(pulled.code, 0, pulled.stderr);
  const printed = /Digest: (sha256:[0-9a-f]{64})/.exec(pulled.stdout)?.[1];
  assertEquals(printed, multi.manifestDigest);
  const byIndex = `${registry.host}/${multi.repository}@${printed}`;

  const inspected = await runTug(["inspect", "--store", store, "--platform", "linux/arm64", byIndex]);
  assertEquals(inspected.code, 0, inspected.stderr);
  const shown = JSON.parse(inspected.stdout);
  assertEquals(shown.descriptor.digest, multi.manifestDigest);
  assertEquals(shown.manifestDescriptor.digest, arm.manifestDigest);

  const rootfs = `${tmp.dir}/rootfs`;
  const unpacked = await runTug(["unpack", "--store", store, "--platform", "linux/arm64", byIndex, rootfs]);
  assertEquals(unpacked.code, 0, unpacked.stderr);
  assertEquals(await Deno.readTextFile(`${rootfs}/arch.txt`), "arm64\n");

  const file = `${tmp.dir}/multi.tar`;
  const saved = await runTug(["save", "--store", store, "--platform", "linux/arm64", "-o", file, byIndex]);
  assertEquals(saved.code, 0, saved.stderr);
  assert((await Deno.stat(file)).size > 0);

  const again = await runTug(["pull", "--store", store, "--platform", "linux/arm64", byIndex]);
  assertEquals(again.code, 0, again.stderr);
  assertStringIncludes(again.stdout, `Status: Image is up to date for ${byIndex}`);
  // The store stays sound: the index's other platforms are absent on purpose, not missing.
  const verified = await runTug(["verify", "--store", store]);
  assertEquals(verified.code, 0, verified.stdout + verified.stderr);
  assertEquals((await (await openStore(store)).references.list()).length, 2);
});

Deno.test("tug prune -a keeps NAME@<index digest> of a tagged platform image; tug rmi of the tag removes both names", async () => {
  const { images, registry } = await sharedRegistry();
  const multi = images.multi;
  await using tmp = await tempDir("tug-index-rmi-");
  const pulled = await runTug([
    "pull",
    "-q",
    "--store",
    tmp.dir,
    "--platform",
    "linux/arm64",
    multi.reference,
  ]);
  assertEquals(pulled.code, 0, pulled.stderr);
  const byIndex = `${registry.host}/${multi.repository}@${multi.manifestDigest}`;
  const names = async () => (await (await openStore(tmp.dir)).references.list()).map((r) => r.name).sort();
  const pruned = await runTug(["prune", "-a", "--force", "--store", tmp.dir]);
  assertEquals(pruned.code, 0, pruned.stderr);
  // The index's digest name and the tag stand for the same image, as in Docker: nothing is untagged.
  assertEquals(await names(), [byIndex, multi.reference].sort());
  const removed = await runTug(["rmi", "--force", "--store", tmp.dir, multi.reference]);
  assertEquals(removed.code, 0, removed.stderr);
  assertEquals(await names(), []);
  const store = await openStore(tmp.dir);
  assertEquals(await store.blobs.stat(multi.manifestDigest), undefined);
  assertEquals(await store.blobs.stat(multi.images["linux/arm64/v8"].manifestDigest), undefined);
});
