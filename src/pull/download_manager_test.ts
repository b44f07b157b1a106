import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import type { Descriptor } from "../manifest/types.ts";
import { RegistryClient } from "../registry/registry_client.ts";
import { type FakeImage, fakeImage, fakeIndex, fakeRegistry } from "../registry/_fake_registry_test_util.ts";
import { MemoryStore } from "../store/memory_store.ts";
import { DownloadManager } from "./download_manager.ts";
import type { ProgressEvent } from "./events.ts";

const layerOf = (image: FakeImage): Descriptor => ({
  mediaType: "application/vnd.oci.image.layer.v1.tar",
  digest: image.layerDigest,
  size: image.layer.length,
});

/** A registry whose blob answers each take `delayMs`, counting how many are asked at once. */
async function slowRegistry(images: FakeImage[], delayMs: number) {
  const index = await fakeIndex(
    images.map((image) => ({ image, platform: { os: "linux", architecture: "amd64" } })),
  );
  const load = { active: 0, max: 0 };
  const registry = fakeRegistry({ "team/app": index }, {
    intercept: async (request) => {
      if (!request.url.includes("/blobs/")) return undefined;
      load.active++;
      load.max = Math.max(load.max, load.active);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      load.active--;
      return undefined;
    },
  });
  const client = new RegistryClient({
    registry: "https://reg.test",
    repository: "team/app",
    fetch: registry.fetch,
    retry: { attempts: 1 },
  });
  return { registry, client, load };
}

Deno.test("DownloadManager.download() shares one download among concurrent callers of the same blob and store", async () => {
  const image = await fakeImage(5000, 1);
  const { registry, client } = await slowRegistry([image], 30);
  const downloads = new DownloadManager();
  const store = new MemoryStore();
  const progress: ProgressEvent[][] = [[], [], []];
  const outcomes = await Promise.all(
    progress.map((events) =>
      downloads.download(client, store.blobs, layerOf(image), { onProgress: (e) => events.push(e) })
    ),
  );
  assertEquals(outcomes, ["downloaded", "downloaded", "downloaded"]);
  const gets = () => registry.requests.filter((r) => r.endsWith(image.layerDigest)).length;
  assertEquals(gets(), 1);
  // Every caller sees the download complete.
  for (const events of progress) assert(events.some((e) => e.status === "Download complete"));
  assertEquals(
    new Uint8Array(await new Response(await store.blobs.get(image.layerDigest)).arrayBuffer()),
    image.layer,
  );
  // Once in, the blob "exists" without a request; another store downloads it again (dedupe is per store).
  assertEquals(await downloads.download(client, store.blobs, layerOf(image)), "exists");
  assertEquals(gets(), 1);
  assertEquals(await downloads.download(client, new MemoryStore().blobs, layerOf(image)), "downloaded");
  assertEquals(gets(), 2);
});

Deno.test("DownloadManager.download() keeps to maxConcurrentDownloads, and those waiting say 'Waiting'", async () => {
  const images = await Promise.all([1, 2, 3, 4, 5].map((fill) => fakeImage(2000, fill)));
  const { client, load } = await slowRegistry(images, 40);
  const downloads = new DownloadManager({ maxConcurrentDownloads: 2 });
  const store = new MemoryStore();
  const events: ProgressEvent[] = [];
  const outcomes = await Promise.all(
    images.map((image) =>
      downloads.download(client, store.blobs, layerOf(image), { onProgress: (e) => events.push(e) })
    ),
  );
  assertEquals(outcomes, ["downloaded", "downloaded", "downloaded", "downloaded", "downloaded"]);
  assertEquals(load.max, 2);
  assertEquals(events.filter((e) => e.status === "Waiting").length, 3);
  for (const image of images) {
    assertEquals((await store.blobs.stat(image.layerDigest))?.size, image.layer.length);
  }
});

Deno.test("DownloadManager.download() starts layers in the order asked, however slowly the store answers for each", async () => {
  const images = await Promise.all([1, 2, 3].map((fill) => fakeImage(2000, fill)));
  const { client } = await slowRegistry(images, 5);
  const downloads = new DownloadManager({ maxConcurrentDownloads: 1 });
  const store = new MemoryStore();
  // The store's lookup for the first layer answers last.
  const delays = new Map(images.map((image, i) => [image.layerDigest, [30, 10, 0][i]]));
  const slowStat = async (digest: string) => {
    await new Promise((resolve) => setTimeout(resolve, delays.get(digest) ?? 0));
    return store.blobs.stat(digest);
  };
  const blobs = new Proxy(store.blobs, {
    get: (target, name) => {
      if (name === "stat") return slowStat;
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const events: ProgressEvent[] = [];
  await Promise.all(
    images.map((image) =>
      downloads.download(client, blobs, layerOf(image), { onProgress: (e) => events.push(e) })
    ),
  );
  const firstDownloading = events.find((e) =>
    e.status === "Downloading" || e.status === "Verifying Checksum"
  );
  assertEquals(firstDownloading?.digest, images[0].layerDigest);
  assertEquals(
    events.filter((e) => e.status === "Waiting").map((e) => e.digest).sort(),
    [images[1].layerDigest, images[2].layerDigest].sort(),
  );
});

Deno.test("DownloadManager.download() commits nothing when the bytes do not hash to the digest", async () => {
  const image = await fakeImage(1000, 6);
  const registry = fakeRegistry({ "team/app": image }, {
    intercept: (r) =>
      r.url.endsWith(image.layerDigest)
        ? new Response(new Uint8Array(image.layer.length).fill(0), {
          headers: { "content-length": String(image.layer.length) },
        })
        : undefined,
  });
  const client = new RegistryClient({
    registry: "https://reg.test",
    repository: "team/app",
    fetch: registry.fetch,
    retry: { attempts: 1 },
  });
  const store = new MemoryStore();
  const err = await assertRejects(
    () => new DownloadManager().download(client, store.blobs, layerOf(image)),
    TugError,
  );
  assertEquals(err.code, "DIGEST_MISMATCH");
  assertEquals(await store.blobs.stat(image.layerDigest), undefined);
});

Deno.test("DownloadManager retries a layer 5 times by default, counting down Docker's 5, 10, 15 and 20 s waits", async () => {
  const sleeps: number[] = [];
  const downloads = new DownloadManager({ sleep: (ms) => (sleeps.push(ms), Promise.resolve()) });
  let gets = 0;
  const refused = {
    getBlob: () => (gets++, Promise.reject(new TypeError("connection refused"))),
  };
  const digest = `sha256:${"ab".repeat(32)}`;
  const events: ProgressEvent[] = [];
  const err = await assertRejects(
    () =>
      downloads.download(refused, new MemoryStore().blobs, { mediaType: "x", digest, size: 10 }, {
        onProgress: (e) => events.push(e),
      }),
    TugError,
  );
  assertEquals(gets, 5);
  const expected = [5, 10, 15, 20].flatMap((from) => Array.from({ length: from }, (_, i) => from - i));
  assertEquals(
    events.map((e) => e.status),
    expected.map((n) => `Retrying in ${n} second${n === 1 ? "" : "s"}`),
  );
  assert(events.every((e) => e.type === "retry" && e.id === "abababababab" && e.digest === digest));
  assertEquals(sleeps, expected.map(() => 1000));
  assertEquals(
    err.message,
    `Cannot download blob ${digest}: connection refused (gave up after 5 attempts, at byte 0 of 10)`,
  );
});
