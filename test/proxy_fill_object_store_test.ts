// The proxy's fill over a store that declares it cannot read a blob back while it is written (an object
// store such as S3 or R2 keeps only committed blobs): the fill paces the upstream to its slowest client,
// so it keeps only its window in memory and every client streams the blob from it.
import { assert, assertEquals } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { countRequests, startProxy, waitForBlob } from "./_proxy_helpers.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";
import { FILL_WINDOW } from "../src/proxy/_blob_fill.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import type { BlobWriter, Store } from "../src/store/types.ts";

const MiB = 1024 * 1024;

/**
 * A MemoryStore that behaves as an object store: no read-back of a write, no resume, declared so; its blob
 * reads counted.
 */
function objectStore(): { store: Store; counts: { gets: number } } {
  const inner = new MemoryStore();
  const counts = { gets: 0 };
  const store: Store = {
    ...inner,
    references: inner.references,
    capabilities: { resume: false, readWhileWriting: false },
    blobs: {
      stat: (d) => inner.blobs.stat(d),
      get: (d, r) => {
        counts.gets++;
        return inner.blobs.get(d, r);
      },
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
  return { store, counts };
}

/** `body`, whose first byte waits for `gate`. */
function gated(body: ReadableStream<Uint8Array>, gate: Promise<void>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      await gate;
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
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

Deno.test("BlobFill over a store with readWhileWriting: false paces 10 clients to a slow one: all stream the blob from the fill, with one upstream GET, no read of the store, and only the window held", async () => {
  const { registry, images } = await sharedRegistry();
  const layer = images.large.layers[0];
  assert(layer.size > 4 * FILL_WINDOW, `the fixture (${layer.size} bytes) is far larger than the window`);
  const { store, counts } = objectStore();
  // The upstream blob's bytes wait until every client got its headers (so each one joined the fill at
  // byte 0: a client that comes after the window left it is sent upstream, see proxy.md).
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  await using proxy = await startProxy({
    upstreams: { up: registry.url },
    store,
    fetch: async (request) => {
      const response = await fetch(request);
      if (!request.url.includes(`/blobs/${layer.digest}`) || response.body === null) return response;
      return new Response(gated(response.body, gate), {
        status: response.status,
        headers: response.headers,
      });
    },
  });
  const url = `${proxy.url}/v2/${images.large.repository}/blobs/${layer.digest}`;
  const before = await registry.accessLog();

  // The slow client asks first (it starts the fill), then waits a macrotask after every read.
  const slow = await fetch(url);
  assertEquals(slow.status, 200);
  const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(url)));
  open();
  const fast = Promise.all(answers.map(async (res) => {
    assertEquals(res.status, 200);
    return await hashBody(res.body!);
  }));
  const hash = await nodeHasher("sha256");
  let slowBytes = 0;
  // Bounded: the body ends.
  for await (const value of slow.body!) {
    hash.update(value);
    slowBytes += value.byteLength;
    await new Promise((r) => setTimeout(r, 0));
  }
  assertEquals({ digest: `sha256:${hash.digest()}`, bytes: slowBytes }, {
    digest: layer.digest,
    bytes: layer.size,
  });
  for (const r of await fast) assertEquals(r, { digest: layer.digest, bytes: layer.size });

  const log = (await registry.accessLog()).slice(before.length);
  assertEquals(countRequests(log, "GET", `/blobs/${layer.digest}`), 1, "one upstream GET for 11 clients");
  assertEquals(await waitForBlob(proxy.store, layer.digest, layer.size), layer.size);
  assertEquals(counts.gets, 0, "no client read the blob back from the store");
  // Bounded: the window plus the chunk held back until verified and the one the slowest client is in (a
  // read from the upstream socket is far below 1 MiB). A fill that kept the blob holds all 64 MiB.
  const peak = await heldPeak(proxy.url);
  assert(peak > 0 && peak <= FILL_WINDOW + MiB, `the fill held ${peak} bytes at once`);
});
