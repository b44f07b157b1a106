// The pull-through proxy (`tug serve`, its own process) under load: 200 concurrent clients on loopback
// pulling a mix of cached and uncached manifests and blobs, including one 67 MiB layer that is not cached
// yet. Every byte is checked against its digest; the proxy's peak resident memory is read from /proc.
import { assert, assertEquals } from "./_assert.ts";
import { memory, startTugServe } from "./_tug_serve.ts";
import { buildImage, type BuiltImage, pushImage, sharedRegistry } from "./harness/mod.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";

const MiB = 1024 * 1024;
const CLIENTS = 200;
const verbose = Deno.env.get("TUG_TEST_VERBOSE") === "1";

function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

/** GETs `path` from the proxy and checks the body hashes to `digest`; returns the bytes read. */
async function fetchVerified(base: string, path: string, digest: string, accept?: string): Promise<number> {
  const res = await fetch(`${base}${path}`, {
    headers: accept ? { accept } : {},
    signal: AbortSignal.timeout(120_000),
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`GET ${path}: ${res.status}`);
  }
  const hash = await nodeHasher("sha256");
  let bytes = 0;
  for await (const chunk of res.body!) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  const actual = `sha256:${hash.digest()}`;
  if (actual !== digest) throw new Error(`GET ${path}: wrong bytes, hashed to ${actual}, expected ${digest}`);
  return bytes;
}

Deno.test("tug serve answers 200 concurrent clients, cached and uncached: zero wrong bytes, zero errors, bounded memory", async () => {
  const { registry, images } = await sharedRegistry();
  const built: BuiltImage[] = await Promise.all(Array.from({ length: 8 }, (_, n) =>
    buildImage({
      layers: [0, 1].map((l) => ({
        compression: "none" as const,
        entries: [{ path: `load-${n}-${l}`, content: randomBytes(512 * 1024) }],
      })),
      config: { Cmd: [`load-${n}`] },
    })));
  await Promise.all(built.map((image, n) => pushImage(registry, `faults/load${n}`, image, "v1")));

  await using serve = await startTugServe(registry.url, "tug-load-");
  const { server, base } = serve;

  // Each client fetches one image: manifest, config, layers (or the big layer alone).
  type Job = Array<{ path: string; digest: string; accept?: string }>;
  const imageJob = (repo: string, image: BuiltImage): Job => [
    { path: `/v2/${repo}/manifests/v1`, digest: image.manifestDigest, accept: image.manifestMediaType },
    { path: `/v2/${repo}/blobs/${image.config.digest}`, digest: image.config.digest },
    ...image.layers.map((l) => ({ path: `/v2/${repo}/blobs/${l.digest}`, digest: l.digest })),
  ];
  // Half the images are cached before the load starts; the other half and the big layer are not.
  for (let n = 0; n < 4; n++) {
    for (const step of imageJob(`faults/load${n}`, built[n])) {
      await fetchVerified(base, step.path, step.digest, step.accept);
    }
  }
  const large = images.large.layers[0];
  const jobs: Job[] = Array.from(
    { length: CLIENTS },
    (_, i) =>
      i % 20 === 0
        ? [{ path: `/v2/${images.large.repository}/blobs/${large.digest}`, digest: large.digest }]
        : imageJob(`faults/load${i % 8}`, built[i % 8]),
  );

  const before = await memory(server.pid);
  let peakDuring = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakDuring = Math.max(peakDuring, (await memory(server.pid)).now);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const started = performance.now();
  const results = await Promise.allSettled(jobs.map(async (job) => {
    let bytes = 0;
    for (const step of job) bytes += await fetchVerified(base, step.path, step.digest, step.accept);
    return bytes;
  }));
  const elapsed = performance.now() - started;
  sampling = false;
  await sampler;

  const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  assertEquals(failures.map((f) => String(f.reason)), [], "zero errors and zero wrong bytes");
  const total = results.reduce((n, r) => n + (r as PromiseFulfilledResult<number>).value, 0);
  const { peak } = await memory(server.pid);
  if (verbose) {
    console.log(
      `${CLIENTS} clients, ${(total / MiB).toFixed(0)} MiB verified in ${(elapsed / 1000).toFixed(1)} s; ` +
        `proxy RSS peak ${(peak / MiB).toFixed(0)} MiB (sampled during load ${
          (peakDuring / MiB).toFixed(0)
        } MiB; ${(before.now / MiB).toFixed(0)} MiB before the load)`,
    );
  }
  assert(elapsed < 120_000, `the load took ${elapsed} ms`);
  // The 67 MiB layer went to 10 clients at once: a proxy that buffered it per client would need
  // more than 670 MiB. The fill keeps an 8 MiB window (older bytes are read back from the store), so
  // the growth is mostly chunks V8 has not collected yet (it lets ~64 MiB pile up): measured 208–235 MiB
  // peak from ~80 MiB idle (245–277 MiB when a fill kept the whole layer). test/proxy_fill_window_test.ts
  // shows the growth does not follow the blob's size.
  assert(peak < 320 * MiB, `proxy peak RSS ${(peak / MiB).toFixed(0)} MiB`);
});
