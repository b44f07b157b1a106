// pull()'s progress and layer retries as Docker 1.13 shows them (moby distribution/pull_v2.go,
// distribution/xfer/download.go), against the harness's real docker-registry, with the fault proxy in
// front of it for the outages. No test waits real seconds: the retry sleep advances a fake clock.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { buildImage, pushImage, sharedRegistry } from "./harness/mod.ts";
import { startFaultProxy } from "./fault_proxy.ts";
import { pull } from "../src/pull/pull.ts";
import type { ProgressEvent } from "../src/pull/events.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { TugError } from "../src/errors.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";

const short = (digest: string) => digest.slice(7, 19);

/** An image of `count` small layers pushed to the shared registry as `tug/layers<count>:v1`. */
async function layeredImage(count: number) {
  const { registry } = await sharedRegistry();
  const layers = Array.from({ length: count }, (_, i) => ({
    entries: [{ path: `f${i}.txt`, content: `layer ${i} of ${count}\n`.repeat(100 + i) }],
  }));
  const image = await buildImage({ layers });
  const repository = `tug/layers${count}`;
  await pushImage(registry, repository, image, "v1");
  return { reference: `${registry.host}/${repository}:v1`, image, registry };
}

/** A clock that only the injected sleep moves: a retry "waits" without time passing. */
function fakeClock() {
  const clock = { now: 0, sleeps: [] as number[] };
  const sleep = (ms: number) => {
    clock.sleeps.push(ms);
    clock.now += ms;
    return Promise.resolve();
  };
  return { clock, sleep };
}

Deno.test("pull() starts 3 layers at once with the default limit: the config takes no download slot", async () => {
  for (const count of [3, 4]) {
    const { reference, image } = await layeredImage(count);
    const events: ProgressEvent[] = [];
    await pull(reference, {
      store: new MemoryStore(),
      hasher: nodeHasher,
      onProgress: (e) => events.push(e),
    });
    const layerIds = image.layers.map((l) => short(l.digest));
    // Docker queues layers in manifest order: only a 4th layer waits for one of the 3 slots.
    const waiting = events.filter((e) => e.status === "Waiting").map((e) => e.id);
    assertEquals(waiting, count === 3 ? [] : [layerIds[3]], `${count} layers: ${JSON.stringify(events)}`);
  }
});

Deno.test("pull() of an image whose config is stored prints no layer lines, only Digest and Status", async () => {
  const { images } = await sharedRegistry();
  const image = images.small;
  const store = new MemoryStore();
  await pull(image.reference, { store, hasher: nodeHasher });
  const events: ProgressEvent[] = [];
  await pull(image.reference, { store, hasher: nodeHasher, onProgress: (e) => events.push(e) });
  assertEquals(events.map((e) => [e.type, e.status]), [
    ["pulling-from", `Pulling from ${image.repository}`],
    ["digest", `Digest: ${image.manifestDigest}`],
    ["status", `Status: Image is up to date for ${image.reference}`],
  ]);
});

Deno.test("pull() outlasts a 45 s outage of a layer's registry with Docker's 5, 10, 15 and 20 s countdowns", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = await startFaultProxy({ upstream: registry.url });
  const image = images.small;
  const layer = image.layers[0];
  const { clock, sleep } = fakeClock();
  // The registry refuses the layer (503) until 45 s of (fake) time have passed.
  proxy.addRule({
    match: (r) => r.path.includes(layer.digest) && clock.now < 45_000,
    fault: { kind: "status", status: 503 },
    times: Infinity,
  });
  const events: ProgressEvent[] = [];
  const result = await pull(`${proxy.host}/${image.repository}:${image.tag}`, {
    store: new MemoryStore(),
    hasher: nodeHasher,
    retry: { sleep },
    onProgress: (e) => events.push(e),
  });
  assertEquals(result.digest, image.manifestDigest);
  // 4 refused attempts, then the 5th got the layer: one request each (the transport does not retry blobs).
  assertEquals(proxy.requests(layer.digest).map((r) => r.status), [503, 503, 503, 503, 200]);
  const countdown = (from: number) => Array.from({ length: from }, (_, i) => from - i);
  const expected = [5, 10, 15, 20].flatMap(countdown).map((n) =>
    `Retrying in ${n} second${n === 1 ? "" : "s"}`
  );
  const retries = events.filter((e) => e.type === "retry");
  assertEquals(retries.map((e) => e.status), expected);
  assert(retries.every((e) => e.id === short(layer.digest) && e.digest === layer.digest));
  // Each line of the countdown is one second.
  assertEquals(clock.sleeps, Array(50).fill(1000));
});

Deno.test("pull() gives up on a layer after 5 attempts with an error naming the blob; maxDownloadAttempts changes it", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = await startFaultProxy({ upstream: registry.url });
  const image = images.small;
  const layer = image.layers[0];
  proxy.addRule({ match: layer.digest, fault: { kind: "status", status: 503 }, times: Infinity });
  for (const [attempts, waited] of [[undefined, 50_000], [2, 5_000]] as const) {
    proxy.reset();
    const { clock, sleep } = fakeClock();
    const store = new MemoryStore();
    const err = await assertRejects(
      () =>
        pull(`${proxy.host}/${image.repository}:${image.tag}`, {
          store,
          hasher: nodeHasher,
          retry: { sleep },
          ...(attempts !== undefined ? { maxDownloadAttempts: attempts } : {}),
        }),
      TugError,
    );
    const n = attempts ?? 5;
    assertStringIncludes(err.message, `Cannot download blob ${layer.digest}: `);
    assertStringIncludes(err.message, `(gave up after ${n} attempts`);
    assertEquals(proxy.requests(layer.digest).length, n);
    assertEquals(clock.now, waited);
    assertEquals(await store.references.list(), []);
  }
});

Deno.test("pull() restarts a layer from zero once when its resumed download fails the digest check", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = await startFaultProxy({ upstream: registry.url });
  const image = images.zstd;
  const layer = image.layers[0];
  const cut = Math.floor(layer.size / 2);
  // The first answer breaks mid-body; the resumed one (with Range) carries a flipped byte.
  proxy.addRule({ match: layer.digest, fault: { kind: "reset", afterBytes: cut } });
  proxy.addRule({
    match: (r) => r.path.includes(layer.digest) && r.headers.has("range"),
    fault: { kind: "flip", atByte: 1 },
  });
  const { sleep } = fakeClock();
  const store = new MemoryStore();
  const result = await pull(`${proxy.host}/${image.repository}:${image.tag}`, {
    store,
    hasher: nodeHasher,
    retry: { sleep },
  });
  assertEquals(result.digest, image.manifestDigest);
  assertEquals(proxy.requests(layer.digest).map((r) => r.rangeStart), [0, cut, 0]);
  assertEquals((await store.blobs.stat(layer.digest))?.size, layer.size);
});
