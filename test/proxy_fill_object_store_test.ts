// The proxy's fill over a store that declares it cannot read a blob back while it is written (an object
// store such as S3 or R2 keeps only committed blobs): the fill still keeps only its window in memory, and
// clients that fall behind it are served from the committed (verified) blob.
import { assert, assertEquals } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { countRequests, startProxy, waitForBlob } from "./_proxy_helpers.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";
import { FILL_WINDOW } from "../src/proxy/_blob_fill.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import type { BlobWriter, Store } from "../src/store/types.ts";

const MiB = 1024 * 1024;

/** A MemoryStore that behaves as an object store: no read-back of a write, no resume, declared so. */
function objectStore(): Store {
  const inner = new MemoryStore();
  return {
    ...inner,
    references: inner.references,
    capabilities: { resume: false, readWhileWriting: false },
    blobs: {
      stat: (d) => inner.blobs.stat(d),
      get: (d, r) => inner.blobs.get(d, r),
      delete: (d) => inner.blobs.delete(d),
      list: () => inner.blobs.list(),
      writer: async (expected) => {
        const w = await inner.blobs.writer(expected);
        const writer: BlobWriter = {
          offset: 0,
          readPartial: () => w.readPartial(),
          write: (c) => w.write(c),
          commit: () => w.commit(),
          abort: () => w.abort(),
        };
        return writer;
      },
    },
  };
}

/** Reads a body, hashing as it goes; returns the digest and the byte count. */
async function hashBody(body: ReadableStream<Uint8Array>): Promise<{ digest: string; bytes: number }> {
  const hash = await nodeHasher("sha256");
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { digest: `sha256:${hash.digest()}`, bytes };
}

async function heldPeak(proxyUrl: string): Promise<number> {
  const text = await (await fetch(`${proxyUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("tug_proxy_fill_held_bytes_peak "));
  assert(line !== undefined, "the metrics name the fill's held bytes");
  return Number(line.split(" ")[1]);
}

Deno.test("BlobFill over a store with readWhileWriting: false keeps its window for 10 clients and a slow one, which reads the committed blob", async () => {
  const { registry, images } = await sharedRegistry();
  const layer = images.large.layers[0];
  assert(layer.size > 4 * FILL_WINDOW, `the fixture (${layer.size} bytes) is far larger than the window`);
  const store = objectStore();
  await using proxy = await startProxy({ upstreams: { up: registry.url }, store });
  const url = `${proxy.url}/v2/${images.large.repository}/blobs/${layer.digest}`;
  const before = await registry.accessLog();

  // The slow client asks first (it starts the fill), then reads one chunk per 20 ms.
  const slow = await fetch(url);
  assertEquals(slow.status, 200);
  let fastDone = false;
  const fast = Promise.all(Array.from({ length: 10 }, async () => {
    const res = await fetch(url);
    assertEquals(res.status, 200);
    return await hashBody(res.body!);
  })).finally(() => fastDone = true);
  const hash = await nodeHasher("sha256");
  const reader = slow.body!.getReader();
  let slowBytes = 0;
  for (let reads = 0; !fastDone && reads < 1500; reads++) {
    const { done, value } = await reader.read();
    if (done) break;
    hash.update(value);
    slowBytes += value.byteLength;
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const r of await fast) assertEquals(r, { digest: layer.digest, bytes: layer.size });
  assert(slowBytes < layer.size / 2, `the slow client fell behind the window (read ${slowBytes} bytes)`);
  // The rest: the fill is over, its window long past; these bytes come from the committed blob.
  for (let i = 0; i < 100_000; i++) {
    const { done, value } = await reader.read();
    if (done) break;
    hash.update(value);
    slowBytes += value.byteLength;
  }
  assertEquals({ digest: `sha256:${hash.digest()}`, bytes: slowBytes }, {
    digest: layer.digest,
    bytes: layer.size,
  });

  const log = (await registry.accessLog()).slice(before.length);
  assertEquals(countRequests(log, "GET", `/blobs/${layer.digest}`), 1, "one upstream GET for 11 clients");
  assertEquals(await waitForBlob(proxy.store, layer.digest), layer.size);
  // Bounded: the window plus the chunk held back until verified (a read from the upstream socket is far
  // below 1 MiB). A fill that kept the blob holds all 64 MiB.
  const peak = await heldPeak(proxy.url);
  assert(peak > 0 && peak <= FILL_WINDOW + MiB, `the fill held ${peak} bytes at once`);
});
