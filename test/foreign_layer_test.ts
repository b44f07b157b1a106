// containerd CVE-2020-15157: a manifest's descriptor `urls` (a "foreign layer") pointed containerd's
// resolver at a server the image author chose, and that server's 401 made the resolver send the user's
// registry credentials there. tug never dereferences `urls`: every blob comes from the registry the user
// named, by digest. These tests push such a manifest into a real registry that requires credentials and
// watch a capturing server that the `urls` point at.
import { assert, assertEquals } from "./_assert.ts";
import { buildImage, MEDIA_TYPES, pushBlob, pushManifest, startRegistry } from "./harness/mod.ts";
import { pull } from "../src/pull/pull.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { MEDIA_TYPE_DOCKER_FOREIGN_LAYER } from "../src/manifest/media_types.ts";

const USERS = { alice: "s3cret" };

/** A server on 127.0.0.1 that answers every request 401 with a Bearer challenge and records what it got. */
function capturingServer() {
  const seen: { url: string; authorization: string | null }[] = [];
  let port = 0;
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      seen.push({ url: req.url, authorization: req.headers.get("authorization") });
      return new Response("no", {
        status: 401,
        headers: { "WWW-Authenticate": `Bearer realm="http://127.0.0.1:${port}/token",service="x"` },
      });
    },
  );
  port = server.addr.port;
  return {
    seen,
    url: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

async function pushForeign(
  registryUrl: string,
  repository: string,
  foreignUrl: string,
  mediaType: string,
) {
  const image = await buildImage({ layers: [{ entries: [{ path: "hello.txt", content: "hi\n" }] }] });
  const layer = image.layers[0];
  const manifest = {
    ...image.manifest,
    layers: [{ mediaType, size: layer.size, digest: layer.digest, urls: [`${foreignUrl}/layer.tar.gz`] }],
  };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const credentials = { username: "alice", password: "s3cret" };
  for (const blob of image.blobs) await pushBlob(registryUrl, repository, blob, credentials);
  await pushManifest(registryUrl, repository, "v1", bytes, MEDIA_TYPES.dockerManifest, credentials);
  return { image, layer };
}

for (
  const [label, mediaType] of [
    ["a foreign layer", MEDIA_TYPE_DOCKER_FOREIGN_LAYER],
    ["a plain layer", MEDIA_TYPES.dockerLayerGzip],
  ] as const
) {
  Deno.test(`pull() never fetches a descriptor's urls of ${label}, nor sends credentials there (CVE-2020-15157)`, async () => {
    await using registry = await startRegistry({
      auth: { htpasswd: { users: USERS } },
      // distribution accepts a foreign layer only when its URL matches this allow list.
      extra: { validation: { manifests: { urls: { allow: ["^http://127\\.0\\.0\\.1:"] } } } },
    });
    await using capture = capturingServer();
    const { layer } = await pushForeign(registry.url, "sec/foreign", capture.url, mediaType);
    const store = new MemoryStore();
    const result = await pull(`${registry.host}/sec/foreign:v1`, {
      store,
      credentials: { username: "alice", password: "s3cret" },
    });
    assertEquals(result.downloaded, true);
    assertEquals((await store.blobs.stat(layer.digest))?.size, layer.size);
    assertEquals(capture.seen, [], "the server named in urls received no request");
    const blobGets = (await registry.accessLog()).filter((e) => e.path.includes(`/blobs/${layer.digest}`));
    assert(blobGets.length >= 1, "the layer came from the registry, by digest");
  });
}
