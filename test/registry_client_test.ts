// RegistryClient against the real docker-registry (distribution 2.8.2) from the harness: the open shared
// registry, an htpasswd (Basic) registry, and a registry behind the harness token server.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { dockerCredentials } from "../adapters/fs/docker_config.ts";
import { TugError } from "../src/errors.ts";
import { RegistryClient } from "../src/registry/registry_client.ts";
import { TokenCache } from "../src/registry/token_cache.ts";
import {
  fixtureImages,
  pushImage,
  type SeededImages,
  seedImages,
  sharedRegistry,
  startRegistry,
} from "./harness/mod.ts";
import { startTokenRegistry } from "./harness/token_server.ts";

const noWait = { sleep: () => Promise.resolve() };

async function bytesOf(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(body).arrayBuffer());
}

Deno.test("RegistryClient.ping() sees registry/2.0 on the real registry", async () => {
  const { registry } = await sharedRegistry();
  const client = new RegistryClient({ registry: registry.url, repository: "tug/small" });
  assertEquals(await client.ping(), { status: 200, apiVersion: "registry/2.0", challenges: [] });
});

Deno.test("RegistryClient.getManifest() fetches a seeded manifest by tag and by digest", async () => {
  const { registry, images } = await sharedRegistry();
  const { small, multi } = images;
  const client = new RegistryClient({ registry: registry.url, repository: small.repository });
  const byTag = await client.getManifest(small.tag);
  assertEquals(byTag.bytes, small.manifestBytes);
  assertEquals(byTag.contentType, small.manifestMediaType);
  assertEquals(byTag.digestHeader, small.manifestDigest);
  const byDigest = await client.getManifest(small.manifestDigest);
  assertEquals(byDigest.bytes, small.manifestBytes);

  const index = await new RegistryClient({ registry: registry.url, repository: multi.repository })
    .getManifest(multi.tag);
  assertEquals(index.contentType, "application/vnd.oci.image.index.v1+json");
  assertEquals(index.digestHeader, multi.manifestDigest);
});

Deno.test("RegistryClient.headManifest() reports digest, size and media type", async () => {
  const { registry, images } = await sharedRegistry();
  const { small } = images;
  const client = new RegistryClient({ registry: registry.url, repository: small.repository });
  assertEquals(await client.headManifest(small.tag), {
    digest: small.manifestDigest,
    size: small.manifestBytes.byteLength,
    contentType: small.manifestMediaType,
  });
});

Deno.test("RegistryClient names the reference and the registry's answer for unknown manifests", async () => {
  const { registry, images } = await sharedRegistry();
  const client = new RegistryClient({ registry: registry.url, repository: images.small.repository });
  const err = await assertRejects(() => client.getManifest("nope"), TugError, { code: "MANIFEST_UNKNOWN" });
  assertEquals(
    err.message,
    `Cannot fetch manifest "${registry.host}/tug/small:nope": registry returned 404 MANIFEST_UNKNOWN (manifest unknown)`,
  );
  assertEquals((err.detail as { status: number }).status, 404);
  // HEAD answers carry no body: the code comes from the endpoint.
  await assertRejects(() => client.headManifest("nope"), TugError, {
    code: "MANIFEST_UNKNOWN",
    includes: `Cannot check manifest "${registry.host}/tug/small:nope": registry returned 404`,
  });
  const missing = new RegistryClient({ registry: registry.url, repository: "tug/does-not-exist" });
  await assertRejects(() => missing.listTags(), TugError, { code: "NAME_UNKNOWN" });
});

Deno.test("RegistryClient.getBlob() streams a whole blob, then resumes it with Range (206)", async () => {
  const { registry, images } = await sharedRegistry();
  const { small } = images;
  const client = new RegistryClient({ registry: registry.url, repository: small.repository });
  const layer = small.layers[0];
  const whole = await client.getBlob(layer.digest);
  assertEquals([whole.status, whole.start, whole.size], [200, 0, layer.size]);
  const bytes = await bytesOf(whole.body);
  assertEquals(bytes.byteLength, layer.size);

  const start = Math.floor(layer.size / 3);
  const rest = await client.getBlob(layer.digest, { start });
  // distribution 2.8 honours Range on blobs: 206 with Content-Range "bytes START-END/TOTAL"
  assertEquals([rest.status, rest.start, rest.size], [206, start, layer.size]);
  assertEquals(await bytesOf(rest.body), bytes.subarray(start));

  const config = await client.getBlob(small.config.digest, { start: 1 });
  assertEquals(await bytesOf(config.body), small.config.bytes.subarray(1));
});

Deno.test("RegistryClient.getBlob() rejects unknown blobs and ranges past the end", async () => {
  const { registry, images } = await sharedRegistry();
  const { small } = images;
  const client = new RegistryClient({ registry: registry.url, repository: small.repository });
  const unknown = `sha256:${"0".repeat(64)}`;
  await assertRejects(() => client.getBlob(unknown), TugError, {
    code: "BLOB_UNKNOWN",
    includes: `Cannot fetch blob "${registry.host}/tug/small@${unknown}": registry returned 404 BLOB_UNKNOWN`,
  });
  // distribution answers 416 (Content-Range "bytes */SIZE") when the range starts at the end
  await assertRejects(() => client.getBlob(small.config.digest, { start: small.config.size }), TugError, {
    code: "UNEXPECTED_STATUS",
    includes: "registry returned 416",
  });
});

Deno.test("RegistryClient.listTags() pages with n and last even though distribution 2.8 ignores them", async () => {
  const { registry } = await sharedRegistry();
  const fixtures = await fixtureImages();
  const repository = "registry-client/tags";
  for (const tag of ["e", "a", "d", "b", "c"]) await pushImage(registry, repository, fixtures.small, tag);
  const client = new RegistryClient({ registry: registry.url, repository });
  // Without n: every tag, as the registry sent them.
  assertEquals((await client.listTags()).tags.sort(), ["a", "b", "c", "d", "e"]);
  // distribution 2.8 answers every tag without a Link header; the client pages in lexical order.
  const pages: string[][] = [];
  let last: string | undefined;
  for (let i = 0; i < 5; i++) {
    const page = await client.listTags({ n: 2, ...(last !== undefined ? { last } : {}) });
    pages.push(page.tags);
    last = page.next;
    if (last === undefined) break;
  }
  assertEquals(pages, [["a", "b"], ["c", "d"], ["e"]]);
});

// --- Basic auth (htpasswd) ---------------------------------------------------------------------------

async function htpasswdRegistry() {
  const registry = await startRegistry({ auth: { htpasswd: { users: { alice: "s3cret" } } } });
  try {
    const images = await seedImages(registry, { username: "alice", password: "s3cret", only: ["small"] });
    return { registry, images };
  } catch (error) {
    await registry.stop();
    throw error;
  }
}

Deno.test("RegistryClient authenticates with Basic credentials to an htpasswd registry", async () => {
  const { registry, images } = await htpasswdRegistry();
  await using _ = registry;
  const { small } = images as SeededImages;
  const anonymous = new RegistryClient({
    registry: registry.url,
    repository: small.repository,
    retry: noWait,
  });
  const ping = await anonymous.ping();
  assertEquals(ping.status, 401);
  assertEquals(ping.apiVersion, "registry/2.0");
  assertEquals(ping.challenges[0]?.scheme, "basic");
  await assertRejects(() => anonymous.getManifest(small.tag), TugError, {
    code: "UNAUTHORIZED",
    includes: `Cannot fetch manifest "${registry.host}/tug/small:v1": registry returned 401 UNAUTHORIZED`,
  });

  const alice = new RegistryClient({
    registry: registry.url,
    repository: small.repository,
    credentials: { username: "alice", password: "s3cret" },
  });
  assertEquals((await alice.getManifest(small.tag)).digestHeader, small.manifestDigest);
  const blob = await alice.getBlob(small.config.digest);
  assertEquals(await bytesOf(blob.body), small.config.bytes);

  const wrong = new RegistryClient({
    registry: registry.url,
    repository: small.repository,
    credentials: { username: "alice", password: "nope" },
  });
  await assertRejects(() => wrong.headManifest(small.tag), TugError, { code: "UNAUTHORIZED" });
});

Deno.test("RegistryClient reads Basic credentials from a docker config (base64 auth)", async () => {
  const { registry, images } = await htpasswdRegistry();
  await using _ = registry;
  const dir = await Deno.makeTempDir({ prefix: "tug-docker-config-" });
  try {
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({ auths: { [`http://${registry.host}`]: { auth: btoa("alice:s3cret") } } }),
    );
    const client = new RegistryClient({
      registry: registry.url,
      repository: images.small.repository,
      credentials: dockerCredentials({ configDir: dir }),
    });
    assertEquals((await client.headManifest(images.small.tag)).digest, images.small.manifestDigest);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RegistryClient keeps Authorization off a blob redirect to another origin", async () => {
  const { registry, images } = await htpasswdRegistry();
  await using _ = registry;
  const { small } = images as SeededImages;
  const basic = `Basic ${btoa("alice:s3cret")}`;
  // "Storage": another origin that records what arrived and serves the bytes from the registry.
  const storageSaw: { authorization: string | null; range: string | null }[] = [];
  const storage = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    storageSaw.push({ authorization: req.headers.get("authorization"), range: req.headers.get("range") });
    const headers = new Headers({ authorization: basic });
    if (req.headers.has("range")) headers.set("range", req.headers.get("range")!);
    return fetch(`${registry.url}${new URL(req.url).pathname}`, { headers });
  });
  // The "registry" the client talks to: forwards everything, but sends blob GETs to storage with a 307.
  const frontSaw: (string | null)[] = [];
  const front = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    frontSaw.push(req.headers.get("authorization"));
    if (url.pathname.includes("/blobs/") && req.headers.has("authorization")) {
      const location = `http://127.0.0.1:${storage.addr.port}${url.pathname}?signature=x`;
      return new Response(null, { status: 307, headers: { location } });
    }
    return fetch(`${registry.url}${url.pathname}${url.search}`, { method: req.method, headers: req.headers });
  });
  try {
    const client = new RegistryClient({
      registry: `http://127.0.0.1:${front.addr.port}`,
      repository: small.repository,
      credentials: { username: "alice", password: "s3cret" },
    });
    const whole = await client.getBlob(small.config.digest);
    assertEquals(await bytesOf(whole.body), small.config.bytes);
    const rest = await client.getBlob(small.config.digest, { start: 10 });
    assertEquals([rest.status, rest.start, rest.size], [206, 10, small.config.size]);
    assertEquals(await bytesOf(rest.body), small.config.bytes.subarray(10));
    assertEquals(storageSaw, [{ authorization: null, range: null }, {
      authorization: null,
      range: "bytes=10-",
    }]);
    assert(frontSaw.includes(basic), "the registry's own origin got the credentials");
  } finally {
    await front.shutdown();
    await storage.shutdown();
  }
});

// --- Token auth ---------------------------------------------------------------------------------------

async function tokenRegistry() {
  const both = await startTokenRegistry({ token: { users: { alice: "s3cret" } } });
  try {
    const images = await seedImages(both.registry, {
      username: "alice",
      password: "s3cret",
      only: ["small"],
    });
    both.tokenServer.requests.length = 0;
    return { ...both, images };
  } catch (error) {
    await both.stop();
    throw error;
  }
}

Deno.test("RegistryClient gets tokens from the token server: anonymous is denied, credentials work", async () => {
  const env = await tokenRegistry();
  await using _ = env;
  const { registry, tokenServer, images: { small } } = env;

  const ping = await new RegistryClient({ registry: registry.url, repository: small.repository }).ping();
  assertEquals([ping.status, ping.apiVersion, ping.challenges[0]?.scheme], [401, "registry/2.0", "bearer"]);
  assertEquals(ping.challenges[0]?.params.realm, tokenServer.realm);

  const anonymous = new RegistryClient({
    registry: registry.url,
    repository: small.repository,
    retry: noWait,
  });
  // docker-registry answers an anonymous token with 401 and `Bearer error="insufficient_scope"`: DENIED, as
  // Docker's HandleErrorResponse reads it (the body's UNAUTHORIZED follows it).
  await assertRejects(() => anonymous.getManifest(small.tag), TugError, {
    code: "DENIED",
    includes: "registry returned 401 DENIED",
  });
  assert(tokenServer.requests.length >= 1 && tokenServer.requests.every((r) => r.user === undefined));

  tokenServer.requests.length = 0;
  const alice = new RegistryClient({
    registry: registry.url,
    repository: small.repository,
    credentials: { username: "alice", password: "s3cret" },
  });
  assertEquals((await alice.getManifest(small.tag)).digestHeader, small.manifestDigest);
  assertEquals(await bytesOf((await alice.getBlob(small.config.digest)).body), small.config.bytes);
  assertEquals((await alice.headManifest(small.tag)).digest, small.manifestDigest);
  // one token for the repository scope, reused for every later request
  assertEquals(tokenServer.requests.map((r) => [r.method, r.account, r.user, r.scope, r.service]), [
    ["GET", "alice", "alice", "repository:tug/small:pull", tokenServer.service],
  ]);
});

Deno.test("RegistryClient reports a refused token request as AUTH_FAILED naming the realm", async () => {
  const env = await tokenRegistry();
  await using _ = env;
  const { registry, tokenServer, images: { small } } = env;
  const wrong = new RegistryClient({
    registry: registry.url,
    repository: small.repository,
    credentials: { username: "alice", password: "nope" },
  });
  const err = await assertRejects(() => wrong.getManifest(small.tag), TugError, { code: "AUTH_FAILED" });
  assertStringIncludes(err.message, `Cannot get a token from "${tokenServer.realm}"`);
  assertStringIncludes(err.message, "token server returned 401");
});

/** Asks the token server for an OAuth2 refresh token (what `docker login` stores as identitytoken). */
async function refreshToken(realm: string, service: string): Promise<string> {
  const url = `${realm}?service=${service}&offline_token=true&account=alice`;
  const res = await fetch(url, { headers: { authorization: `Basic ${btoa("alice:s3cret")}` } });
  const body = await res.json();
  assert(typeof body.refresh_token === "string", "the token server issues refresh tokens");
  return body.refresh_token;
}

Deno.test("RegistryClient trades an identity token for access tokens with a refresh_token POST", async () => {
  const env = await tokenRegistry();
  await using _ = env;
  const { registry, tokenServer, images: { small } } = env;
  const identityToken = await refreshToken(tokenServer.realm, tokenServer.service);
  tokenServer.requests.length = 0;
  const client = new RegistryClient({
    registry: registry.url,
    repository: small.repository,
    credentials: { identityToken },
  });
  assertEquals((await client.getManifest(small.tag)).digestHeader, small.manifestDigest);
  assertEquals(tokenServer.requests.map((r) => [r.method, r.grantType, r.user, r.scope, r.status]), [
    ["POST", "refresh_token", "alice", "repository:tug/small:pull", 200],
  ]);
});

Deno.test("RegistryClient uses a docker config's identitytoken and a credential helper's <token>", async () => {
  const env = await tokenRegistry();
  await using _ = env;
  const { registry, tokenServer, images: { small } } = env;
  const identityToken = await refreshToken(tokenServer.realm, tokenServer.service);
  const dir = await Deno.makeTempDir({ prefix: "tug-docker-config-" });
  try {
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({
        auths: { [registry.host]: { auth: btoa("alice:wrong"), identitytoken: identityToken } },
      }),
    );
    const fromFile = new RegistryClient({
      registry: registry.url,
      repository: small.repository,
      credentials: dockerCredentials({ configDir: dir }),
    });
    assertEquals((await fromFile.headManifest(small.tag)).digest, small.manifestDigest);

    // A credential helper on PATH, as `docker login` with credHelpers leaves it.
    const bin = `${dir}/bin`;
    await Deno.mkdir(bin);
    await Deno.writeTextFile(
      `${bin}/docker-credential-tugtest`,
      `#!/bin/sh\nread url\n[ "$url" = "${registry.host}" ] || { echo "credentials not found in native keychain"; exit 1; }\n` +
        `echo '{"ServerURL":"'"$url"'","Username":"<token>","Secret":"${identityToken}"}'\n`,
    );
    await Deno.chmod(`${bin}/docker-credential-tugtest`, 0o755);
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({ credHelpers: { [registry.host]: "tugtest" } }),
    );
    tokenServer.requests.length = 0;
    const fromHelper = new RegistryClient({
      registry: registry.url,
      repository: small.repository,
      credentials: dockerCredentials({ configDir: dir, env: { PATH: `${bin}:${Deno.env.get("PATH")}` } }),
    });
    assertEquals((await fromHelper.getManifest(small.tag)).digestHeader, small.manifestDigest);
    assertEquals(tokenServer.requests.map((r) => [r.grantType, r.user]), [["refresh_token", "alice"]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RegistryClients sharing a TokenCache share the token and authenticate up front", async () => {
  const env = await tokenRegistry();
  await using _ = env;
  const { registry, tokenServer, images: { small } } = env;
  const tokenCache = new TokenCache();
  const credentials = { username: "alice", password: "s3cret" };
  const a = new RegistryClient({
    registry: registry.url,
    repository: small.repository,
    credentials,
    tokenCache,
  });
  const b = new RegistryClient({
    registry: registry.url,
    repository: small.repository,
    credentials,
    tokenCache,
  });
  await a.headManifest(small.tag);
  await b.headManifest(small.tag);
  await b.getBlob(small.config.digest).then((blob) => blob.body.cancel());
  assertEquals(tokenServer.requests.length, 1);
  const log = await registry.readLog();
  // only the first request met a 401
  const unauthorized = log.split("\n").filter((line) =>
    /"(GET|HEAD) \/v2\/tug\/small\/[^"]*" 401/.test(line)
  );
  assertEquals(unauthorized.length, 1, unauthorized.join("\n"));
});
