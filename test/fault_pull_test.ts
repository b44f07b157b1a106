// pull() through the fault proxy in front of the real docker-registry: broken, stalled, throttled and
// lying answers. Each test states the guarantee it proves (docs/testing.md "Guarantees" lists them).
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { type FaultProxy, startFaultProxy } from "./fault_proxy.ts";
import { pull, type PullOptions } from "../src/pull/pull.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import type { Store } from "../src/store/types.ts";
import { OciLayoutStore } from "../adapters/fs/oci_layout_store.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";
import { TugError } from "../src/errors.ts";
import { inspectRemote } from "../src/pull/inspect_remote.ts";
import type { FetchLike } from "../src/registry/types.ts";
import type { ProgressEvent } from "../src/pull/events.ts";

const MiB = 1024 * 1024;

async function tempStore(): Promise<{ store: OciLayoutStore } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "tug-fault-" });
  const store = await OciLayoutStore.open(dir, { fsync: false });
  return { store, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

async function proxied(): Promise<
  { proxy: FaultProxy; images: Awaited<ReturnType<typeof sharedRegistry>>["images"] }
> {
  const { registry, images } = await sharedRegistry();
  const proxy = await startFaultProxy({ upstream: registry.url });
  return { proxy, images };
}

/** The reference of a seeded image, reached through the proxy. */
function via(proxy: FaultProxy, image: { repository: string; tag: string }): string {
  return `${proxy.host}/${image.repository}:${image.tag}`;
}

/** Pull options with the retry sleep recorded instead of waited. */
function options(store: Store, extra: Partial<PullOptions> = {}): PullOptions & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    store,
    hasher: nodeHasher,
    retry: { sleep: (ms) => (sleeps.push(ms), Promise.resolve()) },
    sleeps,
    ...extra,
  };
}

async function sha256(store: Store, digest: string): Promise<string> {
  const bytes = new Uint8Array(await new Response(await store.blobs.get(digest)).arrayBuffer());
  return `sha256:${
    Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)), (b) =>
      b.toString(16).padStart(2, "0"))
      .join("")
  }`;
}

for (const kind of ["MemoryStore", "OciLayoutStore"] as const) {
  Deno.test(`pull() into a ${kind} resumes a blob cut mid-body with Range and refetches only the missing part`, async () => {
    const { proxy, images } = await proxied();
    await using _proxy = proxy;
    await using tmp = await tempStore();
    const store = kind === "MemoryStore" ? new MemoryStore() : tmp.store;
    const layer = images.large.layers[0];
    const cut = 10 * MiB + 12_345;
    const rule = proxy.addRule({ match: layer.digest, fault: { kind: "reset", afterBytes: cut } });

    const result = await pull(via(proxy, images.large), options(store));

    assertEquals(result.digest, images.large.manifestDigest);
    assertEquals(rule.hits, 1);
    const gets = proxy.requests(layer.digest);
    assertEquals(gets.map((r) => r.rangeStart), [0, cut]);
    assertEquals(gets[1].range, `bytes=${cut}-`);
    assertEquals(gets[1].status, 206);
    // Every byte crossed the wire once: the cut part, then exactly the missing rest.
    assertEquals(proxy.bytesServed(layer.digest), layer.size);
    assertEquals(await sha256(store, layer.digest), layer.digest);
    if (store instanceof OciLayoutStore) assertEquals(await store.listTemp(), []);
  });
}

Deno.test("pull() resumes a body cut short by a lying Content-Length or a clean truncation, refetching only the rest", async () => {
  const { proxy, images } = await proxied();
  await using _proxy = proxy;
  const layer = images.large.layers[0];
  const cases = [
    // Shorter than the body: the client stops reading early, the body looks complete but short.
    { fault: { kind: "content-length", delta: -3 * MiB } as const, resumeAt: layer.size - 3 * MiB },
    // The body ends cleanly after 20 MiB, Content-Length agreeing.
    { fault: { kind: "truncate", afterBytes: 20 * MiB } as const, resumeAt: 20 * MiB },
    // Longer than the body: every byte arrives, then the connection closes early; nothing to refetch.
    { fault: { kind: "content-length", delta: +4096 } as const, resumeAt: undefined },
  ];
  for (const { fault, resumeAt } of cases) {
    proxy.reset();
    proxy.addRule({ match: layer.digest, fault });
    const store = new MemoryStore();
    await pull(via(proxy, images.large), options(store));
    const gets = proxy.requests(layer.digest);
    assertEquals(gets.map((r) => r.rangeStart), resumeAt === undefined ? [0] : [0, resumeAt], fault.kind);
    // The resume asked for, and got, exactly the bytes still missing.
    if (resumeAt !== undefined) assertEquals(gets[1].bytes, layer.size - resumeAt);
    assertEquals(await sha256(store, layer.digest), layer.digest);
  }
});

Deno.test("pull() cancels a stalled body after readTimeout and resumes it with Range", async () => {
  const { proxy, images } = await proxied();
  await using _proxy = proxy;
  await using tmp = await tempStore();
  const layer = images.large.layers[0];
  const at = 5 * MiB;
  proxy.addRule({ match: layer.digest, fault: { kind: "stall", afterBytes: at } });
  const started = Date.now();
  // Long enough that a loaded machine's slow first byte is not taken for the stall (CI runs on 2 cores).
  const result = await pull(via(proxy, images.large), options(tmp.store, { readTimeout: 2_000 }));
  const elapsed = Date.now() - started;
  assertEquals(result.digest, images.large.manifestDigest);
  assertEquals(proxy.requests(layer.digest).map((r) => r.rangeStart), [0, at]);
  assertEquals(proxy.bytesServed(layer.digest), layer.size);
  assert(elapsed < 15_000, `the stall was detected by the read timeout (took ${elapsed} ms)`);
  assertEquals(await tmp.store.listTemp(), []);
});

Deno.test("pull() fails with TIMEOUT naming the blob when every attempt stalls, and keeps nothing", async () => {
  const { proxy, images } = await proxied();
  await using _proxy = proxy;
  await using tmp = await tempStore();
  const layer = images.large.layers[0];
  proxy.addRule({ match: layer.digest, fault: { kind: "stall", afterBytes: MiB }, times: Infinity });
  const err = await assertRejects(
    () => pull(via(proxy, images.large), options(tmp.store, { readTimeout: 1_000 })),
    TugError,
    { code: "TIMEOUT", includes: layer.digest },
  );
  assertStringIncludes(err.message, "no data arrived for 1000 ms");
  // Docker's 5 attempts, each resuming from where the last stalled.
  assertEquals(proxy.requests(layer.digest).map((r) => r.rangeStart), [0, 1, 2, 3, 4].map((n) => n * MiB));
  assertEquals(await tmp.store.blobs.stat(layer.digest), undefined);
  assertEquals(await tmp.store.references.list(), []);
  assertEquals(await tmp.store.listTemp(), []);
});

Deno.test("pull() retries 500/502/503 answers: manifests with the transport's backoff and Retry-After, layers with Docker's countdowns", async () => {
  const { proxy, images } = await proxied();
  await using _proxy = proxy;
  const image = images.small;
  const layer = image.layers[1];
  proxy.addRule({ match: "/manifests/", fault: { kind: "status", status: 500 } });
  proxy.addRule({ match: "/manifests/", fault: { kind: "status", status: 429, retryAfter: "7" } });
  proxy.addRule({ match: layer.digest, fault: { kind: "status", status: 502 } });
  proxy.addRule({ match: layer.digest, fault: { kind: "status", status: 503 } });
  const store = new MemoryStore();
  const opts = options(store);
  const result = await pull(via(proxy, image), opts);
  assertEquals(result.digest, image.manifestDigest);
  assertEquals(proxy.requests(layer.digest).map((r) => r.status), [502, 503, 200]);
  assertEquals(proxy.requests("/manifests/").map((r) => r.status), [500, 429, 200]);
  // The manifest: a jittered backoff (500 ms base), then Retry-After: 7 exactly. The layer: Docker's
  // 5 s then 10 s, counted down one second at a time.
  const manifestWaits = opts.sleeps.filter((ms) => ms !== 1000);
  assertEquals(manifestWaits.length, 2);
  assert(manifestWaits[0] >= 250 && manifestWaits[0] <= 500, `backoff ${manifestWaits[0]}`);
  assertEquals(manifestWaits[1], 7000);
  assertEquals(opts.sleeps.filter((ms) => ms === 1000).length, 5 + 10);
  for (const l of image.layers) assertEquals(await sha256(store, l.digest), l.digest);
});

Deno.test("pull() gives up after the last attempt on a blob that keeps answering 503, with a clear error", async () => {
  const { proxy, images } = await proxied();
  await using _proxy = proxy;
  await using tmp = await tempStore();
  const image = images.small;
  const layer = image.layers[0];
  proxy.addRule({ match: layer.digest, fault: { kind: "status", status: 503 }, times: Infinity });
  const opts = options(tmp.store);
  const err = await assertRejects(() => pull(via(proxy, image), opts), TugError, {
    includes: "registry returned 503",
  });
  assertStringIncludes(err.message, `Cannot download blob ${layer.digest}: `);
  assertStringIncludes(err.message, "gave up after 5 attempts");
  // One request per attempt: the transport does not retry a blob under the download manager.
  assertEquals(proxy.requests(layer.digest).length, 5);
  // Docker's waits between the attempts: 5, 10, 15 and 20 s, in one-second steps of the countdown.
  assertEquals(opts.sleeps, Array(50).fill(1000));
  assertEquals(await tmp.store.references.list(), []);
  assertEquals(await tmp.store.blobs.stat(image.manifestDigest), undefined);
  assertEquals(await tmp.store.listTemp(), []);
});

Deno.test('pull() counts each layer retry down as dockerd\'s "Retrying in N seconds" for that layer; manifest retries stay silent', async () => {
  const { proxy, images } = await proxied();
  await using _proxy = proxy;
  const image = images.small;
  const layer = image.layers[0];
  proxy.addRule({ match: "/manifests/", fault: { kind: "status", status: 500 } });
  proxy.addRule({ match: layer.digest, fault: { kind: "status", status: 503 }, times: 2 });
  const events: ProgressEvent[] = [];
  const retried: string[] = [];
  const opts = options(new MemoryStore(), {
    onProgress: (e) => events.push(e),
  });
  opts.retry = {
    ...opts.retry,
    onRetry: (info) => retried.push(`${new URL(info.request.url).pathname} ${info.reason}`),
  };
  const result = await pull(via(proxy, image), opts);
  assertEquals(result.digest, image.manifestDigest);
  const short = layer.digest.slice("sha256:".length, "sha256:".length + 12);
  const retrying = events.filter((e) => e.type === "retry");
  // Two failed attempts of the layer: "Retrying in 5 seconds" … "1 second", then from 10.
  const seconds = [5, 4, 3, 2, 1, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
  assertEquals(
    retrying.map((e) => [e.id, e.digest, e.status]),
    seconds.map((n) => [short, layer.digest, `Retrying in ${n} second${n === 1 ? "" : "s"}`]),
  );
  // The caller's onRetry sees the transport's retries: the manifest's only.
  assertEquals(retried, [`/v2/${image.repository}/manifests/${image.tag} 500`]);
});

Deno.test("pull() retries by the caller's RetryPolicy: its attempts and its retryable statuses", async () => {
  const { proxy, images } = await proxied();
  await using _proxy = proxy;
  const image = images.small;
  // 418 is no transient status by default; the caller's policy makes it one, with 2 attempts in all.
  // (Blob downloads are the download manager's to retry; the policy governs the other requests.)
  proxy.addRule({ match: "/manifests/", fault: { kind: "status", status: 418 }, times: Infinity });
  const opts = options(new MemoryStore());
  opts.retry = { ...opts.retry, attempts: 2, retryableStatus: (s) => s === 418 };
  const err = await assertRejects(() => pull(via(proxy, image), opts), TugError, { includes: "418" });
  assertStringIncludes(err.message, "after 2 attempts");
  assertEquals(proxy.requests("/manifests/").length, 2);
  assertEquals(opts.sleeps.length, 1);
});

Deno.test("pull() and inspectRemote() send every request through the caller's transport, the https probe included", async () => {
  const { proxy, images } = await proxied();
  await using _proxy = proxy;
  const image = images.small;
  const seen: URL[] = [];
  const transport =
    (base: FetchLike): FetchLike => (request) => (seen.push(new URL(request.url)), base(request));
  const plain = () => seen.filter((u) => u.protocol === "http:").map((u) => u.pathname);
  await pull(via(proxy, image), options(new MemoryStore(), { transport }));
  // The wrapper saw what the registry saw (the ping, the manifest, the config, every layer), in
  // order, and also the https attempt Docker makes first at an insecure registry, which never
  // reached it as HTTP.
  assertEquals(plain(), proxy.requests().map((r) => r.path.split("?")[0]));
  assertEquals(seen.filter((u) => u.protocol === "https:").map((u) => u.pathname), ["/v2/"]);
  assert(plain().includes(`/v2/${image.repository}/blobs/${image.config.digest}`), plain().join("\n"));
  for (const l of image.layers) assert(plain().includes(`/v2/${image.repository}/blobs/${l.digest}`));
  const pulled = seen.length;
  await inspectRemote(via(proxy, image), { transport });
  assert(seen.length > pulled, "inspectRemote() went around the transport");
  assertEquals(plain(), proxy.requests().map((r) => r.path.split("?")[0]));
});

Deno.test("pull() gives up on a 429 whose Retry-After is longer than it waits", async () => {
  const { proxy, images } = await proxied();
  await using _proxy = proxy;
  const image = images.small;
  proxy.addRule({ match: image.config.digest, fault: { kind: "status", status: 429, retryAfter: "3600" } });
  const opts = options(new MemoryStore());
  await assertRejects(() => pull(via(proxy, image), opts), TugError, { includes: "429" });
  assertEquals(proxy.requests(image.config.digest).length, 1);
  assertEquals(opts.sleeps, []);
});

Deno.test("pull() refuses a blob with a flipped byte (DIGEST_MISMATCH naming it), commits it nowhere, leaves no temp file", async () => {
  const { proxy, images } = await proxied();
  await using _proxy = proxy;
  await using tmp = await tempStore();
  const image = images.large;
  const layer = image.layers[0];
  proxy.addRule({ match: layer.digest, fault: { kind: "flip", atByte: 33 * MiB + 7 } });
  await assertRejects(() => pull(via(proxy, image), options(tmp.store)), TugError, {
    code: "DIGEST_MISMATCH",
    includes: layer.digest,
  });
  // The bad bytes were read once and never retried into the store.
  assertEquals(proxy.requests(layer.digest).length, 1);
  assertEquals(await tmp.store.blobs.stat(layer.digest), undefined);
  assertEquals(await tmp.store.blobs.stat(image.manifestDigest), undefined);
  assertEquals(await tmp.store.references.list(), []);
  assertEquals(await tmp.store.listTemp(), []);
  // Only verified blobs are in the store (the config arrived intact).
  for await (const blob of tmp.store.blobs.list()) {
    assertEquals(await sha256(tmp.store, blob.digest), blob.digest);
  }
});

Deno.test("pull() into a MemoryStore refuses a flipped byte in a small layer and stores nothing of it", async () => {
  const { proxy, images } = await proxied();
  await using _proxy = proxy;
  const image = images.small;
  const layer = image.layers[2];
  proxy.addRule({ match: layer.digest, fault: { kind: "flip", atByte: 0 } });
  const store = new MemoryStore();
  await assertRejects(() => pull(via(proxy, image), options(store)), TugError, {
    code: "DIGEST_MISMATCH",
    includes: layer.digest,
  });
  assertEquals(await store.blobs.stat(layer.digest), undefined);
  assertEquals(await store.references.list(), []);
});

Deno.test("pull() fails with SIZE_MISMATCH naming the blob when every answer is truncated, and keeps nothing", async () => {
  const { proxy, images } = await proxied();
  await using _proxy = proxy;
  await using tmp = await tempStore();
  const layer = images.large.layers[0];
  proxy.addRule({ match: layer.digest, fault: { kind: "truncate", afterBytes: MiB }, times: Infinity });
  await assertRejects(() => pull(via(proxy, images.large), options(tmp.store)), TugError, {
    code: "SIZE_MISMATCH",
    includes: layer.digest,
  });
  // Docker's 5 attempts.
  assertEquals(proxy.requests(layer.digest).length, 5);
  assertEquals(await tmp.store.blobs.stat(layer.digest), undefined);
  assertEquals(await tmp.store.references.list(), []);
  assertEquals(await tmp.store.listTemp(), []);
});

for (const announce of [true, false]) {
  Deno.test(`pull() refuses a manifest over 4 MiB before reading it whole (${announce ? "announced" : "streamed"})`, async () => {
    const { proxy, images } = await proxied();
    await using _proxy = proxy;
    const size = 64 * MiB;
    proxy.addRule({ match: "/manifests/", fault: { kind: "oversize", bytes: size, announce } });
    const store = new MemoryStore();
    await assertRejects(() => pull(via(proxy, images.small), options(store)), TugError, {
      code: "MANIFEST_TOO_LARGE",
      includes: announce ? "announced 67108864 bytes" : "more than the limit of 4194304 bytes",
    });
    await proxy.waitFor(() => proxy.requests("/manifests/").every((r) => r.done));
    const served = proxy.bytesServed("/manifests/");
    // At most the 4 MiB cap plus what the sockets buffered: far from the 64 MiB sent.
    assert(served < 16 * MiB, `served ${served} bytes of the ${size}-byte manifest`);
    assertEquals(proxy.requests("/manifests/").length, 1);
    assertEquals(await store.references.list(), []);
  });
}
