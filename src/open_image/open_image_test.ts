import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { isTugError, TugError } from "../errors.ts";
import { digestBytes } from "../digest/digest_bytes.ts";
import type { Platform } from "../manifest/types.ts";
import { MemoryStore } from "../store/memory_store.ts";
import type { Store } from "../store/types.ts";
import { writeTar } from "../image/write_tar.ts";
import { RegistryClient } from "../registry/registry_client.ts";
import { fakeHosts, type FakeImage, fakeIndex, fakeRegistry } from "../registry/_fake_registry_test_util.ts";
import { openImage } from "./open_image.ts";

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const bytesOf = async (stream: ReadableStream<Uint8Array>) =>
  new Uint8Array(await new Response(stream).arrayBuffer());

interface Built extends FakeImage {
  readonly tar: Uint8Array;
  readonly diffId: string;
  readonly names: string[];
}

/** A one-layer image whose layer is a real tar holding `names` (gzipped unless `gzip` is false). */
async function buildImage(
  names: string[],
  options: { platform?: Platform; gzip?: boolean; padding?: number } = {},
): Promise<Built> {
  const platform = options.platform ?? { os: "linux", architecture: "amd64" };
  const written = await bytesOf(writeTar(names.map((name) => {
    const body = new TextEncoder().encode(`${name}\n`);
    return { name, size: body.length, body };
  })));
  // tar(1) pads archives to whole records; bytes the tar reader never looks at.
  const tar = new Uint8Array(written.length + (options.padding ?? 0));
  tar.set(written);
  const layer = options.gzip === false
    ? tar
    : await bytesOf(new Response(tar).body!.pipeThrough(new CompressionStream("gzip")));
  const diffId = await digestBytes(tar);
  const layerDigest = await digestBytes(layer);
  const config = encode({ ...platform, rootfs: { type: "layers", diff_ids: [diffId] } });
  const configDigest = await digestBytes(config);
  const manifest = encode({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: configDigest,
      size: config.length,
    },
    layers: [{
      mediaType: options.gzip === false
        ? "application/vnd.oci.image.layer.v1.tar"
        : "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: layerDigest,
      size: layer.length,
    }],
  });
  const manifestDigest = await digestBytes(manifest);
  return { manifest, manifestDigest, config, configDigest, layer, layerDigest, tar, diffId, names };
}

async function put(store: Store, bytes: Uint8Array): Promise<string> {
  const digest = await digestBytes(bytes);
  const writer = await store.blobs.writer({ digest, size: bytes.length });
  await writer.write(bytes);
  await writer.commit();
  return digest;
}

async function storeWith(image: Built, name: string): Promise<MemoryStore> {
  const store = new MemoryStore();
  for (const bytes of [image.layer, image.config, image.manifest]) await put(store, bytes);
  await store.references.set(name, {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: image.manifestDigest,
    size: image.manifest.length,
  });
  return store;
}

const REG = "https://reg.test";

Deno.test("openImage() from a store reads the manifest, config and layer, compressed, uncompressed and as files", async () => {
  const image = await buildImage(["etc/", "etc/hostname", "bin/sh"]);
  const store = await storeWith(image, "reg.test/team/app:v1");
  const opened = await openImage(store, "reg.test/team/app:v1");
  assertEquals(opened.digest, image.manifestDigest);
  assertEquals(opened.descriptor.digest, image.manifestDigest);
  assertEquals(opened.index, undefined);
  assertEquals(await opened.rawManifest(), image.manifest);
  assertEquals(await opened.manifest(), JSON.parse(new TextDecoder().decode(image.manifest)));
  (await opened.manifest()).layers.length = 0; // a copy: the image's own manifest stays as it was
  assertEquals(await opened.rawConfig(), image.config);
  assertEquals((await opened.config()).rootfs?.diff_ids, [image.diffId]);
  const [layer, ...rest] = await opened.layers();
  assertEquals(rest.length, 0);
  assertEquals(layer.digest, image.layerDigest);
  assertEquals(layer.size, image.layer.length);
  assertEquals(layer.diffId, image.diffId);
  assertEquals(await bytesOf(await layer.compressed()), image.layer);
  const tar = await bytesOf(await layer.uncompressed());
  assertEquals(await digestBytes(tar), layer.diffId);
  const names: string[] = [];
  for await (const file of layer.files()) names.push(file.name);
  assertEquals(names, image.names);
});

Deno.test("openImage() from a store opens a reference by digest it holds no name for, and refuses an unknown name", async () => {
  const image = await buildImage(["a"]);
  const store = await storeWith(image, "reg.test/team/app:v1");
  const opened = await openImage(store, `reg.test/team/app@${image.manifestDigest}`);
  assertEquals(opened.digest, image.manifestDigest);
  assertEquals((await opened.layers())[0].diffId, image.diffId);
  const err = await assertRejects(() => openImage(store, "reg.test/team/app:v2"), TugError);
  assertEquals(err.code, "NOT_FOUND");
});

Deno.test("openImage() from a store refuses a blob the store holds wrong bytes for", async () => {
  const image = await buildImage(["a"]);
  const inner = await storeWith(image, "reg.test/team/app:v1");
  const wrong = image.layer.slice();
  wrong[wrong.length - 1] ^= 0xff;
  const store: Store = {
    references: inner.references,
    blobs: Object.assign(Object.create(inner.blobs), {
      get: (digest: string) =>
        digest === image.layerDigest ? Promise.resolve(new Response(wrong).body!) : inner.blobs.get(digest),
    }),
  };
  const [layer] = await (await openImage(store, "reg.test/team/app:v1")).layers();
  const err = await assertRejects(async () => await bytesOf(await layer.compressed()), TugError);
  assertEquals(err.code, "DIGEST_MISMATCH");
});

Deno.test("openImage() from a registry reads the same bytes as from a store, by tag and by digest", async () => {
  const image = await buildImage(["etc/", "etc/os-release"]);
  const registry = fakeRegistry({ "team/app": image }, { apiVersion: "registry/2.0" });
  const fetch = fakeHosts({ [REG]: registry.fetch }).fetch;
  for (const reference of ["reg.test/team/app:v1", `reg.test/team/app@${image.manifestDigest}`]) {
    const opened = await openImage({ fetch }, reference);
    assertEquals(opened.digest, image.manifestDigest);
    assertEquals(await opened.rawManifest(), image.manifest);
    assertEquals(await opened.rawConfig(), image.config);
    const [layer] = await opened.layers();
    assertEquals(layer.diffId, image.diffId);
    assertEquals(await bytesOf(await layer.compressed()), image.layer);
    assertEquals(await digestBytes(await bytesOf(await layer.uncompressed())), image.diffId);
    const names: string[] = [];
    for await (const file of layer.files()) names.push(file.name);
    assertEquals(names, image.names);
  }
  // A client for the repository works the same; one for another repository is refused.
  const client = new RegistryClient({ registry: REG, repository: "team/app", fetch });
  assertEquals((await openImage(client, "reg.test/team/app:v1")).digest, image.manifestDigest);
  await assertRejects(() => openImage(client, "reg.test/team/other:v1"), TypeError);
});

Deno.test("openImage() without a registry URL reaches a loopback registry over http when https is refused", async () => {
  const image = await buildImage(["a"]);
  const hosts = fakeHosts({ "http://127.0.0.1:5000": fakeRegistry({ "team/app": image }).fetch });
  const opened = await openImage({ fetch: hosts.fetch }, "127.0.0.1:5000/team/app:v1");
  assertEquals(opened.digest, image.manifestDigest);
  assertEquals(hosts.seen[0], "https://127.0.0.1:5000");
  assertEquals(hosts.seen.at(-1), "http://127.0.0.1:5000");
});

Deno.test("openImage() resolves an index to the asked platform, from a registry and from a store", async () => {
  const amd64 = await buildImage(["amd64"], { platform: { os: "linux", architecture: "amd64" } });
  const arm64 = await buildImage(["arm64"], {
    platform: { os: "linux", architecture: "arm64", variant: "v8" },
  });
  const index = await fakeIndex([
    { image: amd64, platform: { os: "linux", architecture: "amd64" } },
    { image: arm64, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
  ]);
  const fetch = fakeHosts({ [REG]: fakeRegistry({ "team/multi": index }).fetch }).fetch;
  const remote = await openImage({ fetch }, "reg.test/team/multi:v1", { platform: "linux/arm64" });
  assertEquals(remote.descriptor.digest, index.manifestDigest);
  assertEquals(remote.index?.manifests.length, 2);
  assertEquals(remote.digest, arm64.manifestDigest);
  assertEquals(await remote.rawManifest(), arm64.manifest);
  assertEquals((await remote.config()).architecture, "arm64");
  const defaulted = await openImage({ fetch }, "reg.test/team/multi:v1");
  assertEquals(defaulted.digest, amd64.manifestDigest);
  const missing = await assertRejects(
    () => openImage({ fetch }, "reg.test/team/multi:v1", { platform: "linux/s390x" }),
    TugError,
  );
  assertEquals(missing.code, "PLATFORM_NOT_FOUND");

  const store = await storeWith(arm64, "reg.test/team/multi:v1");
  await put(store, amd64.manifest);
  await put(store, index.manifest);
  await store.references.set("reg.test/team/multi:v1", {
    mediaType: "application/vnd.oci.image.index.v1+json",
    digest: index.manifestDigest,
    size: index.manifest.length,
  });
  const local = await openImage(store, "reg.test/team/multi:v1", { platform: "linux/arm64/v8" });
  assertEquals(local.digest, arm64.manifestDigest);
  const names: string[] = [];
  for await (const file of (await local.layers())[0].files()) names.push(file.name);
  assertEquals(names, ["arm64"]);
});

Deno.test("openImage() refuses a manifest a registry serves with the wrong bytes for its digest", async () => {
  const image = await buildImage(["a"]);
  const registry = fakeRegistry({ "team/app": image }, {
    intercept: (request) =>
      new URL(request.url).pathname.includes("/manifests/")
        ? new Response(new TextEncoder().encode(new TextDecoder().decode(image.manifest) + " "), {
          headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
        })
        : undefined,
  });
  const fetch = fakeHosts({ [REG]: registry.fetch }).fetch;
  const err = await assertRejects(
    () => openImage({ fetch }, `reg.test/team/app@${image.manifestDigest}`),
    TugError,
  );
  assertEquals(err.code, "DIGEST_MISMATCH");
});

/** A registry that serves `wrong` for `image`'s layer blob. */
function tamperedRegistry(image: Built, wrong: Uint8Array) {
  return fakeRegistry({ "team/app": image }, {
    intercept: (request) =>
      new URL(request.url).pathname.endsWith(`/blobs/${image.layerDigest}`)
        ? new Response(wrong as Uint8Array<ArrayBuffer>)
        : undefined,
  });
}

Deno.test("Layer.compressed(), uncompressed() and files() error with DIGEST_MISMATCH for a layer served with wrong bytes", async () => {
  const image = await buildImage(["etc/", "etc/passwd"]);
  const wrong = image.layer.slice();
  wrong[wrong.length - 1] ^= 0xff; // the gzip trailer's size: the tar itself still reads
  const fetch = fakeHosts({ [REG]: tamperedRegistry(image, wrong).fetch }).fetch;
  const [layer] = await (await openImage({ fetch }, "reg.test/team/app:v1")).layers();
  const compressed = await assertRejects(async () => await bytesOf(await layer.compressed()), TugError);
  assertEquals(compressed.code, "DIGEST_MISMATCH");
  const uncompressed = await assertRejects(async () => await bytesOf(await layer.uncompressed()), Error);
  assert(isTugError(uncompressed), String(uncompressed));
  const files = await assertRejects(async () => {
    for await (const _ of layer.files()) { /* read them all */ }
  }, Error);
  assert(isTugError(files, "DIGEST_MISMATCH", "TAR_INVALID"), String(files));
});

Deno.test("Layer.files() reads past the end-of-archive blocks and refuses a layer whose padding was changed", async () => {
  const image = await buildImage(["a", "b"], { gzip: false, padding: 4096 });
  const wrong = image.layer.slice();
  wrong[wrong.length - 1] = 1; // after the end-of-archive blocks: the tar reader never looks at it
  const fetch = fakeHosts({ [REG]: tamperedRegistry(image, wrong).fetch }).fetch;
  const [layer] = await (await openImage({ fetch }, "reg.test/team/app:v1")).layers();
  const names: string[] = [];
  const err = await assertRejects(async () => {
    for await (const file of layer.files()) names.push(file.name);
  }, TugError);
  assertEquals(err.code, "DIGEST_MISMATCH");
  assertEquals(names, ["a", "b"]);
  // Too many bytes: SIZE_MISMATCH at the first byte past the descriptor's size.
  const longer = new Uint8Array(image.layer.length + 1);
  longer.set(image.layer);
  const fetch2 = fakeHosts({ [REG]: tamperedRegistry(image, longer).fetch }).fetch;
  const [layer2] = await (await openImage({ fetch: fetch2 }, "reg.test/team/app:v1")).layers();
  const long = await assertRejects(async () => {
    for await (const _ of layer2.files()) { /* read them all */ }
  }, TugError);
  assertEquals(long.code, "SIZE_MISMATCH");
});
