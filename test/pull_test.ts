// pull() and the OCI layout store against the real docker-registry from the harness.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { pull } from "../src/pull/pull.ts";
import type { ProgressEvent } from "../src/pull/events.ts";
import { OciLayoutStore } from "../adapters/fs/oci_layout_store.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { TugError } from "../src/errors.ts";

async function tempStore(): Promise<{ store: OciLayoutStore; dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "tug-pull-" });
  const store = await OciLayoutStore.open(dir);
  return { store, dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

async function readBlob(store: OciLayoutStore | MemoryStore, digest: string): Promise<Uint8Array> {
  return new Uint8Array(await new Response(await store.blobs.get(digest)).arrayBuffer());
}

Deno.test("pull() stores each seeded single-platform image, verified, in an OCI layout", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempStore();
  for (const image of [images.small, images.large, images.zstd]) {
    const events: ProgressEvent[] = [];
    const result = await pull(image.reference, {
      store: tmp.store,
      hasher: nodeHasher,
      onProgress: (e) => events.push(e),
    });
    assertEquals(result.digest, image.manifestDigest);
    assertEquals(result.status, `Downloaded newer image for ${image.reference}`);
    assertEquals(await readBlob(tmp.store, image.manifestDigest), image.manifestBytes);
    assertEquals(await readBlob(tmp.store, image.config.digest), image.config.bytes);
    for (const layer of image.layers) {
      assertEquals((await tmp.store.blobs.stat(layer.digest))?.size, layer.size);
      const ids = events.filter((e) => e.digest === layer.digest).map((e) => e.status);
      assert(
        ids.includes("Pulling fs layer") && ids.includes("Download complete"),
        `events for ${layer.digest}`,
      );
    }
    const ref = await tmp.store.references.get(image.reference);
    assertEquals(ref?.digest, image.manifestDigest);
    assertEquals(events.at(-1)?.status, `Status: Downloaded newer image for ${image.reference}`);
    assertEquals(events.at(-2)?.status, `Digest: ${image.manifestDigest}`);
  }
  // Nothing left behind in the temp area.
  assertEquals((await tmp.store.listTemp()).length, 0);
});

Deno.test("pull() a second time prints no layer line; layers stored under a new config say Already exists", async () => {
  const { images } = await sharedRegistry();
  const store = new MemoryStore();
  await pull(images.small.reference, { store });
  const events: ProgressEvent[] = [];
  const again = await pull(images.small.reference, { store, onProgress: (e) => events.push(e) });
  assertEquals(again.status, `Image is up to date for ${images.small.reference}`);
  assertEquals(again.downloaded, false);
  // pull_v2.go pullSchema2: the image is stored, so no layer is looked at.
  assertEquals(events.filter((e) => e.type === "layer"), []);
  // Without the config, the image is not stored: its layers are, and say so.
  await store.blobs.delete(images.small.config.digest);
  events.length = 0;
  await pull(images.small.reference, { store, onProgress: (e) => events.push(e) });
  const layerStatuses = events.filter((e) => e.type === "layer").map((e) => e.status);
  assertEquals(layerStatuses, images.small.layers.map(() => "Already exists"));
});

Deno.test("pull() picks linux/arm64/v8 from an index, or keeps every platform with allPlatforms", async () => {
  const { images } = await sharedRegistry();
  const multi = images.multi;
  const arm = multi.images["linux/arm64/v8"];
  const store = new MemoryStore();
  const one = await pull(multi.reference, { store, platform: "linux/arm64" });
  assertEquals(one.digest, multi.manifestDigest);
  assertEquals(one.images.length, 1);
  assertEquals(one.images[0].descriptor.digest, arm.manifestDigest);
  assertEquals((await store.references.get(multi.reference))?.digest, arm.manifestDigest);
  assertEquals(await store.blobs.stat(multi.images["linux/amd64"].config.digest), undefined);

  const all = new MemoryStore();
  const every = await pull(multi.reference, { store: all, allPlatforms: true });
  assertEquals((await all.references.get(multi.reference))?.digest, multi.manifestDigest);
  assertEquals(await readBlob(all, multi.manifestDigest), multi.manifestBytes);
  for (const image of Object.values(multi.images)) {
    assertEquals(await readBlob(all, image.manifestDigest), image.manifestBytes);
    assertEquals(await readBlob(all, image.config.digest), image.config.bytes);
  }
  assert(every.images.length >= 2);
});

Deno.test("pull() by digest stores the digest reference; an unknown platform lists the available ones", async () => {
  const { images, registry } = await sharedRegistry();
  const store = new MemoryStore();
  const byDigest = `${registry.host}/${images.small.repository}@${images.small.manifestDigest}`;
  const result = await pull(byDigest, { store });
  assertEquals(result.digest, images.small.manifestDigest);
  assertEquals((await store.references.get(byDigest))?.digest, images.small.manifestDigest);
  const err = await assertRejects(
    () => pull(images.multi.reference, { store, platform: "linux/s390x" }),
    TugError,
    { code: "PLATFORM_NOT_FOUND" },
  );
  assertStringIncludes(err.message, "linux/amd64");
  assertStringIncludes(err.message, "linux/arm64/v8");
});

Deno.test("pull() of a missing tag fails with Docker's message and stores nothing", async () => {
  const { registry } = await sharedRegistry();
  const store = new MemoryStore();
  const err = await assertRejects(() => pull(`${registry.host}/tug/small:nope`, { store }), TugError, {
    code: "MANIFEST_UNKNOWN",
  });
  assertEquals(err.message, `manifest for ${registry.host}/tug/small:nope not found`);
  assertEquals((await store.references.list()).length, 0);
});
