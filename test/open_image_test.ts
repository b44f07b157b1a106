// openImage() against the real docker-registry from the harness and the OCI layout store on disk: the same
// image opened from the registry and from a store it was pulled into gives the same bytes; a layer's
// uncompressed digest is the config's diff_id; a layer served with wrong bytes is refused.
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { openImage } from "../src/open_image/mod.ts";
import { pull } from "../src/pull/pull.ts";
import { digestBytes } from "../src/digest/digest_bytes.ts";
import { TugError } from "../src/errors.ts";
import { OciLayoutStore } from "../adapters/fs/oci_layout_store.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";

const bytesOf = async (stream: ReadableStream<Uint8Array>) =>
  new Uint8Array(await new Response(stream).arrayBuffer());

async function tempStore(): Promise<{ store: OciLayoutStore } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "tug-open-image-" });
  const store = await OciLayoutStore.open(dir);
  return { store, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("openImage() gives the same manifest, config and layer bytes from a real registry and from a pulled OCI layout", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempStore();
  for (const seeded of [images.small, images.zstd]) {
    await pull(seeded.reference, { store: tmp.store, hasher: nodeHasher });
    // No registry URL: reached as a pull reaches 127.0.0.1 (https refused, then http).
    const remote = await openImage({}, seeded.reference);
    const local = await openImage(tmp.store, seeded.reference);
    for (const image of [remote, local]) {
      assertEquals(image.digest, seeded.manifestDigest);
      assertEquals(await image.rawManifest(), seeded.manifestBytes);
      assertEquals(await image.rawConfig(), seeded.config.bytes);
      const layers = await image.layers();
      assertEquals(layers.map((l) => l.digest), seeded.layers.map((l) => l.digest));
      for (const [i, layer] of layers.entries()) {
        assertEquals(layer.diffId, seeded.layers[i].diffId);
        const compressed = await bytesOf(await layer.compressed());
        assertEquals(await digestBytes(compressed), layer.digest);
        assertEquals(compressed.length, layer.size);
        assertEquals(await digestBytes(await bytesOf(await layer.uncompressed())), layer.diffId);
        const paths: string[] = [];
        for await (const file of layer.files()) paths.push(file.name.replace(/\/+$/, ""));
        assertEquals(paths, seeded.layers[i].files.map((f) => f.path));
      }
    }
  }
});

Deno.test("openImage() picks the platform of a real registry's index, the same as from a store that pulled every platform", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempStore();
  const arm = images.multi.images["linux/arm64/v8"];
  // With allPlatforms the store's name points at the index, so the store side picks the platform too.
  await pull(images.multi.reference, { store: tmp.store, allPlatforms: true });
  assertEquals((await tmp.store.references.get(images.multi.reference))?.digest, images.multi.manifestDigest);
  for (const source of [{}, tmp.store]) {
    const image = await openImage(source, images.multi.reference, { platform: "linux/arm64/v8" });
    assertEquals(image.descriptor.digest, images.multi.manifestDigest);
    assertEquals(image.index?.manifests.length, 3);
    assertEquals(image.digest, arm.manifestDigest);
    assertEquals(await image.rawManifest(), arm.manifestBytes);
    assertEquals(await image.rawConfig(), arm.config.bytes);
    const [layer] = await image.layers();
    const names: string[] = [];
    for await (const file of layer.files()) names.push(file.name);
    assert(names.includes("arch.txt"), names.join());
  }
});

Deno.test("Layer.compressed() of a layer a registry serves with wrong bytes errors with DIGEST_MISMATCH", async () => {
  const { registry, images } = await sharedRegistry();
  const target = images.small.layers[0];
  // Between tug and the real registry: the layer's bytes with one byte flipped, same length.
  const tampering = async (request: Request) => {
    const res = await fetch(request);
    if (!new URL(request.url).pathname.endsWith(`/blobs/${target.digest}`) || !res.ok) return res;
    const bytes = new Uint8Array(await res.arrayBuffer());
    bytes[bytes.length >> 1] ^= 0xff;
    return new Response(bytes, { status: res.status, headers: res.headers });
  };
  const image = await openImage({ registry: registry.url, fetch: tampering }, images.small.reference);
  const [layer] = await image.layers();
  const err = await assertRejects(async () => await bytesOf(await layer.compressed()), TugError);
  assertEquals(err.code, "DIGEST_MISMATCH");
  const listing = await assertRejects(async () => {
    for await (const _ of layer.files()) { /* read them all */ }
  }, TugError);
  assert(["DIGEST_MISMATCH", "TAR_INVALID"].includes(listing.code), listing.code);
});
