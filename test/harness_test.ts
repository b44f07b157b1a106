// Tests of the registry test harness itself, against the real docker-registry process.
import { assert, assertEquals, assertMatch, assertRejects, assertStringIncludes } from "./_assert.ts";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { startRegistry } from "./harness/registry.ts";
import { type SeededManifest, seedImages } from "./harness/seed.ts";
import { sharedRegistry } from "./harness/shared_registry.ts";
import { createTar } from "./harness/tar.ts";
import { buildImage, MEDIA_TYPES } from "./harness/images.ts";
import { fetchToken, parseChallenge, registryFetch } from "./harness/registry_fetch.ts";
import { libtrustKeyId, startTokenRegistry } from "./harness/token_server.ts";
import { pushImage } from "./harness/seed.ts";
import { createCertificate } from "./harness/certificate.ts";
import { freePort } from "./harness/port.ts";

const ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.dockerManifest,
].join(", ");

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

async function getBytes(url: string, init: RequestInit = {}): Promise<{ res: Response; bytes: Uint8Array }> {
  const res = await fetch(url, init);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { res, bytes };
}

/** Streams a blob and hashes it on the way (the large one is 64+ MiB). */
async function hashBlob(url: string): Promise<{ status: number; digest: string; size: number }> {
  const res = await fetch(url);
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of res.body!) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { status: res.status, digest: `sha256:${hash.digest("hex")}`, size };
}

async function checkManifestAndBlobs(base: string, m: SeededManifest, reference: string): Promise<void> {
  const { res, bytes } = await getBytes(`${base}/v2/${m.repository}/manifests/${reference}`, {
    headers: { Accept: ACCEPT },
  });
  assertEquals(res.status, 200, `GET manifest ${m.repository}:${reference}`);
  assertEquals(res.headers.get("Content-Type"), m.manifestMediaType);
  assertEquals(res.headers.get("Docker-Content-Digest"), m.manifestDigest);
  assertEquals(bytes, m.manifestBytes);
  assertEquals(sha256(bytes), m.manifestDigest);
  const manifest = JSON.parse(new TextDecoder().decode(bytes));
  assertEquals(manifest.config.digest, m.config.digest);
  for (const blob of [m.config, ...m.layers]) {
    const got = await hashBlob(`${base}/v2/${m.repository}/blobs/${blob.digest}`);
    assertEquals(got, { status: 200, digest: blob.digest, size: blob.size });
  }
  assertEquals(
    manifest.layers.map((l: { mediaType: string }) => l.mediaType),
    m.layers.map((l) => l.mediaType),
  );
}

Deno.test("startRegistry() serves GET /v2/ and stop() kills the process and removes its folders", async () => {
  const t0 = performance.now();
  const registry = await startRegistry();
  const started = performance.now() - t0;
  assertMatch(registry.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assertEquals(registry.host, `127.0.0.1:${registry.port}`);
  const res = await fetch(`${registry.url}/v2/`);
  await res.body?.cancel();
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("Docker-Distribution-API-Version"), "registry/2.0");
  assert(started < 15_000, `start took ${started} ms`);
  const config = await Deno.readTextFile(registry.configPath);
  assertStringIncludes(config, registry.storageDir);
  assertStringIncludes(await registry.readLog(), '"GET /v2/ HTTP/1.1" 200');
  await registry.stop();
  assert(
    !(await exists(`/proc/${registry.pid}`)) || (await isZombie(registry.pid)),
    "registry still running",
  );
  assert(!(await exists(registry.configPath)), "config left behind");
  assert(!(await exists(registry.storageDir)), "storage left behind");
  await registry.stop(); // idempotent
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function isZombie(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

Deno.test("startRegistry() names the Debian package when the binary is missing", async () => {
  await assertRejects(
    () => startRegistry({ binary: "/nonexistent/docker-registry" }),
    Error,
    "docker-registry not found: install the Debian package docker-registry",
  );
  const before = Deno.env.get("TUG_TEST_REGISTRY_BIN");
  Deno.env.set("TUG_TEST_REGISTRY_BIN", "no-such-registry-binary");
  try {
    await assertRejects(() => startRegistry(), Error, "install the Debian package docker-registry");
  } finally {
    if (before === undefined) Deno.env.delete("TUG_TEST_REGISTRY_BIN");
    else Deno.env.set("TUG_TEST_REGISTRY_BIN", before);
  }
});

Deno.test("startRegistry() reports the log tail when the registry cannot start", async () => {
  await assertRejects(
    () => startRegistry({ extra: { storage: { filesystem: { rootdirectory: 42 }, inmemory: {} } } }),
    Error,
    "log tail",
  );
});

Deno.test("seedImages() pushes four images that read back byte for byte", async () => {
  await using registry = await startRegistry();
  const t0 = performance.now();
  const images = await seedImages(registry);
  const seeded = performance.now() - t0;
  const base = registry.url;

  // small: Docker schema2, 3 gzip layers.
  assertEquals(images.small.reference, `${registry.host}/tug/small:v1`);
  assertEquals(images.small.manifestMediaType, MEDIA_TYPES.dockerManifest);
  assertEquals(images.small.layers.length, 3);
  await checkManifestAndBlobs(base, images.small, images.small.tag);
  const config = JSON.parse(new TextDecoder().decode(images.small.config.bytes));
  assertEquals(config.rootfs.diff_ids, images.small.layers.map((l) => l.diffId));
  assertEquals(config.config.WorkingDir, "/app");
  assertEquals(config.history.filter((h: { empty_layer?: boolean }) => !h.empty_layer).length, 3);
  assert(config.history.some((h: { empty_layer?: boolean }) => h.empty_layer));
  const layer2 = images.small.layers[1].files;
  assert(layer2.some((f) => f.path === "etc/.wh.motd"));
  assert(layer2.some((f) => f.type === "hardlink" && f.linkname === "app/data.txt"));
  assert(images.small.layers[0].files.some((f) => f.type === "symlink"));
  assert(images.small.layers[0].files.some((f) => f.path.length > 100), "a PAX long path");
  // diffId is the sha256 of the uncompressed layer.
  const { bytes: gz } = await getBytes(`${base}/v2/tug/small/blobs/${images.small.layers[0].digest}`);
  assertEquals(sha256(gunzipSync(gz)), images.small.layers[0].diffId);

  // multi: OCI index with two platforms and an attestation.
  const multi = images.multi;
  assertEquals(multi.manifestMediaType, MEDIA_TYPES.ociIndex);
  const { res, bytes } = await getBytes(`${base}/v2/${multi.repository}/manifests/${multi.tag}`, {
    headers: { Accept: ACCEPT },
  });
  assertEquals(res.status, 200);
  assertEquals(bytes, multi.manifestBytes);
  assertEquals(sha256(bytes), multi.manifestDigest);
  const index = JSON.parse(new TextDecoder().decode(bytes));
  assertEquals(
    index.manifests.map((m: { platform: { os: string; architecture: string; variant?: string } }) =>
      [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join("/")
    ),
    ["linux/amd64", "linux/arm64/v8", "unknown/unknown"],
  );
  for (const [platform, image] of Object.entries(multi.images)) {
    await checkManifestAndBlobs(base, image, image.manifestDigest);
    const arch = image.layers[0].files.find((f) => f.path === "arch.txt");
    assertEquals(arch?.sha256, sha256(new TextEncoder().encode(`${platform.split("/")[1]}\n`)).slice(7));
  }
  assert(multi.images["linux/amd64"].layers[0].digest !== multi.images["linux/arm64/v8"].layers[0].digest);
  await checkManifestAndBlobs(base, multi.attestation, multi.attestation.manifestDigest);

  // large: ≥ 64 MiB of random data in one gzip layer.
  assert(
    images.large.layers[0].size >= 64 * 1024 * 1024,
    `large layer is ${images.large.layers[0].size} bytes`,
  );
  await checkManifestAndBlobs(base, images.large, images.large.tag);

  // zstd: OCI layer compressed with zstd.
  assertEquals(images.zstd.layers[0].mediaType, MEDIA_TYPES.ociLayerZstd);
  await checkManifestAndBlobs(base, images.zstd, images.zstd.tag);
  const { bytes: zst } = await getBytes(`${base}/v2/tug/zstd/blobs/${images.zstd.layers[0].digest}`);
  assertEquals([...zst.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], "zstd frame magic");

  console.log(`seedImages(): ${seeded.toFixed(0)} ms`);
});

Deno.test("sharedRegistry() returns one seeded registry per process", async () => {
  const a = await sharedRegistry();
  const b = await sharedRegistry();
  assert(a === b, "same instance");
  const res = await fetch(
    `${a.registry.url}/v2/${a.images.small.repository}/manifests/${a.images.small.tag}`,
    {
      method: "HEAD",
      headers: { Accept: ACCEPT },
    },
  );
  await res.body?.cancel();
  assertEquals(res.headers.get("Docker-Content-Digest"), a.images.small.manifestDigest);
});

Deno.test("createTar() writes ustar headers with valid checksums and PAX records GNU tar reads", async () => {
  const long = `${"d".repeat(120)}/${"f".repeat(120)}`;
  const tar = createTar([
    { path: long, content: "x", mode: 0o640, uid: 1000, gid: 1001, mtime: 1700000000 },
    { path: "l", type: "symlink", linkname: "t".repeat(150) },
    { path: "dir", type: "directory", mode: 0o700 },
    { path: "hard", type: "hardlink", linkname: long },
  ]);
  // File: PAX header + records + header + content; symlink: PAX + records + header; directory: header;
  // hard link (long target): PAX + records + header; then 2 end blocks.
  assertEquals(tar.length, 512 * 13);
  for (const at of [0, 1024, 2048, 3072, 3584, 4096, 5120]) {
    const block = tar.subarray(at, at + 512);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
    assertEquals(parseInt(new TextDecoder().decode(block.subarray(148, 154)), 8), sum, `checksum at ${at}`);
    assertEquals(new TextDecoder().decode(block.subarray(257, 263)), "ustar\0");
  }
  assertEquals(String.fromCharCode(tar[156]), "x");
  assertEquals([...tar.subarray(tar.length - 1024)].every((b) => b === 0), true);
  assertEquals(createTar([{ path: "a" }], { omitEndBlocks: true }).length, 512);
  const path = await Deno.makeTempFile({ suffix: ".tar" });
  try {
    await Deno.writeFile(path, tar);
    const out = await new Deno.Command("tar", { args: ["--numeric-owner", "-tvf", path], stdout: "piped" })
      .output();
    assert(out.success, "tar -tvf failed");
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    assertEquals(lines.length, 4);
    assertMatch(lines[0], new RegExp(`^-rw-r----- 1000/1001 +1 2023-11-1\\d \\d\\d:\\d\\d ${long}$`));
    assertMatch(lines[1], new RegExp(`^lrwxrwxrwx 0/0 .* l -> ${"t".repeat(150)}$`));
    assertMatch(lines[2], /^drwx------ 0\/0 .* dir\/$/);
    assertMatch(lines[3], new RegExp(`^hrw-r--r-- 0/0 .* hard link to ${long}$`));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("startRegistry() with htpasswd auth: anonymous gets 401 Basic, the right password 200", async () => {
  await using registry = await startRegistry({ auth: { htpasswd: { users: { alice: "s3cret" } } } });
  const anon = await fetch(`${registry.url}/v2/`);
  await anon.body?.cancel();
  assertEquals(anon.status, 401);
  assertMatch(anon.headers.get("WWW-Authenticate") ?? "", /^Basic realm=/);
  const good = await fetch(`${registry.url}/v2/`, {
    headers: { Authorization: `Basic ${btoa("alice:s3cret")}` },
  });
  await good.body?.cancel();
  assertEquals(good.status, 200);
  const bad = await fetch(`${registry.url}/v2/`, {
    headers: { Authorization: `Basic ${btoa("alice:wrong")}` },
  });
  await bad.body?.cancel();
  assertEquals(bad.status, 401);
  const images = await seedImages(registry, { username: "alice", password: "s3cret", only: ["small"] });
  const res = await registryFetch(`${registry.url}/v2/tug/small/manifests/v1`, {
    headers: { Accept: images.small.manifestMediaType },
  }, { username: "alice", password: "s3cret" });
  assertEquals(new Uint8Array(await res.arrayBuffer()), images.small.manifestBytes);
});

for (const keyHeader of ["x5c", "kid"] as const) {
  Deno.test(`startTokenRegistry() registry accepts the token server's JWTs (key named by ${keyHeader})`, async () => {
    await using both = await startTokenRegistry({
      token: {
        users: { alice: "secret", bob: "hunter2" },
        keyHeader,
        // alice may do anything; bob may only pull tug/multi; anonymous may pull nothing.
        access: (user, _scope, parsed) =>
          user === "alice" ? parsed.actions : user === "bob" && parsed.name === "tug/multi" ? ["pull"] : [],
      },
    });
    const { registry, tokenServer } = both;
    const images = await seedImages(registry, { username: "alice", password: "secret", only: ["small"] });
    const url = `${registry.url}/v2/tug/small/manifests/v1`;

    // 1. Anonymous: 401 with a Bearer challenge naming the realm, service and scope.
    const anon = await fetch(url);
    await anon.body?.cancel();
    assertEquals(anon.status, 401);
    const challenge = parseChallenge(anon.headers.get("WWW-Authenticate") ?? "");
    assertEquals(challenge, {
      scheme: "bearer",
      params: { realm: tokenServer.realm, service: tokenServer.service, scope: "repository:tug/small:pull" },
    });

    // 2. A token for alice opens the pull.
    const token = await fetchToken(tokenServer.realm, {
      service: challenge.params.service,
      scope: challenge.params.scope,
      username: "alice",
      password: "secret",
    });
    const header = JSON.parse(new TextDecoder().decode(b64url(token.split(".")[0])));
    assertEquals(header.kid, tokenServer.keyId);
    assertEquals(header.x5c !== undefined, keyHeader === "x5c");
    const pulled = await fetch(url, {
      headers: { Authorization: `Bearer ${token}`, Accept: MEDIA_TYPES.dockerManifest },
    });
    assertEquals(pulled.status, 200);
    assertEquals(new Uint8Array(await pulled.arrayBuffer()), images.small.manifestBytes);
    assertEquals(tokenServer.requests.at(-1), {
      method: "GET",
      account: "alice",
      scope: "repository:tug/small:pull",
      service: tokenServer.service,
      user: "alice",
      status: 200,
    });

    // 3. bob gets a token without access to tug/small: the registry refuses it.
    const bobToken = await fetchToken(tokenServer.realm, {
      service: tokenServer.service,
      scope: "repository:tug/small:pull",
      username: "bob",
      password: "hunter2",
    });
    const denied = await fetch(url, { headers: { Authorization: `Bearer ${bobToken}` } });
    await denied.body?.cancel();
    assertEquals(denied.status, 401);
    assertStringIncludes(denied.headers.get("WWW-Authenticate") ?? "", 'error="insufficient_scope"');

    // 4. Wrong password: the token server itself says 401.
    await assertRejects(
      () => fetchToken(tokenServer.realm, { service: tokenServer.service, username: "bob", password: "x" }),
      Error,
      "status 401",
    );
  });
}

Deno.test("startTokenServer() OAuth2 POST: password grant with offline token, then refresh_token grant", async () => {
  await using both = await startTokenRegistry({ token: { users: { alice: "secret" } } });
  const { registry, tokenServer } = both;
  await seedImages(registry, { username: "alice", password: "secret", only: ["zstd"] });
  const post = (form: Record<string, string>) =>
    fetch(tokenServer.realm, { method: "POST", body: new URLSearchParams(form) });
  const first = await post({
    grant_type: "password",
    username: "alice",
    password: "secret",
    service: tokenServer.service,
    scope: "repository:tug/zstd:pull",
    client_id: "tug-test",
    access_type: "offline",
  });
  assertEquals(first.status, 200);
  const body = await first.json();
  assert(typeof body.refresh_token === "string", "a refresh token");
  const second = await post({
    grant_type: "refresh_token",
    refresh_token: body.refresh_token,
    service: tokenServer.service,
    scope: "repository:tug/zstd:pull",
    client_id: "tug-test",
  });
  assertEquals(second.status, 200);
  const { access_token } = await second.json();
  const res = await fetch(`${registry.url}/v2/tug/zstd/tags/list`, {
    headers: { Authorization: `Bearer ${access_token}` },
  });
  assertEquals(await res.json(), { name: "tug/zstd", tags: ["v1"] });
  assertEquals(tokenServer.requests.slice(-2).map((r) => [r.method, r.grantType, r.user, r.status]), [
    ["POST", "password", "alice", 200],
    ["POST", "refresh_token", "alice", 200],
  ]);
  const bad = await post({
    grant_type: "refresh_token",
    refresh_token: "nope",
    service: tokenServer.service,
  });
  await bad.body?.cancel();
  assertEquals(bad.status, 401);
});

Deno.test("libtrustKeyId() formats twelve base32 groups of four", () => {
  assertMatch(libtrustKeyId(new Uint8Array([1, 2, 3])), /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
});

Deno.test("startRegistry() in proxy mode serves the small image from an upstream registry", async () => {
  await using upstream = await startRegistry();
  const images = await seedImages(upstream, { only: ["small"] });
  await using proxy = await startRegistry({ proxy: { remoteurl: upstream.url } });
  const res = await fetch(`${proxy.url}/v2/tug/small/manifests/v1`, { headers: { Accept: ACCEPT } });
  assertEquals(res.status, 200);
  assertEquals(new Uint8Array(await res.arrayBuffer()), images.small.manifestBytes);
  for (const blob of [images.small.config, ...images.small.layers]) {
    assertEquals((await hashBlob(`${proxy.url}/v2/tug/small/blobs/${blob.digest}`)).digest, blob.digest);
  }
  // The upstream's access log shows the proxy's fetches (tests count these to prove caching).
  const layerPath = `/v2/tug/small/blobs/${images.small.layers[0].digest}`;
  const gets = (await upstream.accessLog()).filter((e) => e.method === "GET" && e.path === layerPath);
  // Distribution's own proxy may fetch a blob again while its first copy is still being stored.
  assert(gets.length >= 1 && gets.every((e) => e.status === 200), "the proxy fetched the layer upstream");
  assert(gets.every((e) => e.userAgent.startsWith("Go-http-client")), "fetched by the proxy registry");
  const log = await upstream.readLog();
  assertMatch(log, /"GET \/v2\/tug\/small\/manifests\/v1 HTTP\/1\.1" 200/);
  assertMatch(log, new RegExp(`"GET /v2/tug/small/blobs/${images.small.layers[0].digest} HTTP/1\\.1" 200`));
});

Deno.test("startRegistry() serves HTTPS with a certificate from createCertificate()", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cert = await createCertificate(dir);
    await using registry = await startRegistry({
      tls: { certificate: cert.certificatePath, key: cert.keyPath },
    });
    assertMatch(registry.url, /^https:/);
    const client = Deno.createHttpClient({ caCerts: [cert.certificatePem] });
    try {
      const res = await fetch(`${registry.url}/v2/`, { client });
      await res.body?.cancel();
      assertEquals(res.status, 200);
    } finally {
      client.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startRegistry() with schema1 on still takes schema2 pushes from pushImage()", async () => {
  await using registry = await startRegistry({ schema1: true });
  assertStringIncludes(await Deno.readTextFile(registry.configPath), '"schema1"');
  const image = await buildImage({ layers: [{ entries: [{ path: "a.txt", content: "a" }] }] });
  await pushImage(registry, "custom/one", image, "t");
  const res = await fetch(`${registry.url}/v2/custom/one/manifests/t`, { headers: { Accept: ACCEPT } });
  assertEquals(new Uint8Array(await res.arrayBuffer()), image.manifestBytes);
  // Without a schema2 Accept, distribution 2.8 converts to a schema1 manifest signed by itself (how
  // tests get schema1 content without signing one).
  const legacy = await fetch(`${registry.url}/v2/custom/one/manifests/t`);
  assertEquals(
    legacy.headers.get("Content-Type"),
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
  );
  const signed = await legacy.json();
  assertEquals(signed.schemaVersion, 1);
  assertEquals(signed.fsLayers[0].blobSum, image.layers[0].digest);
  assert(signed.signatures.length > 0, "signed");
});

function b64url(text: string): Uint8Array {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

Deno.test("startRegistry() registries die with the test process even when nobody stops them", async () => {
  const script = `
    import { startRegistry } from ${JSON.stringify(new URL("./harness/registry.ts", import.meta.url).href)};
    const r = await startRegistry();
    console.log(r.pid);
    if (Deno.args[0] === "kill") Deno.kill(Deno.pid, "SIGKILL");
  `;
  for (const mode of ["exit", "kill"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script, mode],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const pid = Number(new TextDecoder().decode(out.stdout).trim());
    assert(pid > 0, `child printed no pid: ${new TextDecoder().decode(out.stderr)}`);
    // "exit": the unload listener kills it at once; "kill": the watchdog notices within about a second.
    let alive = true;
    for (let i = 0; i < 60 && alive; i++) {
      alive = (await exists(`/proc/${pid}`)) && !(await isZombie(pid));
      if (alive) await new Promise((r) => setTimeout(r, 100));
    }
    assert(!alive, `registry ${pid} outlived its test process (${mode})`);
  }
});

Deno.test("freePort() picks a port below the kernel's ephemeral range (no connect() or bind(0) takes it) that nobody listens on", () => {
  const [low] = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/).map(
    Number,
  );
  for (let i = 0; i < 20; i++) {
    const port = freePort();
    assert(port >= 10_000 && port < low, `${port} is outside [10000, ${low})`);
    // Free: this test can bind it itself.
    Deno.listen({ hostname: "127.0.0.1", port }).close();
  }
  // The kernel's own picks for outgoing connections come from the range, never below it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  assert((listener.addr as Deno.NetAddr).port >= low);
  listener.close();
});
