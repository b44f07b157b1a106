// The proxy's registry read API against the real docker-registry from the harness, with real clients.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import {
  bytesOf,
  countRequests,
  layoutBlobs,
  skopeoCopy,
  startProxy,
  waitForBlob,
} from "./_proxy_helpers.ts";

Deno.test("createProxy() serves skopeo copy byte-identical to a direct copy", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = await startProxy({ upstreams: { local: registry.url } });
  const tmp = await Deno.makeTempDir({ prefix: "tug-proxy-skopeo-" });
  try {
    for (const image of [images.small, images.zstd]) {
      const direct = `${tmp}/direct-${image.repository.replace("/", "-")}`;
      const proxied = `${tmp}/proxied-${image.repository.replace("/", "-")}`;
      await skopeoCopy(`${registry.host}/${image.repository}:${image.tag}`, direct);
      await skopeoCopy(`${proxy.host}/${image.repository}:${image.tag}`, proxied);
      const a = await layoutBlobs(direct);
      const b = await layoutBlobs(proxied);
      assertEquals([...b.keys()].sort(), [...a.keys()].sort());
      for (const [digest, bytes] of a) assertEquals(b.get(digest), bytes, digest);
      for (const layer of image.layers) assert(b.has(layer.digest), layer.digest);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("createProxy() answers manifests GET and HEAD byte-identical, with type, length and digest", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = await startProxy({ upstreams: { local: registry.url } });
  const image = images.multi;
  for (
    const path of [
      `${image.repository}/manifests/${image.tag}`,
      `local/${image.repository}/manifests/${image.manifestDigest}`,
    ]
  ) {
    for (const method of ["GET", "HEAD", "GET"]) {
      const res = await fetch(`${proxy.url}/v2/${path}`, {
        method,
        headers: { accept: image.manifestMediaType },
      });
      assertEquals(res.status, 200, `${method} ${path}`);
      assertEquals(res.headers.get("content-type"), image.manifestMediaType);
      assertEquals(res.headers.get("content-length"), String(image.manifestBytes.length));
      assertEquals(res.headers.get("docker-content-digest"), image.manifestDigest);
      assertEquals(res.headers.get("docker-distribution-api-version"), "registry/2.0");
      const body = await bytesOf(res);
      assertEquals(body, method === "HEAD" ? new Uint8Array() : image.manifestBytes);
    }
  }
});

Deno.test("createProxy() serves blob ranges with 206 and whole blobs with 200", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = await startProxy({ upstreams: { local: registry.url } });
  const config = images.small.config;
  const url = `${proxy.url}/v2/${images.small.repository}/blobs/${config.digest}`;
  // A Range on a miss (nothing cached yet) is served from the fill at once.
  const first = await fetch(url, { headers: { range: "bytes=10-19" } });
  assertEquals(first.status, 206);
  assertEquals(first.headers.get("content-range"), `bytes 10-19/${config.size}`);
  assertEquals(await bytesOf(first), config.bytes.subarray(10, 20));
  const whole = await fetch(url);
  assertEquals(whole.status, 200);
  assertEquals(whole.headers.get("content-length"), String(config.size));
  assertEquals(await bytesOf(whole), config.bytes);
  const suffix = await fetch(url, { headers: { range: "bytes=-5" } });
  assertEquals(suffix.status, 206);
  assertEquals(await bytesOf(suffix), config.bytes.subarray(config.size - 5));
  const head = await fetch(url, { method: "HEAD" });
  assertEquals(head.headers.get("content-length"), String(config.size));
  assertEquals(head.headers.get("docker-content-digest"), config.digest);
  await head.body?.cancel();
  const bad = await fetch(url, { headers: { range: `bytes=${config.size + 10}-` } });
  assertEquals(bad.status, 416);
  await bad.body?.cancel();
});

Deno.test("createProxy() forwards a Range far into an uncached blob upstream without waiting for the blob", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = await startProxy({ upstreams: { local: registry.url } });
  const layer = images.large.layers[0];
  const start = layer.size - 1000;
  const res = await fetch(`${proxy.url}/v2/${images.large.repository}/blobs/${layer.digest}`, {
    headers: { range: `bytes=${start}-${start + 99}` },
  });
  assertEquals(res.status, 206);
  assertEquals(res.headers.get("content-range"), `bytes ${start}-${start + 99}/${layer.size}`);
  const got = await bytesOf(res);
  assertEquals(got.length, 100);
  // The same bytes as a direct range request.
  const direct = await fetch(`${registry.url}/v2/${images.large.repository}/blobs/${layer.digest}`, {
    headers: { range: `bytes=${start}-${start + 99}` },
  });
  assertEquals(got, await bytesOf(direct));
  // Let the background fill finish before the test ends.
  for (let i = 0; i < 200 && (await proxy.store.blobs.stat(layer.digest)) === undefined; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
});

Deno.test("createProxy() lists tags with n and last, and refuses writes with 405 UNSUPPORTED", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = await startProxy({ upstreams: { local: registry.url } });
  const res = await fetch(`${proxy.url}/v2/${images.small.repository}/tags/list`);
  assertEquals(await res.json(), { name: images.small.repository, tags: [images.small.tag] });
  const paged = await fetch(`${proxy.url}/v2/${images.small.repository}/tags/list?n=0`);
  assertEquals((await paged.json()).tags, []);
  const after = await fetch(`${proxy.url}/v2/${images.small.repository}/tags/list?last=${images.small.tag}`);
  assertEquals((await after.json()).tags, []);
  for (
    const [method, path] of [["POST", "blobs/uploads/"], ["PUT", "manifests/v2"], ["DELETE", "manifests/v1"]]
  ) {
    const w = await fetch(`${proxy.url}/v2/${images.small.repository}/${path}`, { method });
    assertEquals(w.status, 405, `${method} ${path}`);
    assertEquals((await w.json()).errors[0].code, "UNSUPPORTED");
  }
  const missing = await fetch(`${proxy.url}/v2/${images.small.repository}/manifests/nope`);
  assertEquals(missing.status, 404);
  assertEquals((await missing.json()).errors[0].code, "MANIFEST_UNKNOWN");
});

Deno.test("createProxy() reaches upstreams by name, by host and by ?ns=, and adds library/ for Docker Hub-like upstreams", async () => {
  const { registry, images } = await sharedRegistry();
  const seen: string[] = [];
  await using proxy = await startProxy({
    upstreams: { local: registry.url, hub: { url: registry.url, library: true } },
    defaultUpstream: "hub",
    fetch: (req) => {
      seen.push(new URL(req.url).pathname);
      return fetch(req);
    },
  });
  const path = `${images.small.repository}/manifests/${images.small.tag}`;
  for (
    const url of [
      `local/${path}`,
      `${registry.host}/${path}`,
      `${path}?ns=${registry.host}`,
      `${path}?ns=local`,
    ]
  ) {
    const res = await fetch(`${proxy.url}/v2/${url}`, {
      headers: { accept: images.small.manifestMediaType },
    });
    assertEquals(res.status, 200, url);
    assertEquals(res.headers.get("docker-content-digest"), images.small.manifestDigest);
    await res.body?.cancel();
  }
  const single = await fetch(`${proxy.url}/v2/alpine/manifests/latest`);
  assertEquals(single.status, 404);
  await single.body?.cancel();
  assert(seen.includes("/v2/library/alpine/manifests/latest"), seen.join(" "));
});

Deno.test("createProxy() refuses an unconfigured host without any outbound connection", async () => {
  const calls: string[] = [];
  await using proxy = await startProxy({
    upstreams: { hub: "https://registry.example" },
    fetch: (req) => {
      calls.push(req.url);
      return Promise.resolve(new Response(null, { status: 500 }));
    },
  });
  for (
    const path of [
      "evil.example/x/manifests/latest",
      "127.0.0.1:9/x/blobs/sha256:" + "0".repeat(64),
      "localhost/x/tags/list",
      "x/manifests/latest?ns=169.254.169.254",
    ]
  ) {
    const res = await fetch(`${proxy.url}/v2/${path}`);
    assertEquals(res.status, 403, path);
    assertEquals((await res.json()).errors[0].code, "DENIED");
  }
  const post = await fetch(`${proxy.url}/images/create?fromImage=evil.example/x&tag=1`, { method: "POST" });
  assertEquals(post.status, 403);
  await post.body?.cancel();
  assertEquals(calls, []);
  const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
  assertStringIncludes(metrics, "tug_proxy_refused_total 5");
});

Deno.test("createProxy() counts one upstream GET per blob for 8 concurrent cold requests", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = await startProxy({ upstreams: { local: registry.url } });
  const layer = images.large.layers[0];
  const before = await registry.accessLog();
  const url = `${proxy.url}/v2/${images.large.repository}/blobs/${layer.digest}`;
  const hashes = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const res = await fetch(url);
      assertEquals(res.status, 200);
      const bytes = await bytesOf(res);
      assertEquals(bytes.length, layer.size);
      const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
      return "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
    }),
  );
  for (const h of hashes) assertEquals(h, layer.digest);
  const after = await registry.accessLog();
  const log = after.slice(before.length);
  assertEquals(countRequests(log, "GET", `/blobs/${layer.digest}`), 1);
  assertEquals(await waitForBlob(proxy.store, layer.digest), layer.size);
  // Served from the cache now: no new upstream GET.
  const again = await fetch(url);
  assertEquals((await bytesOf(again)).length, layer.size);
  const later = (await registry.accessLog()).slice(before.length);
  assertEquals(countRequests(later, "GET", `/blobs/${layer.digest}`), 1);
});
