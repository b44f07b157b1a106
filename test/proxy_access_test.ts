// Who may read what through the proxy: a cached blob or manifest reaches caller C through repository R only
// after the upstream confirmed, for C's credentials, that R holds it (issue H, finding 2). Every test runs a
// real docker-registry with token auth from test/harness, and real content pushed through its API.
import { assert, assertEquals } from "./_assert.ts";
import {
  buildImage,
  buildIndex,
  type BuiltImage,
  jsonBlob,
  MEDIA_TYPES,
  pushImage,
  pushManifest,
  registryFetch,
  startTokenRegistry,
  type TokenRegistry,
} from "./harness/mod.ts";
import { bytesOf, countRequests, startProxy, type TestProxy, waitForBlob } from "./_proxy_helpers.ts";

const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;
const ALICE = { username: "alice", password: "wonderland" };
const AUTH = {
  alice: basic("alice", "wonderland"),
  bob: basic("bob", "builder"),
  carol: basic("carol", "singer"),
};

/**
 * alice may do anything; carol may pull everything; bob and anonymous may pull `public/*` only. (bob is "a
 * second user with different rights".)
 */
function startUpstream(extra?: Record<string, unknown>): Promise<TokenRegistry> {
  return startTokenRegistry({
    ...(extra ? { registry: { extra } } : {}),
    token: {
      users: { alice: "wonderland", bob: "builder", carol: "singer" },
      access: (user, _scope, parsed) => {
        if (user === "alice") return parsed.actions;
        if (user === "carol") return parsed.actions.filter((a) => a === "pull");
        return parsed.name.startsWith("public/") ? parsed.actions.filter((a) => a === "pull") : [];
      },
    },
  });
}

const privateImage = (text: string) =>
  buildImage({ format: "oci", layers: [{ entries: [{ path: "secret.txt", content: text }] }] });

/** alice pulls `private/app:v1` through the proxy: manifest by tag and by digest, config and layer, cached. */
async function alicePulls(proxy: TestProxy, image: BuiltImage, repo = "private/app"): Promise<void> {
  const headers = { authorization: AUTH.alice, accept: image.manifestMediaType };
  for (const ref of ["v1", image.manifestDigest]) {
    const m = await fetch(`${proxy.url}/v2/${repo}/manifests/${ref}`, { headers });
    assertEquals(m.status, 200, ref);
    assertEquals(await bytesOf(m), image.manifestBytes);
  }
  for (const blob of [image.config, image.layers[0]]) {
    const b = await fetch(`${proxy.url}/v2/${repo}/blobs/${blob.digest}`, { headers });
    assertEquals(b.status, 200, blob.digest);
    assertEquals(await bytesOf(b), new Uint8Array(blob.bytes));
    assertEquals(await waitForBlob(proxy.store, blob.digest), blob.size);
  }
}

/** GET, HEAD and a Range GET of `path` as `authorization` (none: anonymous): every answer's status and code. */
async function tryRead(proxy: TestProxy, path: string, authorization?: string, accept?: string) {
  const out: string[] = [];
  for (const [method, range] of [["GET", undefined], ["HEAD", undefined], ["GET", "bytes=0-9"]]) {
    const headers: Record<string, string> = {};
    if (authorization) headers.authorization = authorization;
    if (accept) headers.accept = accept;
    if (range) headers.range = range;
    const res = await fetch(`${proxy.url}/v2/${path}`, { method, headers });
    const text = await res.text();
    const code = method === "HEAD" || res.status < 400 ? "" : JSON.parse(text).errors[0].code;
    out.push(`${method}${range ? " range" : ""} ${res.status} ${code}`.trim());
    if (res.status === 401) {
      assert(
        res.headers.get("www-authenticate")?.startsWith("Bearer realm="),
        `${path}: 401 without challenge`,
      );
    }
  }
  return out;
}

const refused = (status: number, code: string) => [
  `GET ${status} ${code}`,
  `HEAD ${status}`,
  `GET range ${status} ${code}`,
];

/** Pushes into `public/app` (as alice) manifests that name the private digests in untyped places. */
async function pushNamingManifests(
  upstream: TokenRegistry,
  open: BuiltImage,
  secret: BuiltImage,
): Promise<string[]> {
  await pushImage(upstream.registry, "public/app", open, "v1", ALICE);
  const layer = secret.layers[0];
  const describe = (d: { digest: string; size: number }, mediaType: string) => ({
    mediaType,
    digest: d.digest,
    size: d.size,
  });
  const variants: Record<string, unknown>[] = [
    // OCI 1.1 `subject`: registries accept a digest they do not hold (distribution-spec "Pushing Manifests
    // with Subject"), so it proves nothing about the repository.
    { subject: describe(layer, layer.mediaType) },
    { subject: describe(secret.config, secret.config.mediaType) },
    {
      subject: {
        mediaType: secret.manifestMediaType,
        digest: secret.manifestDigest,
        size: secret.manifestBytes.length,
      },
    },
    // The withdrawn OCI artifact manifest's `blobs`, smuggled into an image manifest.
    {
      artifactType: "application/vnd.tug.test",
      blobs: [describe(layer, layer.mediaType), describe(secret.config, secret.config.mediaType)],
    },
    // Annotations, on the manifest and on a layer descriptor.
    { annotations: { "org.example.digest": layer.digest, "org.example.config": secret.config.digest } },
  ];
  const tags: string[] = [];
  for (const [i, extra] of variants.entries()) {
    const manifest = { ...open.manifest, ...extra };
    const blob = jsonBlob(manifest, open.manifestMediaType);
    await pushManifest(
      upstream.registry,
      "public/app",
      `naming${i}`,
      blob.bytes,
      open.manifestMediaType,
      ALICE,
    );
    tags.push(`naming${i}`);
  }
  return tags;
}

Deno.test("createProxy() serves no private blob through a public manifest naming its digest in subject, blobs or annotations", async () => {
  await using upstream = await startUpstream();
  const secret = await privateImage("only for alice\n");
  const open = await buildImage({
    format: "oci",
    layers: [{ entries: [{ path: "open.txt", content: "hi\n" }] }],
  });
  await pushImage(upstream.registry, "private/app", secret, "v1", ALICE);
  const tags = await pushNamingManifests(upstream, open, secret);
  await using proxy = await startProxy({ upstreams: { up: upstream.registry.url } });
  await alicePulls(proxy, secret);

  // Anonymous, bob (pull on public/* only) and even alice read the naming manifests: 200.
  for (const who of [undefined, AUTH.bob, AUTH.alice]) {
    for (const tag of tags) {
      const res = await fetch(`${proxy.url}/v2/public/app/manifests/${tag}`, {
        headers: { accept: open.manifestMediaType, ...(who ? { authorization: who } : {}) },
      });
      assertEquals(res.status, 200, tag);
      await res.body?.cancel();
    }
  }
  const before = (await upstream.registry.accessLog()).length;
  const tokensBefore = upstream.tokenServer.requests.length;
  // Through public/app the private layer and config are unknown, as the registry says: 404 BLOB_UNKNOWN.
  for (const who of [undefined, AUTH.bob]) {
    for (const blob of [secret.layers[0], secret.config]) {
      assertEquals(
        await tryRead(proxy, `public/app/blobs/${blob.digest}`, who),
        refused(404, "BLOB_UNKNOWN"),
        `${who ?? "anonymous"} public/app/blobs/${blob.digest}`,
      );
    }
    // The private manifest by digest through public/app: 404 MANIFEST_UNKNOWN.
    const m = await fetch(`${proxy.url}/v2/public/app/manifests/${secret.manifestDigest}`, {
      headers: { accept: secret.manifestMediaType, ...(who ? { authorization: who } : {}) },
    });
    assertEquals(m.status, 404);
    assertEquals((await m.json()).errors[0].code, "MANIFEST_UNKNOWN");
    // Through private/app: 401 with a challenge, for blobs and for the manifest by digest and tag.
    for (const path of [`blobs/${secret.layers[0].digest}`, `blobs/${secret.config.digest}`]) {
      assertEquals(await tryRead(proxy, `private/app/${path}`, who), refused(401, "UNAUTHORIZED"), path);
    }
    for (const ref of [secret.manifestDigest, "v1"]) {
      assertEquals(
        await tryRead(proxy, `private/app/manifests/${ref}`, who, secret.manifestMediaType),
        refused(401, "UNAUTHORIZED"),
        ref,
      );
    }
  }
  // Each answer came from the upstream, asked with the caller's own credentials: HEADs of the blob in
  // public/app (404), and tokens asked for without a user (anonymous) and as bob.
  const log = (await upstream.registry.accessLog()).slice(before);
  const heads = log.filter((e) =>
    e.method === "HEAD" && e.path === `/v2/public/app/blobs/${secret.layers[0].digest}`
  );
  assert(heads.length >= 2 && heads.every((e) => e.status === 404), JSON.stringify(heads));
  assertEquals(countRequests(log, "GET", `/blobs/${secret.layers[0].digest}`), 0);
  const tokenUsers = new Set(
    upstream.tokenServer.requests.slice(tokensBefore).map((r) => r.user ?? "anonymous"),
  );
  assert(
    tokenUsers.has("anonymous") && tokenUsers.has("bob") && !tokenUsers.has("alice"),
    [...tokenUsers].join(),
  );
});

Deno.test("createProxy() serves no private blob through a public manifest's foreign layer (a layer the registry does not hold)", async () => {
  // An operator setting many registries share: foreign layers with http(s) URLs accepted.
  await using upstream = await startUpstream({
    validation: { manifests: { urls: { allow: ["^https?://"] } } },
  });
  const secret = await buildImage({ layers: [{ entries: [{ path: "secret.txt", content: "foreign\n" }] }] });
  const open = await buildImage({ layers: [{ entries: [{ path: "open.txt", content: "open\n" }] }] });
  await pushImage(upstream.registry, "private/app", secret, "v1", ALICE);
  await pushImage(upstream.registry, "public/app", open, "v1", ALICE);
  // Docker's foreign layers (and OCI non-distributable ones) carry `urls`: distribution accepts them without
  // holding the blob (schema2 verifyManifest skips the existence check for them), so naming a private
  // digest there proves nothing.
  const layer = secret.layers[0];
  const manifest = {
    ...open.manifest,
    layers: [
      ...(open.manifest.layers as unknown[]),
      {
        mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        digest: layer.digest,
        size: layer.size,
        urls: ["https://foreign.example/layer.tar.gz"],
      },
    ],
  };
  const blob = jsonBlob(manifest, MEDIA_TYPES.dockerManifest);
  await pushManifest(
    upstream.registry,
    "public/app",
    "foreign",
    blob.bytes,
    MEDIA_TYPES.dockerManifest,
    ALICE,
  );
  await using proxy = await startProxy({ upstreams: { up: upstream.registry.url } });
  await alicePulls(proxy, secret);

  const m = await fetch(`${proxy.url}/v2/public/app/manifests/foreign`, {
    headers: { accept: MEDIA_TYPES.dockerManifest },
  });
  assertEquals(await bytesOf(m), blob.bytes);
  assertEquals(await tryRead(proxy, `public/app/blobs/${layer.digest}`), refused(404, "BLOB_UNKNOWN"));
  assertEquals(
    await tryRead(proxy, `public/app/blobs/${layer.digest}`, AUTH.bob),
    refused(404, "BLOB_UNKNOWN"),
  );
  // The layers the registry holds are still served from the manifest's confirmation.
  const own = await fetch(`${proxy.url}/v2/public/app/blobs/${open.layers[0].digest}`);
  assertEquals(await bytesOf(own), new Uint8Array(open.layers[0].bytes));
});

Deno.test("createProxy() serves an index's private child manifest only to callers the upstream confirmed", async () => {
  await using upstream = await startUpstream();
  const child = await privateImage("child of a private index\n");
  const open = await buildImage({
    format: "oci",
    layers: [{ entries: [{ path: "o.txt", content: "o\n" }] }],
  });
  const index = buildIndex([{ manifest: child, platform: child.platform }]);
  await pushImage(upstream.registry, "private/app", child, undefined, ALICE);
  await pushManifest(
    upstream.registry,
    "private/app",
    "multi",
    index.manifestBytes,
    index.manifestMediaType,
    ALICE,
  );
  await pushImage(upstream.registry, "public/app", open, "v1", ALICE);
  // A public index may not name the private child: distribution refuses it (the child is not in public/app).
  const dangling = buildIndex([{ manifest: child, platform: child.platform }], {
    annotations: { "org.example": "dangling" },
  });
  const put = await registryFetch(`${upstream.registry.url}/v2/public/app/manifests/dangling`, {
    method: "PUT",
    headers: { "content-type": dangling.manifestMediaType },
    body: dangling.manifestBytes as Uint8Array<ArrayBuffer>,
  }, ALICE);
  assertEquals(put.status, 400);
  await put.body?.cancel();

  await using proxy = await startProxy({ upstreams: { up: upstream.registry.url } });
  const headers = {
    authorization: AUTH.alice,
    accept: `${index.manifestMediaType}, ${child.manifestMediaType}`,
  };
  for (const ref of ["multi", child.manifestDigest]) {
    const res = await fetch(`${proxy.url}/v2/private/app/manifests/${ref}`, { headers });
    assertEquals(res.status, 200, ref);
    await res.body?.cancel();
  }
  const l = await fetch(`${proxy.url}/v2/private/app/blobs/${child.layers[0].digest}`, { headers });
  assertEquals(await bytesOf(l), new Uint8Array(child.layers[0].bytes));
  for (const who of [undefined, AUTH.bob]) {
    assertEquals(
      await tryRead(proxy, `private/app/manifests/${child.manifestDigest}`, who, child.manifestMediaType),
      refused(401, "UNAUTHORIZED"),
    );
    assertEquals(
      await tryRead(proxy, `public/app/manifests/${child.manifestDigest}`, who, child.manifestMediaType),
      refused(404, "MANIFEST_UNKNOWN"),
    );
    assertEquals(
      await tryRead(proxy, `public/app/manifests/${index.manifestDigest}`, who, index.manifestMediaType),
      refused(404, "MANIFEST_UNKNOWN"),
    );
  }
  // carol may pull private/app: the index, then its child, are served to her from the cache once the upstream
  // confirmed the index for her (one HEAD), without any GET upstream.
  const before = (await upstream.registry.accessLog()).length;
  const carol = { authorization: AUTH.carol, accept: headers.accept };
  for (const ref of [index.manifestDigest, child.manifestDigest]) {
    const res = await fetch(`${proxy.url}/v2/private/app/manifests/${ref}`, { headers: carol });
    assertEquals(res.status, 200, ref);
    await res.body?.cancel();
  }
  const log = (await upstream.registry.accessLog()).slice(before).filter((e) =>
    e.path.includes("/manifests/")
  );
  assertEquals(log.map((e) => `${e.method} ${e.status}`), ["HEAD 401", "HEAD 200"]);
});

Deno.test("createProxy() gives a second authorised caller a cached blob after one HEAD upstream, no second GET", async () => {
  await using upstream = await startUpstream();
  const secret = await privateImage("shared with carol\n");
  await pushImage(upstream.registry, "private/app", secret, "v1", ALICE);
  await using proxy = await startProxy({ upstreams: { up: upstream.registry.url } });
  await alicePulls(proxy, secret);
  const before = (await upstream.registry.accessLog()).length;
  const layer = secret.layers[0];
  const res = await fetch(`${proxy.url}/v2/private/app/blobs/${layer.digest}`, {
    headers: { authorization: AUTH.carol },
  });
  assertEquals(res.status, 200);
  assertEquals(await bytesOf(res), new Uint8Array(layer.bytes));
  const ranged = await fetch(`${proxy.url}/v2/private/app/blobs/${layer.digest}`, {
    headers: { authorization: AUTH.carol, range: "bytes=2-5" },
  });
  assertEquals(await bytesOf(ranged), new Uint8Array(layer.bytes).subarray(2, 6));
  const log = (await upstream.registry.accessLog()).slice(before);
  const blobLog = log.filter((e) => e.path.includes(`/blobs/${layer.digest}`));
  // The first try without a token is answered 401 by distribution; the retry with carol's token is the HEAD.
  assertEquals(blobLog.filter((e) => e.status === 200).map((e) => e.method), ["HEAD"]);
  assertEquals(countRequests(log, "GET", `/blobs/${layer.digest}`), 0);
});

Deno.test("createProxy() does not resurrect a blob deleted upstream from one repository while another still holds it (GHSA-f2g3-hh2r-cwgc)", async () => {
  await using upstream = await startUpstream();
  const secret = await privateImage("deleted later\n");
  await pushImage(upstream.registry, "private/app", secret, "v1", ALICE);
  await pushImage(upstream.registry, "private/other", secret, "v1", ALICE);
  await using proxy = await startProxy({ upstreams: { up: upstream.registry.url } });
  await alicePulls(proxy, secret);
  const layer = secret.layers[0];
  // The operator deletes the layer from private/app (distribution's repository-local blob delete).
  const del = await registryFetch(`${upstream.registry.url}/v2/private/app/blobs/${layer.digest}`, {
    method: "DELETE",
  }, ALICE);
  assertEquals(del.status, 202);
  await del.body?.cancel();
  // carol asks first: the upstream says the blob is gone from private/app.
  assertEquals(
    await tryRead(proxy, `private/app/blobs/${layer.digest}`, AUTH.carol),
    refused(404, "BLOB_UNKNOWN"),
  );
  // alice, within her access TTL, is not served it from the cache either.
  assertEquals(
    await tryRead(proxy, `private/app/blobs/${layer.digest}`, AUTH.alice),
    refused(404, "BLOB_UNKNOWN"),
  );
  // private/other still holds it and serves it; that does not bring it back in private/app.
  for (const who of [AUTH.carol, AUTH.alice]) {
    const other = await fetch(`${proxy.url}/v2/private/other/blobs/${layer.digest}`, {
      headers: { authorization: who },
    });
    assertEquals(await bytesOf(other), new Uint8Array(layer.bytes));
    assertEquals(
      await tryRead(proxy, `private/app/blobs/${layer.digest}`, who),
      refused(404, "BLOB_UNKNOWN"),
    );
  }
});

Deno.test("createProxy() asks the upstream again once a caller's confirmation is older than accessTtl", async () => {
  let clock = 1_000_000;
  await using upstream = await startUpstream();
  const secret = await privateImage("ttl\n");
  await pushImage(upstream.registry, "private/app", secret, "v1", ALICE);
  await using proxy = await startProxy({
    upstreams: { up: upstream.registry.url },
    accessTtl: 60,
    now: () => clock,
  });
  await alicePulls(proxy, secret);
  const layer = secret.layers[0];
  const path = `/v2/private/app/blobs/${layer.digest}`;
  const headsAfter = async (step: () => Promise<void>) => {
    const before = (await upstream.registry.accessLog()).length;
    await step();
    return (await upstream.registry.accessLog()).slice(before).filter((e) => e.path === path)
      .map((e) => `${e.method} ${e.status}`);
  };
  const read = async () => {
    const res = await fetch(`${proxy.url}${path}`, { headers: { authorization: AUTH.alice } });
    assertEquals(await bytesOf(res), new Uint8Array(layer.bytes));
  };
  // Fresh: served from the cache without asking.
  assertEquals(await headsAfter(read), []);
  // 61 s later: one HEAD with alice's token, then fresh again.
  clock += 61_000;
  assertEquals((await headsAfter(read)).filter((s) => s.endsWith("200")), ["HEAD 200"]);
  assertEquals(await headsAfter(read), []);
});

Deno.test("createProxy() POST /images/create confirms only what the upstream served the caller: nothing for a refused pull, no subject", async () => {
  await using upstream = await startUpstream();
  const secret = await privateImage("pulled by the engine API\n");
  const open = await buildImage({
    format: "oci",
    layers: [{ entries: [{ path: "open.txt", content: "hi\n" }] }],
  });
  await pushImage(upstream.registry, "private/app", secret, "v1", ALICE);
  const tags = await pushNamingManifests(upstream, open, secret);
  await using proxy = await startProxy({ upstreams: { up: upstream.registry.url } });
  await alicePulls(proxy, secret);
  const create = async (image: string, tag: string) => {
    const res = await fetch(`${proxy.url}/images/create?fromImage=${image}&tag=${tag}`, { method: "POST" });
    return (await res.text()).trim().split("\r\n").map((line) => JSON.parse(line));
  };
  const refusedPull = await create("private/app", "v1");
  assert(refusedPull.some((m) => m.error !== undefined), JSON.stringify(refusedPull));
  const layer = secret.layers[0];
  assertEquals(await tryRead(proxy, `private/app/blobs/${layer.digest}`), refused(401, "UNAUTHORIZED"));
  const pulled = await create("public/app", tags[0]);
  assert(pulled.every((m) => m.error === undefined), JSON.stringify(pulled));
  assertEquals(await tryRead(proxy, `public/app/blobs/${layer.digest}`), refused(404, "BLOB_UNKNOWN"));
  // What the pull did confirm is served without asking: the public layer.
  const before = (await upstream.registry.accessLog()).length;
  const own = await fetch(`${proxy.url}/v2/public/app/blobs/${open.layers[0].digest}`);
  assertEquals(await bytesOf(own), new Uint8Array(open.layers[0].bytes));
  assertEquals(
    (await upstream.registry.accessLog()).slice(before).filter((e) => e.path.includes("/blobs/")),
    [],
  );
});

Deno.test("createProxy() checks a client's own credentials, never the operator's, once it sends some (distribution #1899 class)", async () => {
  await using upstream = await startUpstream();
  const secret = await privateImage("operator's\n");
  await pushImage(upstream.registry, "private/app", secret, "v1", ALICE);
  // The operator configured alice's account: clients without credentials read what alice reads (documented).
  await using proxy = await startProxy({
    upstreams: { up: { url: upstream.registry.url, credentials: ALICE } },
  });
  const layer = secret.layers[0];
  const anonymous = await fetch(`${proxy.url}/v2/private/app/blobs/${layer.digest}`);
  assertEquals(await bytesOf(anonymous), new Uint8Array(layer.bytes));
  assertEquals(await waitForBlob(proxy.store, layer.digest), layer.size);
  // bob and a wrong password are checked as themselves: refused, although the blob is cached.
  for (const who of [AUTH.bob, basic("alice", "guess")]) {
    assertEquals(
      await tryRead(proxy, `private/app/blobs/${layer.digest}`, who),
      refused(401, "UNAUTHORIZED"),
    );
  }
});
