// Concurrent pulls: two `tug pull` processes racing into one store, and ten pulls in one process sharing
// one DownloadManager, counted at the fault proxy in front of the real docker-registry.
import { assertEquals } from "./_assert.ts";
import { buildImage, pushImage, sharedRegistry } from "./harness/mod.ts";
import { startFaultProxy } from "./fault_proxy.ts";
import { slowLargeLayer } from "./_slow_layer.ts";
import { pull } from "../src/pull/pull.ts";
import { DownloadManager } from "../src/pull/download_manager.ts";
import { OciLayoutStore } from "../adapters/fs/oci_layout_store.ts";
import { verifyStore } from "../adapters/fs/verify_store.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";

const MiB = 1024 * 1024;
const MAIN = new URL("../adapters/cli/main.ts", import.meta.url).pathname;

function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  // getRandomValues fills at most 64 KiB per call.
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

function tugPull(dir: string, reference: string): Promise<Deno.CommandOutput> {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", MAIN, "pull", "--store", dir, "--quiet", reference],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("two tug pull processes of the same image into the same store both succeed and leave it sound", async () => {
  // Slow enough (about 1.5 s per copy) that the two downloads overlap whatever the start-up times.
  await using slow = await slowLargeLayer(48 * MiB, "tug-race-");
  const { proxy, dir, image, layer, reference } = slow;
  const [a, b] = await Promise.all([tugPull(dir, reference), tugPull(dir, reference)]);
  const decoder = new TextDecoder();
  assertEquals(a.code, 0, decoder.decode(a.stderr));
  assertEquals(b.code, 0, decoder.decode(b.stderr));
  assertEquals(decoder.decode(a.stdout).trim(), reference);
  assertEquals(decoder.decode(b.stdout).trim(), reference);

  // They did race, and the layer was downloaded once: the second pull waited on the blob's lock in the
  // store for the first, then found the blob (adapters/fs/oci_layout/blob_lock.ts), as one Docker daemon
  // shares a layer's download between its clients.
  const gets = proxy.requests(layer.digest);
  assertEquals(gets.length, 1);

  const store = await OciLayoutStore.open(dir, { fsync: false });
  const report = await verifyStore(store);
  assertEquals(report.sound, true);
  assertEquals(report.temp, []);
  const names = (await store.references.list()).map((r) => r.name).sort();
  assertEquals(names, [reference, `${proxy.host}/${image.repository}@${image.manifestDigest}`].sort());
  assertEquals((await store.blobs.stat(layer.digest))?.size, layer.size);
});

Deno.test("ten pulls of different images in one process share one DownloadManager's limit", async () => {
  const { registry } = await sharedRegistry();
  // Ten images of our own (never under tug/), two random 192 KiB layers each.
  const built = await Promise.all(Array.from({ length: 10 }, (_, n) =>
    buildImage({
      layers: [0, 1].map((l) => ({
        compression: "none" as const,
        entries: [{ path: `data-${n}-${l}`, content: randomBytes(192 * 1024) }],
      })),
      config: { Cmd: [`image-${n}`] },
    })));
  await Promise.all(built.map((image, n) => pushImage(registry, `faults/img${n}`, image, "v1")));

  await using proxy = await startFaultProxy({ upstream: registry.url });
  // Each blob takes about 100 ms, so the downloads of the ten pulls overlap as much as the limit lets them.
  proxy.addRule({ match: "/blobs/", fault: { kind: "throttle", bytesPerSecond: 2 * MiB }, times: Infinity });
  const dir = await Deno.makeTempDir({ prefix: "tug-ten-" });
  try {
    const store = await OciLayoutStore.open(dir, { fsync: false });
    const limit = 3;
    const downloads = new DownloadManager({ maxConcurrentDownloads: limit, hasher: nodeHasher });
    const results = await Promise.all(
      built.map((_, n) => pull(`${proxy.host}/faults/img${n}:v1`, { store, downloads, hasher: nodeHasher })),
    );
    results.forEach((r, n) => assertEquals(r.digest, built[n].manifestDigest));

    const blobGets = proxy.requests("/blobs/");
    assertEquals(blobGets.length, 30, "config and two layers of each image, once each");
    assertEquals(proxy.maxConcurrentBlobGets, limit, "never more than the limit, and the limit was used");
    const report = await verifyStore(store);
    assertEquals(report.sound, true);
    assertEquals(report.references, 20);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
