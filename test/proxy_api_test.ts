// The proxy's other endpoints against the real docker-registry: CORS, /token, POST /images/create, health, metrics.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { bytesOf, startProxy } from "./_proxy_helpers.ts";

Deno.test("createProxy() answers CORS preflights and exposes the registry headers to allowed origins", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = await startProxy({
    upstreams: { local: registry.url },
    allowOrigins: ["https://tug.example"],
  });
  const url = `${proxy.url}/v2/${images.small.repository}/manifests/${images.small.tag}`;
  const preflight = await fetch(url, {
    method: "OPTIONS",
    headers: {
      origin: "https://tug.example",
      "access-control-request-method": "GET",
      "access-control-request-headers": "authorization",
    },
  });
  assertEquals(preflight.status, 204);
  assertEquals(preflight.headers.get("access-control-allow-origin"), "https://tug.example");
  assertStringIncludes(preflight.headers.get("access-control-allow-headers")!.toLowerCase(), "authorization");
  await preflight.body?.cancel();
  const res = await fetch(url, {
    headers: { origin: "https://tug.example", accept: images.small.manifestMediaType },
  });
  assertEquals(res.headers.get("access-control-allow-origin"), "https://tug.example");
  const exposed = res.headers.get("access-control-expose-headers")!.toLowerCase();
  for (
    const h of [
      "docker-content-digest",
      "www-authenticate",
      "content-range",
      "content-length",
      "link",
      "docker-distribution-api-version",
    ]
  ) assertStringIncludes(exposed, h);
  await res.body?.cancel();
  const other = await fetch(url, { headers: { origin: "https://evil.example" } });
  assertEquals(other.headers.get("access-control-allow-origin"), null);
  await other.body?.cancel();
});

Deno.test("createProxy() GET /v2/ challenges toward its token endpoint, whose token works as Bearer", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = await startProxy({ upstreams: { local: registry.url } });
  const ping = await fetch(`${proxy.url}/v2/`);
  assertEquals(ping.status, 401);
  assertEquals(ping.headers.get("docker-distribution-api-version"), "registry/2.0");
  assertEquals(ping.headers.get("www-authenticate"), `Bearer realm="${proxy.url}/token",service="tug-proxy"`);
  await ping.body?.cancel();
  const { token } = await (await fetch(`${proxy.url}/token?service=tug-proxy&scope=repository:x:pull`))
    .json();
  const authed = await fetch(`${proxy.url}/v2/`, { headers: { authorization: `Bearer ${token}` } });
  assertEquals(authed.status, 200);
  await authed.body?.cancel();
  const m = await fetch(`${proxy.url}/v2/${images.small.repository}/manifests/${images.small.tag}`, {
    headers: { authorization: `Bearer ${token}`, accept: images.small.manifestMediaType },
  });
  assertEquals(await bytesOf(m), new Uint8Array(images.small.manifestBytes));
  const forged = await fetch(`${proxy.url}/v2/`, {
    headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` },
  });
  assertEquals(forged.status, 401);
  await forged.body?.cancel();
});

Deno.test("createProxy() POST /images/create streams Docker jsonmessage lines and fills the cache", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = await startProxy({ upstreams: { local: registry.url } });
  const before = (await registry.accessLog()).length;
  const res = await fetch(
    `${proxy.url}/images/create?fromImage=${images.small.repository}&tag=${images.small.tag}`,
    { method: "POST" },
  );
  assertEquals(res.status, 200);
  const lines = (await res.text()).trim().split(/\r?\n/).map((l) => JSON.parse(l));
  assert(lines.some((l) => String(l.status).startsWith("Pulling from")), JSON.stringify(lines));
  assert(lines.some((l) => l.status === "Download complete" || l.status === "Pull complete"));
  assertEquals(lines.at(-2)?.status, `Digest: ${images.small.manifestDigest}`);
  assert(!lines.some((l) => l.error), JSON.stringify(lines));
  for (const layer of images.small.layers) {
    assertEquals((await proxy.store.blobs.stat(layer.digest))?.size, layer.size);
  }
  // The pulled image is then served from the cache: no blob GET upstream.
  const mid = (await registry.accessLog()).length;
  for (const layer of images.small.layers) {
    const blob = await fetch(`${proxy.url}/v2/${images.small.repository}/blobs/${layer.digest}`);
    assertEquals((await bytesOf(blob)).length, layer.size);
  }
  const log = (await registry.accessLog()).slice(mid);
  assertEquals(log.filter((e) => e.method === "GET" && e.path.includes("/blobs/")).length, 0);
  assert(mid > before);
  const missing = await fetch(`${proxy.url}/images/create?fromImage=${images.small.repository}&tag=nope`, {
    method: "POST",
  });
  const last = JSON.parse((await missing.text()).trim().split(/\r?\n/).at(-1)!);
  assert(typeof last.error === "string" && last.errorDetail.message === last.error, JSON.stringify(last));
});

Deno.test("createProxy() GET /healthz and /metrics in Prometheus text", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = await startProxy({ upstreams: { local: registry.url } });
  assertEquals(await (await fetch(`${proxy.url}/healthz`)).text(), "ok");
  const layer = images.small.layers[0];
  for (let i = 0; i < 2; i++) {
    await bytesOf(await fetch(`${proxy.url}/v2/${images.small.repository}/blobs/${layer.digest}`));
  }
  const res = await fetch(`${proxy.url}/metrics`);
  assertStringIncludes(res.headers.get("content-type")!, "text/plain; version=0.0.4");
  const text = await res.text();
  assertStringIncludes(text, "# TYPE tug_proxy_cache_hits_total counter");
  assertStringIncludes(text, 'tug_proxy_cache_misses_total{kind="blob"} 1');
  assertStringIncludes(text, 'tug_proxy_cache_hits_total{kind="blob"} 1');
  assertStringIncludes(text, `tug_proxy_upstream_bytes_total ${layer.size}`);
  assertStringIncludes(text, "tug_proxy_fills_in_flight 0");
  assert(/tug_proxy_client_bytes_total \d+/.test(text));
});
