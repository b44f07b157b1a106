// verifyStore() on OCI layouts filled by real pulls from the harness's docker-registry, then damaged.
import { assert, assertEquals } from "../../test/_assert.ts";
import { sharedRegistry } from "../../test/harness/mod.ts";
import { pull } from "../../src/pull/pull.ts";
import { nodeHasher } from "../crypto/node_hasher.ts";
import { OciLayoutStore } from "./oci_layout_store.ts";
import { verifyStore } from "./verify_store.ts";

async function pulledStore(): Promise<{ store: OciLayoutStore; dir: string } & AsyncDisposable> {
  const { images } = await sharedRegistry();
  const dir = await Deno.makeTempDir({ prefix: "tug-verify-" });
  const store = await OciLayoutStore.open(dir, { fsync: false });
  await pull(images.small.reference, { store, hasher: nodeHasher });
  await pull(images.multi.reference, { store, hasher: nodeHasher, allPlatforms: true });
  return { store, dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

function blobFile(dir: string, digest: string): string {
  return `${dir}/blobs/${digest.replace(":", "/")}`;
}

Deno.test("verifyStore() finds a freshly pulled store sound, every blob hashed and every reference resolved", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await pulledStore();
  const report = await verifyStore(tmp.store);
  assertEquals(report.sound, true);
  assertEquals(report.corrupt, []);
  assertEquals(report.missing, []);
  assertEquals(report.temp, []);
  let count = 0;
  for await (const _ of tmp.store.blobs.list()) count++;
  assertEquals(report.blobs, count);
  // small: manifest, config, 3 layers; multi with every platform: index + 3 manifests + their blobs.
  assert(report.blobs >= 5 + 1 + 3, `blobs ${report.blobs}`);
  assertEquals(report.references, (await tmp.store.references.list()).length);
  assert(report.references >= 3, "small:v1 and multi:v1, each by tag and digest");
  assert((await tmp.store.references.get(images.multi.reference)) !== undefined);
});

Deno.test("verifyStore() reports a blob with a flipped byte as corrupt and its manifest as incomplete; repair removes it", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await pulledStore();
  const layer = images.small.layers[1];
  const path = blobFile(tmp.dir, layer.digest);
  const bytes = await Deno.readFile(path);
  bytes[bytes.length >> 1] ^= 0x01;
  await Deno.writeFile(path, bytes);

  const report = await verifyStore(tmp.store);
  assertEquals(report.sound, false);
  assertEquals(report.corrupt.map((c) => c.digest), [layer.digest]);
  assert(report.corrupt[0].actual !== undefined && report.corrupt[0].actual !== layer.digest);
  assertEquals(report.missing.map((m) => [m.digest, m.referencedBy, m.reason]), [
    [layer.digest, images.small.manifestDigest, "it is corrupt"],
  ]);

  const repaired = await verifyStore(tmp.store, { repair: true });
  assertEquals(repaired.removedBlobs, [layer.digest]);
  assertEquals(repaired.sound, false, "the layer is gone now: the image needs pulling again");
  assertEquals(await tmp.store.blobs.stat(layer.digest), undefined);

  await pull(images.small.reference, { store: tmp.store, hasher: nodeHasher });
  assertEquals((await verifyStore(tmp.store)).sound, true);
});

Deno.test("verifyStore() reports a missing layer, a missing child manifest and a dangling reference", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await pulledStore();
  const arm = images.multi.images["linux/arm64/v8"];
  await tmp.store.blobs.delete(images.small.layers[0].digest);
  await tmp.store.blobs.delete(arm.manifestDigest);
  const ghost = `sha256:${"ab".repeat(32)}`;
  await tmp.store.references.set("example.com/ghost:v1", {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: ghost,
    size: 123,
  });
  const report = await verifyStore(tmp.store);
  assertEquals(report.sound, false);
  assertEquals(report.corrupt, []);
  const found = report.missing.map((m) => `${m.digest} ${m.referencedBy}`).sort();
  assertEquals(
    found,
    [
      `${images.small.layers[0].digest} ${images.small.manifestDigest}`,
      `${arm.manifestDigest} ${images.multi.manifestDigest}`,
      `${ghost} example.com/ghost:v1`,
    ].sort(),
  );
});

Deno.test("verifyStore() lists leftovers of interrupted writes without calling the store unsound; repair spares running writers", async () => {
  await using tmp = await pulledStore();
  const content = new TextEncoder().encode("partial content that never finished");
  const digestOf = async (bytes: Uint8Array) =>
    `sha256:${
      Array.from(
        new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("")
    }`;
  // A partial kept for a resume.
  const kept = await tmp.store.blobs.writer({ digest: await digestOf(content), size: content.length });
  await kept.write(content.subarray(0, 10));
  await kept.abort({ keepPartial: true });
  // A temp file of a process that died (PID far above any pid_max).
  const other = await digestOf(new Uint8Array([1, 2, 3]));
  await Deno.writeTextFile(`${tmp.dir}/.tug/tmp/${other.replace(":", "-")}.4194999.dead`, "x");
  // A write in progress in this very process.
  const running = await tmp.store.blobs.writer({ digest: await digestOf(new Uint8Array([9])), size: 1 });

  const report = await verifyStore(tmp.store);
  assertEquals(report.sound, true);
  assertEquals(report.temp.map((t) => `${t.kind}:${t.inUse}`).sort(), [
    "partial:false",
    "tmp:false",
    "tmp:true",
  ]);

  const repaired = await verifyStore(tmp.store, { repair: true });
  assertEquals(repaired.sound, true);
  assertEquals(repaired.removedTemp.length, 2);
  assertEquals(repaired.temp.map((t) => t.inUse), [true]);
  await running.abort();
  assertEquals(await tmp.store.listTemp(), []);
});
