// A hostile registry in front of a real one (the harness's docker-registry): it forwards everything, but
// sends blob downloads to a target of its choosing. Two attacks, each against every path that talks upstream:
// - SSRF: the redirect points at an internal server in one of the spellings of a loopback address
//   (issue H, finding 3); the internal server must receive no request at all.
// - Credential theft: the redirect points at a "storage" host that answers 401 with a Bearer realm on a
//   capturing server (issue H, finding 4; containerd CVE-2020-15157's class); the capturing server must
//   receive nothing, and the storage host no credentials.
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { seedImages, sharedRegistry, startTokenRegistry } from "./harness/mod.ts";
import { runTug, tempDir } from "./_cli.ts";
import { startProxy } from "./_proxy_helpers.ts";
import { startTugServe } from "./_tug_serve.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { pull } from "../src/pull/pull.ts";
import { TugError } from "../src/errors.ts";
import { lookupHost } from "../adapters/serve/lookup_host.ts";
import { buildV1Image, startV1Server } from "./harness/v1_server.ts";

interface Recorded {
  method: string;
  path: string;
  authorization: string | null;
}

/** A Deno.serve listener that records what it receives; disposing it stops it. */
function recorder(
  hostname: string,
  answer: (req: Request) => Response | Promise<Response> = () => new Response("internal secret"),
) {
  const seen: Recorded[] = [];
  const server = Deno.serve({ hostname, port: 0, onListen() {} }, (req) => {
    seen.push({
      method: req.method,
      path: new URL(req.url).pathname,
      authorization: req.headers.get("authorization"),
    });
    return answer(req);
  });
  return {
    seen,
    port: server.addr.port,
    origin: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** The hostile registry: forwards to `upstream`, but answers blob GETs and HEADs with a 307 to `target()`. */
function hostileFront(upstream: string, target: (path: string) => string) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname.includes("/blobs/")) {
      return new Response(null, { status: 307, headers: { location: target(url.pathname) } });
    }
    return fetch(`${upstream}${url.pathname}${url.search}`, { method: req.method, headers: req.headers });
  });
  return {
    host: `127.0.0.1:${server.addr.port}`,
    url: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("createProxy() refuses a redirect to any spelling of an internal address; the internal server sees nothing", async () => {
  const { registry, images } = await sharedRegistry();
  const { small } = images;
  // Listens on every interface: any loopback spelling that got through would reach it.
  await using internal = recorder("0.0.0.0");
  let location = "";
  await using front = hostileFront(registry.url, () => location);
  await using proxy = await startProxy({
    upstreams: { local: front.url },
    defaultUpstream: "local",
    // What `tug serve` passes on Deno and Node; the name below stands for a DNS record an attacker
    // points at this machine (offline, no public name resolves here).
    resolveHost: (h) => lookupHost(h === "storage.attacker.test" ? Deno.hostname() : h),
  });
  const port = internal.port;
  const spellings = [
    `http://[::ffff:127.0.0.2]:${port}/`,
    `http://[::ffff:7f00:2]:${port}/`,
    `http://0x7f000002:${port}/`,
    `http://2130706434:${port}/`,
    `http://127.2:${port}/`,
    `http://[::127.0.0.2]:${port}/`,
    `http://[64:ff9b::7f00:2]:${port}/`,
    `http://[2002:7f00:2::]:${port}/`,
    `http://localhost:${port}/`,
    `http://foo.localhost:${port}/`,
    `http://${Deno.hostname()}:${port}/`,
    `http://storage.attacker.test:${port}/`,
  ];
  for (const spelling of spellings) {
    location = spelling;
    for (const range of [undefined, "bytes=0-9"]) {
      const res = await fetch(`${proxy.url}/v2/${small.repository}/blobs/${small.layers[0].digest}`, {
        headers: range ? { range } : {},
      });
      const body = await res.text().catch((err) => `(body failed: ${err})`);
      assertEquals(internal.seen, [], spelling);
      assert(!res.ok, `${spelling} (${range ?? "whole"}): ${res.status} ${body.slice(0, 200)}`);
      assert(body.includes("Refused to connect"), `${spelling}: ${body.slice(0, 300)}`);
    }
  }
  assertEquals(internal.seen, []);
  assertEquals(await proxy.store.blobs.stat(small.layers[0].digest), undefined);
});

/** A token registry (real), a hostile front, a storage host that challenges, and the capturing server. */
async function credentialTrap() {
  const both = await startTokenRegistry({ token: { users: { alice: "s3cret" } } });
  try {
    const { small } = await seedImages(both.registry, {
      username: "alice",
      password: "s3cret",
      only: ["small"],
    });
    const capture = recorder("127.0.0.1", () => Response.json({ token: "stolen" }));
    const storage = recorder("127.0.0.1", () =>
      new Response("authenticate", {
        status: 401,
        headers: { "www-authenticate": `Bearer realm="${capture.origin}/token",service="storage"` },
      }));
    const front = hostileFront(both.registry.url, (path) => `${storage.origin}${path}?X-Amz-Signature=x`);
    return {
      small,
      front,
      storage,
      capture,
      reference: `${front.host}/${small.repository}:${small.tag}`,
      async [Symbol.asyncDispose]() {
        await front[Symbol.asyncDispose]();
        await storage[Symbol.asyncDispose]();
        await capture[Symbol.asyncDispose]();
        await both.stop();
      },
    };
  } catch (err) {
    await both.stop();
    throw err;
  }
}

Deno.test("pull() answers no challenge from a redirect target: the password never leaves the registry's origin", async () => {
  await using trap = await credentialTrap();
  const store = new MemoryStore();
  const err = await assertRejects(
    () =>
      pull(trap.reference, {
        store,
        credentials: { username: "alice", password: "s3cret" },
        retry: { sleep: () => Promise.resolve() },
      }),
    TugError,
  );
  assertEquals(trap.capture.seen, []);
  assertEquals(trap.storage.seen.filter((s) => s.authorization !== null), []);
  assert(err.message.includes(trap.storage.origin) && err.message.includes("401"), err.message);
  assert(trap.storage.seen.length > 0, "the blob was redirected to storage");
  assertEquals(await store.references.get(trap.reference), undefined);
});

Deno.test("tug pull answers no challenge from a redirect target: the docker config password stays home", async () => {
  await using trap = await credentialTrap();
  await using tmp = await tempDir();
  await Deno.mkdir(`${tmp.dir}/docker`);
  await Deno.writeTextFile(
    `${tmp.dir}/docker/config.json`,
    JSON.stringify({ auths: { [trap.front.host]: { auth: btoa("alice:s3cret") } } }),
  );
  const run = await runTug(["pull", "--store", `${tmp.dir}/store`, trap.reference], {
    env: { DOCKER_CONFIG: `${tmp.dir}/docker` },
  });
  assertEquals(trap.capture.seen, []);
  assertEquals(trap.storage.seen.filter((s) => s.authorization !== null), []);
  assertEquals(run.code, 1, run.stderr);
  assert(run.stderr.includes(trap.storage.origin), run.stderr);
  assert(trap.storage.seen.length > 0, "the blob was redirected to storage");
});

Deno.test("createProxy() answers no challenge from a redirect target with a client's credentials", async () => {
  await using trap = await credentialTrap();
  // The operator allows the storage host on the local network (else the guard stops the redirect first).
  await using proxy = await startProxy({
    upstreams: { local: { url: trap.front.url, allowHosts: ["127.0.0.1"] } },
    defaultUpstream: "local",
    resolveHost: lookupHost,
  });
  const auth = { authorization: `Basic ${btoa("alice:s3cret")}` };
  const manifest = await fetch(`${proxy.url}/v2/${trap.small.repository}/manifests/${trap.small.tag}`, {
    headers: { ...auth, accept: trap.small.manifestMediaType },
  });
  await manifest.body?.cancel();
  assertEquals(manifest.status, 200, "the client's credentials work on the registry itself");
  for (const range of [undefined, "bytes=0-9"]) {
    const res = await fetch(`${proxy.url}/v2/${trap.small.repository}/blobs/${trap.small.layers[0].digest}`, {
      headers: { ...auth, ...(range ? { range } : {}) },
    });
    const body = await res.text();
    assertEquals(trap.capture.seen, []);
    assertEquals(trap.storage.seen.filter((s) => s.authorization !== null), []);
    assert(!res.ok, `${res.status} ${body.slice(0, 200)}`);
    assert(body.includes(trap.storage.origin), body.slice(0, 300));
  }
  assert(trap.storage.seen.length > 0, "the blob was redirected to storage");
});

Deno.test("tug serve refuses a redirect to an internal address and answers no challenge from a redirect target", async () => {
  const { registry, images } = await sharedRegistry();
  await using internal = recorder("0.0.0.0");
  let location = "";
  await using front = hostileFront(registry.url, () => location);
  await using serve = await startTugServe(front.url, "tug-hostile-serve-");
  for (
    const spelling of [
      `http://[::ffff:7f00:2]:${internal.port}/`,
      `http://${Deno.hostname()}:${internal.port}/`,
    ]
  ) {
    location = spelling;
    const res = await fetch(
      `${serve.base}/v2/${images.small.repository}/blobs/${images.small.layers[0].digest}`,
      {
        headers: { range: "bytes=0-9" },
      },
    );
    const body = await res.text();
    assertEquals(internal.seen, [], spelling);
    assert(
      !res.ok && body.includes("Refused to connect"),
      `${spelling}: ${res.status} ${body.slice(0, 300)}`,
    );
  }

  // The operator allowed the local network (--allow-host), so the redirect to storage goes out; the
  // storage host's challenge still gets no credentials and no token request.
  await using trap = await credentialTrap();
  await using allowing = await startTugServe(trap.front.url, "tug-hostile-serve-", [
    "--allow-host",
    "127.0.0.1",
  ]);
  const res = await fetch(
    `${allowing.base}/v2/${trap.small.repository}/blobs/${trap.small.layers[0].digest}`,
    {
      headers: { authorization: `Basic ${btoa("alice:s3cret")}` },
    },
  );
  const body = await res.text();
  assertEquals(trap.capture.seen, []);
  assertEquals(trap.storage.seen.filter((s) => s.authorization !== null), []);
  assert(trap.storage.seen.length > 0, "the blob was redirected to storage");
  assert(!res.ok && body.includes(trap.storage.origin), `${res.status} ${body.slice(0, 300)}`);
});

Deno.test("tug serve keeps a token realm on another host only when --allow-host names it", async () => {
  await using both = await startTokenRegistry({ token: { users: { alice: "s3cret" } } });
  const { small } = await seedImages(both.registry, {
    username: "alice",
    password: "s3cret",
    only: ["small"],
  });
  both.tokenServer.requests.length = 0;
  // The upstream is named "localhost", its token server "127.0.0.1": another host, as auth.example is for
  // registry.example.
  const upstream = both.registry.url.replace("127.0.0.1", "localhost");
  const realmHost = new URL(both.tokenServer.realm).host;
  const manifest = (base: string) =>
    fetch(`${base}/v2/${small.repository}/manifests/${small.tag}`, {
      headers: { authorization: `Basic ${btoa("alice:s3cret")}`, accept: small.manifestMediaType },
    });
  {
    await using serve = await startTugServe(upstream, "tug-realm-serve-");
    const res = await manifest(serve.base);
    await res.body?.cancel();
    assertEquals(res.status, 401);
    assertEquals(both.tokenServer.requests.filter((r) => r.user === "alice").length, 0);
  }
  {
    await using serve = await startTugServe(upstream, "tug-realm-serve-", ["--allow-host", realmHost]);
    const res = await manifest(serve.base);
    assertEquals(res.status, 200, await res.clone().text());
    assertEquals(new Uint8Array(await res.arrayBuffer()), small.manifestBytes);
    assert(
      both.tokenServer.requests.some((r) => r.user === "alice" && r.status === 200),
      "alice got a token",
    );
  }
});

Deno.test("pull() sends v1 Basic credentials only to the index, never to endpoints the index names", async () => {
  const image = buildV1Image([{ entries: [{ path: "etc/hostname", content: "legacy\n" }] }]);
  await using index = startV1Server({
    repositories: { "legacy/app": { v1: image } },
    basic: { username: "alice", password: "s3cret" },
  });
  await using capture = recorder("127.0.0.1", () => new Response("not found", { status: 404 }));
  // A hostile index: hands out no token and names the capturing host as the endpoint to use.
  const front = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const answer = await fetch(`${index.url}${url.pathname}${url.search}`, { headers: req.headers });
    if (!url.pathname.endsWith("/images")) return answer;
    const headers = new Headers(answer.headers);
    headers.delete("x-docker-token");
    headers.set("x-docker-endpoints", `127.0.0.1:${capture.port}`);
    return new Response(answer.body, { status: answer.status, headers });
  });
  try {
    await assertRejects(() =>
      pull(`127.0.0.1:${front.addr.port}/legacy/app:v1`, {
        store: new MemoryStore(),
        legacyRegistry: true,
        credentials: { username: "alice", password: "s3cret" },
        retry: { sleep: () => Promise.resolve() },
      })
    );
    assert(capture.seen.length > 0, "the index's endpoint was asked");
    assertEquals(capture.seen.filter((s) => s.authorization !== null), []);
    assert(
      index.requests.some((r) => r.authorization === `Basic ${btoa("alice:s3cret")}`),
      "the index itself got the credentials",
    );
  } finally {
    await front.shutdown();
  }
});
