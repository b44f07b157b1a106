// The proxy in front of a hostile upstream (test/fault_proxy.ts between the proxy and a real docker-registry):
// no client ever receives a complete wrong blob, a lying upstream's download never serves another upstream's
// clients, a stalled upstream frees its digest, and documents are capped at 4 MiB before they are read.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { type RequestInfo, startFaultProxy } from "./fault_proxy.ts";
import { bytesOf, startProxy } from "./_proxy_helpers.ts";
import { MemoryStore } from "../src/store/memory_store.ts";

const MiB = 1024 * 1024;

/** What a client ends up with: the status, the bytes it read, and whether the body ended cleanly. */
async function readAll(
  response: Response,
  timeoutMs = 20_000,
): Promise<{ status: number; bytes: Uint8Array; clean: boolean; error?: string }> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  let error: string | undefined;
  const reader = response.body!.getReader();
  // A cancel by the timer resolves the pending read as done: recorded as the error it is.
  const timer = setTimeout(() => {
    error = `no end within ${timeoutMs} ms`;
    reader.cancel().catch(() => {});
  }, timeoutMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.byteLength;
    }
  } catch (err) {
    error ??= String(err);
  } finally {
    clearTimeout(timer);
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return {
    status: response.status,
    bytes,
    clean: error === undefined,
    ...(error !== undefined ? { error } : {}),
  };
}

const onBlob = (digest: string, ranged?: boolean) => (r: RequestInfo) =>
  r.path.endsWith(`/blobs/${digest}`) && (ranged === undefined || r.headers.has("range") === ranged);

Deno.test("createProxy() keeps fills apart per upstream: a client of the trusted upstream never joins a lying upstream's download", async () => {
  const { registry, images } = await sharedRegistry();
  const layer = images.small.layers[0];
  const real = await bytesOf(
    await fetch(`${registry.url}/v2/${images.small.repository}/blobs/${layer.digest}`),
  );
  await using liar = await startFaultProxy({ upstream: registry.url });
  // B answers the blob with wrong bytes, slowly: half of them, then nothing for 4 s.
  liar.addRule({
    match: onBlob(layer.digest),
    fault: {
      kind: "answer",
      status: 200,
      headers: { "content-length": String(layer.size), "content-type": "application/octet-stream" },
      fill: layer.size,
      stallAfter: layer.size >> 1,
      stallMs: 4_000,
    },
    times: Infinity,
  });
  await using proxy = await startProxy({ upstreams: { a: registry.url, b: liar.url }, defaultUpstream: "a" });
  const viaB = await fetch(`${proxy.url}/v2/b/${images.small.repository}/blobs/${layer.digest}`);
  const bReading = readAll(viaB);
  await liar.waitFor(() => liar.bytesServed(layer.digest) > 0, 10_000);

  const started = Date.now();
  const viaA = await fetch(`${proxy.url}/v2/a/${images.small.repository}/blobs/${layer.digest}`);
  const a = await readAll(viaA, 2_500);
  assertEquals(a.status, 200);
  assert(a.clean, `the client of upstream a got an error: ${a.error}`);
  assertEquals(a.bytes, real, "the client of upstream a got other bytes than a's blob");
  assert(Date.now() - started < 2_500, "the client of upstream a waited for upstream b's download");

  const b = await bReading;
  assert(!(b.clean && b.bytes.length === layer.size), "the client of b got a complete wrong blob");
  // Only a's verified bytes were cached.
  const cached = await proxy.store.blobs.stat(layer.digest);
  if (cached !== undefined) {
    assertEquals(await bytesOf(new Response(await proxy.store.blobs.get(layer.digest))), real);
  }
});

Deno.test("createProxy() does not relay an upstream's 200 to a forwarded Range: the whole body is filled and verified", async () => {
  const { registry, images } = await sharedRegistry();
  const layer = images.large.layers[0];
  await using liar = await startFaultProxy({ upstream: registry.url });
  // The upstream ignores Range and answers 200 with a whole blob of wrong bytes.
  liar.addRule({
    match: onBlob(layer.digest),
    fault: {
      kind: "answer",
      status: 200,
      headers: { "content-length": String(layer.size), "content-type": "application/octet-stream" },
      fill: layer.size,
    },
    times: Infinity,
  });
  await using proxy = await startProxy({ upstreams: { up: liar.url } });
  const url = `${proxy.url}/v2/${images.large.repository}/blobs/${layer.digest}`;
  const start = 8 * MiB;
  const res = await fetch(url, { headers: { range: `bytes=${start}-` } });
  const got = await readAll(res);
  assert(res.status !== 200, "the proxy relayed the upstream's 200 to a Range request");
  if (res.status === 206) {
    assertEquals(res.headers.get("content-range"), `bytes ${start}-${layer.size - 1}/${layer.size}`);
    assert(!got.clean, "the range to the end of a blob that failed verification ended cleanly");
  } else {
    assert(res.status >= 500, `unexpected status ${res.status}`);
  }
  assertEquals(await proxy.store.blobs.stat(layer.digest), undefined);
});

Deno.test("createProxy() relays a forwarded Range only as a 206 of exactly the range asked for", async () => {
  const { registry, images } = await sharedRegistry();
  const layer = images.large.layers[0];
  const real = await bytesOf(
    await fetch(`${registry.url}/v2/${images.large.repository}/blobs/${layer.digest}`, {
      headers: { range: `bytes=${8 * MiB}-${8 * MiB + 99}` },
    }),
  );
  const start = 8 * MiB;
  const range = `bytes ${start}-${start + 99}/${layer.size}`;
  const cases: Array<{ what: string; status: number; headers: Record<string, string>; body: Uint8Array }> = [
    {
      what: "another Content-Range",
      status: 206,
      headers: { "content-range": `bytes 0-99/${layer.size}`, "content-length": "100" },
      body: real,
    },
    {
      what: "a Content-Range past the blob",
      status: 206,
      headers: { "content-range": `bytes ${start}-${start + 99}/${start + 50}`, "content-length": "100" },
      body: real,
    },
    {
      what: "a Content-Length that does not match the range",
      status: 206,
      headers: { "content-range": range, "content-length": "150" },
      body: new Uint8Array(150),
    },
    {
      what: "more bytes than the range, close-delimited",
      status: 206,
      headers: { "content-range": range },
      body: new Uint8Array(300).fill(7),
    },
    {
      what: "fewer bytes than the range, close-delimited",
      status: 206,
      headers: { "content-range": range },
      body: real.subarray(0, 50),
    },
  ];
  for (const c of cases) {
    await using liar = await startFaultProxy({ upstream: registry.url });
    liar.addRule({
      match: onBlob(layer.digest, true),
      fault: { kind: "answer", status: c.status, headers: c.headers, body: c.body },
      times: Infinity,
    });
    // Full GETs (the background fill) are answered by the real registry.
    await using proxy = await startProxy({ upstreams: { up: liar.url } });
    const res = await fetch(`${proxy.url}/v2/${images.large.repository}/blobs/${layer.digest}`, {
      headers: { range: `bytes=${start}-${start + 99}` },
    });
    const got = await readAll(res);
    if (res.status === 206) {
      assertEquals(res.headers.get("content-range"), range, c.what);
      // A relayed answer must be exactly the 100 bytes asked for, or break.
      if (got.clean) {
        assertEquals(got.bytes.length, 100, `${c.what}: a clean body of ${got.bytes.length} bytes`);
      } else assert(got.bytes.length <= 100, `${c.what}: ${got.bytes.length} bytes relayed before the error`);
    } else {
      assert(res.status >= 500 && res.status < 600, `${c.what}: status ${res.status}`);
    }
    assert(!(got.clean && res.status === 206 && c.body.length !== 100), `${c.what}: relayed as if fine`);
    // Let the background fill (from the real registry) end before the proxy stops.
    for (let i = 0; i < 200 && (await proxy.store.blobs.stat(layer.digest)) === undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
});

Deno.test("createProxy() never completes a blob whose upstream sent a wrong Content-Length", async () => {
  const { registry, images } = await sharedRegistry();
  const layer = images.small.layers[0];
  for (const delta of [-10, 10]) {
    await using liar = await startFaultProxy({ upstream: registry.url });
    liar.addRule({ match: onBlob(layer.digest), fault: { kind: "content-length", delta }, times: Infinity });
    await using proxy = await startProxy({ upstreams: { up: liar.url }, readTimeout: 500 });
    const res = await fetch(`${proxy.url}/v2/${images.small.repository}/blobs/${layer.digest}`);
    const got = await readAll(res, 10_000);
    assert(!(got.clean && got.bytes.length === layer.size), `Content-Length ${delta}: a complete blob`);
    assert(!got.clean || res.status >= 500, `Content-Length ${delta}: a clean ${res.status} answer`);
    assertEquals(await proxy.store.blobs.stat(layer.digest), undefined);
  }
});

Deno.test("createProxy() aborts a fill whose upstream stalls for readTimeout, and the digest is free for a new fill", async () => {
  const { registry, images } = await sharedRegistry();
  const layer = images.small.layers[0];
  const real = await bytesOf(
    await fetch(`${registry.url}/v2/${images.small.repository}/blobs/${layer.digest}`),
  );
  await using liar = await startFaultProxy({ upstream: registry.url });
  const stall = liar.addRule({ match: onBlob(layer.digest), fault: { kind: "stall", afterBytes: 100 } });
  await using proxy = await startProxy({ upstreams: { up: liar.url }, readTimeout: 300 });
  const url = `${proxy.url}/v2/${images.small.repository}/blobs/${layer.digest}`;
  const started = Date.now();
  const first = await readAll(await fetch(url), 10_000);
  assertEquals(stall.hits, 1);
  assert(!first.clean, "the stalled fill ended cleanly");
  assert(Date.now() - started < 5_000, `the stalled fill took ${Date.now() - started} ms to fail`);
  const second = await readAll(await fetch(url), 10_000);
  assert(second.clean, `the next fill failed: ${second.error}`);
  assertEquals(second.bytes, real);
});

Deno.test("createProxy() aborts a fill whose upstream sends no headers for readTimeout", async () => {
  const { registry, images } = await sharedRegistry();
  const layer = images.small.layers[0];
  await using liar = await startFaultProxy({ upstream: registry.url });
  // The answer's status line comes after 8 s.
  liar.addRule({
    match: onBlob(layer.digest),
    fault: {
      kind: "answer",
      status: 200,
      headers: { "content-length": String(layer.size) },
      fill: layer.size,
      delayMs: 8_000,
    },
  });
  await using proxy = await startProxy({
    upstreams: { up: liar.url },
    readTimeout: 300,
    retry: { attempts: 1 },
  });
  const started = Date.now();
  const res = await fetch(`${proxy.url}/v2/${images.small.repository}/blobs/${layer.digest}`);
  const got = await readAll(res, 10_000);
  assert(!(got.clean && res.status === 200), "a stalled upstream gave a clean answer");
  assert(Date.now() - started < 5_000, `the stalled fill took ${Date.now() - started} ms to fail`);
});

Deno.test("createProxy() POST /images/create refuses an image config declared 3 GiB before reading it", async () => {
  const { registry } = await sharedRegistry();
  await using liar = await startFaultProxy({ upstream: registry.url });
  const configDigest = `sha256:${"c".repeat(64)}`;
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: configDigest,
      size: 3 * 1024 * MiB,
    },
    layers: [],
  }));
  for (const method of ["GET", "HEAD"]) {
    liar.addRule({
      match: "/hostile/config/manifests/",
      method,
      fault: {
        kind: "answer",
        status: 200,
        headers: {
          "content-type": "application/vnd.oci.image.manifest.v1+json",
          "content-length": String(manifest.length),
        },
        body: manifest,
      },
      times: Infinity,
    });
  }
  liar.addRule({
    match: configDigest,
    fault: {
      kind: "answer",
      status: 200,
      headers: { "content-length": String(3 * 1024 * MiB), "content-type": "application/octet-stream" },
      fill: 24 * MiB,
    },
    times: Infinity,
  });
  await using proxy = await startProxy({ upstreams: { up: liar.url } });
  const res = await fetch(`${proxy.url}/images/create?fromImage=hostile/config&tag=v1`, { method: "POST" });
  const text = await res.text();
  assertStringIncludes(text, "error");
  assertStringIncludes(text, "4 MiB");
  const read = liar.bytesServed(configDigest);
  assert(read <= 4 * MiB + 256 * 1024, `the proxy read ${read} bytes of a config declared 3 GiB`);
});

Deno.test("createProxy() refuses a manifest declared 3 GiB after reading at most 4 MiB", async () => {
  const { registry } = await sharedRegistry();
  await using liar = await startFaultProxy({ upstream: registry.url });
  for (const announce of [true, false]) {
    liar.clearRules();
    liar.reset();
    liar.addRule({
      match: "/manifests/",
      fault: {
        kind: "answer",
        status: 200,
        headers: {
          "content-type": "application/vnd.oci.image.manifest.v1+json",
          ...(announce ? { "content-length": String(3 * 1024 * MiB) } : {}),
        },
        fill: 24 * MiB,
      },
      times: Infinity,
    });
    await using proxy = await startProxy({ upstreams: { up: liar.url }, retry: { attempts: 1 } });
    const res = await fetch(`${proxy.url}/v2/hostile/big/manifests/v1`, { method: "GET" });
    await res.body?.cancel();
    assert(res.status >= 400, `status ${res.status}`);
    const read = liar.bytesServed("/manifests/");
    assert(read <= 4 * MiB + 256 * 1024, `announce=${announce}: the proxy read ${read} bytes`);
  }
});

Deno.test("createProxy() POST /images/create does not resume a partial write another download left in the store", async () => {
  const { registry, images } = await sharedRegistry();
  const store = new MemoryStore();
  const layer = images.small.layers[0];
  // Unverified bytes of the layer, as a lying upstream's interrupted download would leave them.
  const partial = await store.blobs.writer({ digest: layer.digest, size: layer.size });
  await partial.write(new Uint8Array(layer.size >> 1).fill(0x61));
  await partial.abort({ keepPartial: true });
  await using proxy = await startProxy({ upstreams: { local: registry.url }, store });
  const res = await fetch(
    `${proxy.url}/images/create?fromImage=${images.small.repository}&tag=${images.small.tag}`,
    { method: "POST" },
  );
  const text = await res.text();
  assert(!text.includes('"error"'), text);
  assertEquals((await store.blobs.stat(layer.digest))?.size, layer.size);
});

Deno.test("createProxy() relays a HEAD of an uncached blob only with a plain Content-Length from upstream", async () => {
  const { registry, images } = await sharedRegistry();
  const layer = images.small.layers[0];
  for (const length of [undefined, "abc", "-1", "1e3", "99999999999999999999"]) {
    await using liar = await startFaultProxy({ upstream: registry.url });
    liar.addRule({
      match: onBlob(layer.digest),
      method: "HEAD",
      fault: {
        kind: "answer",
        status: 200,
        headers: length === undefined ? {} : { "content-length": length },
      },
      times: Infinity,
    });
    await using proxy = await startProxy({ upstreams: { up: liar.url } });
    const res = await fetch(`${proxy.url}/v2/${images.small.repository}/blobs/${layer.digest}`, {
      method: "HEAD",
    });
    await res.body?.cancel();
    // The upstream is broken (502/503), not the blob empty: never a 200 with a made-up length.
    assert(
      res.status === 502 || res.status === 503,
      `Content-Length ${length}: ${res.status} with length ${res.headers.get("content-length")}`,
    );
  }
  // A true one is relayed.
  await using proxy = await startProxy({ upstreams: { up: registry.url } });
  const res = await fetch(`${proxy.url}/v2/${images.small.repository}/blobs/${layer.digest}`, {
    method: "HEAD",
  });
  await res.body?.cancel();
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-length"), String(layer.size));
});

Deno.test("createProxy() breaks a forwarded Range whose upstream stalls for readTimeout", async () => {
  const { registry, images } = await sharedRegistry();
  const layer = images.large.layers[0];
  const start = 8 * MiB;
  await using liar = await startFaultProxy({ upstream: registry.url });
  liar.addRule({
    match: onBlob(layer.digest, true),
    fault: {
      kind: "answer",
      status: 206,
      headers: { "content-range": `bytes ${start}-${start + 99}/${layer.size}`, "content-length": "100" },
      body: new Uint8Array(100),
      stallAfter: 50,
    },
  });
  // The background fill of the whole blob stalls too, so nothing is left running after the test.
  liar.addRule({ match: onBlob(layer.digest, false), fault: { kind: "stall", afterBytes: 0 } });
  await using proxy = await startProxy({ upstreams: { up: liar.url }, readTimeout: 300 });
  const started = Date.now();
  const res = await fetch(`${proxy.url}/v2/${images.large.repository}/blobs/${layer.digest}`, {
    headers: { range: `bytes=${start}-${start + 99}` },
  });
  const got = await readAll(res, 10_000);
  assertEquals(res.status, 206);
  assert(!got.clean, "a stalled range ended cleanly");
  assert(got.error?.includes("no end within") !== true, `the stalled range hung: ${got.error}`);
  assert(Date.now() - started < 5_000, `the stalled range took ${Date.now() - started} ms to break`);
});
