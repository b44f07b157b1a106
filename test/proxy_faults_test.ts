// The proxy when things go wrong: upstream down (stale serving), a corrupting hop, private repositories.
import { assert, assertEquals } from "./_assert.ts";
import { buildImage, pushImage, startRegistry, startTokenRegistry } from "./harness/mod.ts";
import { bytesOf, skopeoCopy, startProxy, waitForBlob } from "./_proxy_helpers.ts";

function basic(user: string, password: string): string {
  return `Basic ${btoa(`${user}:${password}`)}`;
}

async function smallImage(text: string) {
  return await buildImage({
    layers: [{ entries: [{ path: "hello.txt", content: text }] }],
  });
}

Deno.test("createProxy() serves a cached tag stale with a Warning, and digests, while the upstream is down", async () => {
  await using registry = await startRegistry();
  const image = await smallImage("stale test\n");
  await pushImage(registry, "app/stale", image, "v1");
  await using proxy = await startProxy({
    upstreams: { up: registry.url },
    tagTtl: 0,
    retry: { attempts: 1 },
  });
  const accept = { accept: image.manifestMediaType };
  const tagUrl = `${proxy.url}/v2/app/stale/manifests/v1`;
  const fresh = await fetch(tagUrl, { headers: accept });
  assertEquals(fresh.status, 200);
  assertEquals(fresh.headers.get("warning"), null);
  await fresh.body?.cancel();
  const layer = image.layers[0];
  assertEquals(
    await bytesOf(await fetch(`${proxy.url}/v2/app/stale/blobs/${layer.digest}`)),
    new Uint8Array(layer.bytes),
  );

  await registry.stop();
  const stale = await fetch(tagUrl, { headers: accept });
  assertEquals(stale.status, 200);
  assertEquals(stale.headers.get("warning"), '110 tug "Response is Stale"');
  assertEquals(await bytesOf(stale), image.manifestBytes);
  const byDigest = await fetch(`${proxy.url}/v2/app/stale/manifests/${image.manifestDigest}`, {
    headers: accept,
  });
  assertEquals(byDigest.status, 200);
  assertEquals(await bytesOf(byDigest), image.manifestBytes);
  const blob = await fetch(`${proxy.url}/v2/app/stale/blobs/${layer.digest}`);
  assertEquals(await bytesOf(blob), new Uint8Array(layer.bytes));
  // A credential the upstream never confirmed gets nothing from the cache.
  const stranger = await fetch(tagUrl, { headers: { ...accept, authorization: basic("mallory", "x") } });
  assertEquals(stranger.status, 503);
  await stranger.body?.cancel();
  const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
  assert(/tug_proxy_stale_served_total [1-9]/.test(metrics), metrics);
});

Deno.test("createProxy() aborts every client and caches nothing when the upstream's blob fails verification", async () => {
  await using registry = await startRegistry();
  const payload = new Uint8Array(3 * 1024 * 1024);
  for (let i = 0; i < payload.length; i += 65536) crypto.getRandomValues(payload.subarray(i, i + 65536));
  const image = await buildImage({
    layers: [{ entries: [{ path: "big.bin", content: payload }], gzipLevel: 1 }],
  });
  await pushImage(registry, "app/corrupt", image, "v1");
  const layer = image.layers[0];
  // A hop between proxy and upstream that flips one byte in the middle of every blob body.
  await using fault = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const upstream = await fetch(`${registry.url}${url.pathname}${url.search}`, {
      method: req.method,
      headers: req.headers,
    });
    if (!url.pathname.includes("/blobs/") || req.method !== "GET" || upstream.body === null) return upstream;
    let seen = 0;
    const flip = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const middle = layer.size >> 1;
        if (seen <= middle && middle < seen + chunk.length) {
          chunk = chunk.slice();
          chunk[middle - seen] ^= 0xff;
        }
        seen += chunk.length;
        controller.enqueue(chunk);
      },
    });
    return new Response(upstream.body.pipeThrough(flip), {
      status: upstream.status,
      headers: upstream.headers,
    });
  });
  await using proxy = await startProxy({ upstreams: { up: `http://127.0.0.1:${fault.addr.port}` } });
  const url = `${proxy.url}/v2/app/corrupt/blobs/${layer.digest}`;
  const results = await Promise.all(Array.from({ length: 3 }, async () => {
    try {
      const res = await fetch(url);
      const bytes = await bytesOf(res);
      return bytes.length === layer.size ? "complete" : "truncated";
    } catch {
      return "failed";
    }
  }));
  for (const r of results) assert(r !== "complete", `a client got a complete response: ${results}`);
  assertEquals(await proxy.store.blobs.stat(layer.digest), undefined);
  const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
  assert(/tug_proxy_fills_failed_total [1-9]/.test(metrics), metrics);
});

Deno.test("createProxy() keeps a private repository private: 401 for others after an authorised fill, also via another path", async () => {
  await using upstream = await startTokenRegistry({
    token: {
      users: { alice: "wonderland" },
      access: (user, _scope, parsed) =>
        user === "alice" ? parsed.actions : parsed.name.startsWith("public/") ? ["pull"] : [],
    },
  });
  const alice = { username: "alice", password: "wonderland" };
  const secret = await smallImage("only for alice\n");
  const open = await smallImage("for everyone\n");
  await pushImage(upstream.registry, "private/app", secret, "v1", alice);
  await pushImage(upstream.registry, "public/app", open, "v1", alice);
  await using proxy = await startProxy({ upstreams: { up: upstream.registry.url } });
  const accept = { accept: secret.manifestMediaType };
  const layer = secret.layers[0];

  // Alice fills the cache.
  const authed = { ...accept, authorization: basic("alice", "wonderland") };
  const m = await fetch(`${proxy.url}/v2/private/app/manifests/v1`, { headers: authed });
  assertEquals(m.status, 200);
  assertEquals(await bytesOf(m), secret.manifestBytes);
  const b = await fetch(`${proxy.url}/v2/private/app/blobs/${layer.digest}`, { headers: authed });
  assertEquals(await bytesOf(b), new Uint8Array(layer.bytes));
  assertEquals(await waitForBlob(proxy.store, layer.digest), layer.size);

  // Anonymous: 401 with a challenge, for the tag, the digest and the blob.
  for (const path of ["manifests/v1", `manifests/${secret.manifestDigest}`, `blobs/${layer.digest}`]) {
    const res = await fetch(`${proxy.url}/v2/private/app/${path}`, { headers: accept });
    assertEquals(res.status, 401, path);
    assert(res.headers.get("www-authenticate")?.startsWith("Bearer realm="), path);
    await res.body?.cancel();
  }
  // Alice's name with another password: 401 as well.
  const wrong = await fetch(`${proxy.url}/v2/private/app/blobs/${layer.digest}`, {
    headers: { authorization: basic("alice", "guess") },
  });
  assertEquals(wrong.status, 401);
  await wrong.body?.cancel();
  // Through a public repository's path: the blob does not belong there.
  const sideways = await fetch(`${proxy.url}/v2/public/app/blobs/${layer.digest}`);
  assert(sideways.status === 404 || sideways.status === 401, String(sideways.status));
  await sideways.body?.cancel();
  const sidewaysManifest = await fetch(`${proxy.url}/v2/public/app/manifests/${secret.manifestDigest}`, {
    headers: accept,
  });
  assert(sidewaysManifest.status === 404 || sidewaysManifest.status === 401, String(sidewaysManifest.status));
  await sidewaysManifest.body?.cancel();
  // The public repository works anonymously.
  const pub = await fetch(`${proxy.url}/v2/public/app/manifests/v1`, { headers: accept });
  assertEquals(await bytesOf(pub), open.manifestBytes);

  // Real clients: skopeo with credentials goes through the proxy's token flow; without, it is refused.
  const tmp = await Deno.makeTempDir({ prefix: "tug-proxy-private-" });
  try {
    await skopeoCopy(`${proxy.host}/private/app:v1`, `${tmp}/ok`, ["--src-creds", "alice:wonderland"]);
    const files = [...Deno.readDirSync(`${tmp}/ok/blobs/sha256`)].map((f) => `sha256:${f.name}`);
    assert(files.includes(layer.digest));
    let failed = false;
    try {
      await skopeoCopy(`${proxy.host}/private/app:v1`, `${tmp}/anon`);
    } catch {
      failed = true;
    }
    assert(failed, "an anonymous skopeo copy of the private image succeeded");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
