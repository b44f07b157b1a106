// A cached blob can vanish at any moment (another replica's eviction pass, a bucket lifecycle rule, an
// operator, `tug prune`): the proxy over a real S3 server (Ceph's radosgw) treats a blob or manifest deleted
// between its stat and its read as a miss, and a read already under way completes.
import { assert, assertEquals } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { sharedRadosgw } from "./harness/radosgw.ts";
import { countRequests, startProxy, waitForBlob } from "./_proxy_helpers.ts";
import { s3Store } from "../adapters/s3/s3_store.ts";
import type { BlobStore, Store } from "../src/store/types.ts";

/**
 * `inner` between the proxy and the bucket: a blob named in `vanish` is deleted from the bucket right after
 * a stat found it (once), as another replica's eviction pass may do at that moment.
 */
function deletingOnStat(inner: Store): Store & { vanish: Set<string> } {
  const vanish = new Set<string>();
  const blobs: BlobStore = {
    stat: async (digest) => {
      const info = await inner.blobs.stat(digest);
      if (info !== undefined && vanish.delete(digest)) await inner.blobs.delete(digest);
      return info;
    },
    get: (digest, range) => inner.blobs.get(digest, range),
    writer: (expected, options) => inner.blobs.writer(expected, options),
    delete: (digest) => inner.blobs.delete(digest),
    list: () => inner.blobs.list(),
  };
  return { ...inner, blobs, vanish };
}

async function sha256(data: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function radosgwStore(bucket: string): Promise<Store> {
  const rgw = await sharedRadosgw();
  await rgw.createBucket(bucket);
  return s3Store({
    bucket,
    endpoint: rgw.endpoint,
    region: rgw.region,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
    prefix: "cache",
    partSize: 5 << 20,
  });
}

Deno.test("createProxy() over s3Store (radosgw): a blob and a manifest deleted right after the stat are fetched again once, verified", async () => {
  const { registry, images } = await sharedRegistry();
  const store = deletingOnStat(await radosgwStore("vanish-hit"));
  await using proxy = await startProxy({ upstreams: { local: registry.url }, store });
  const image = images.small;
  const layer = image.layers[0];
  const blobUrl = `${proxy.url}/v2/${image.repository}/blobs/${layer.digest}`;
  const manifestUrl = `${proxy.url}/v2/${image.repository}/manifests/${image.manifestDigest}`;
  const accept = { accept: image.manifestMediaType };

  // Cached first.
  assertEquals(await sha256(await (await fetch(blobUrl)).bytes()), layer.digest);
  assertEquals(await waitForBlob(store, layer.digest, layer.size), layer.size);
  assertEquals(
    await sha256(await (await fetch(manifestUrl, { headers: accept })).bytes()),
    image.manifestDigest,
  );

  const mark = (await registry.accessLog()).length;
  store.vanish.add(layer.digest);
  store.vanish.add(image.manifestDigest);
  const blob = await fetch(blobUrl);
  assertEquals(blob.status, 200);
  assertEquals(await sha256(await blob.bytes()), layer.digest, "the client gets the verified blob");
  const manifest = await fetch(manifestUrl, { headers: accept });
  assertEquals(manifest.status, 200);
  assertEquals(await sha256(await manifest.bytes()), image.manifestDigest, "and the verified manifest");
  const log = (await registry.accessLog()).slice(mark);
  assertEquals(countRequests(log, "GET", `/blobs/${layer.digest}`), 1, "one upstream GET of the blob");
  assertEquals(countRequests(log, "GET", `/manifests/${image.manifestDigest}`), 1, "one of the manifest");
  assertEquals(store.vanish.size, 0, "both were deleted after their stat");
  // The fill put it back in the bucket.
  assertEquals(await waitForBlob(store, layer.digest, layer.size), layer.size);
});

Deno.test("createProxy() over s3Store (radosgw): a blob deleted from the bucket while a client streams it still reaches the client whole", async () => {
  const { registry, images } = await sharedRegistry();
  const store = await radosgwStore("vanish-stream");
  await using proxy = await startProxy({ upstreams: { local: registry.url }, store });
  const layer = images.large.layers[0];
  const url = `${proxy.url}/v2/${images.large.repository}/blobs/${layer.digest}`;
  assertEquals(await sha256(await (await fetch(url)).bytes()), layer.digest);
  assertEquals(await waitForBlob(store, layer.digest, layer.size), layer.size);
  assert(layer.size > 16 << 20, `far more than socket buffers hold (${layer.size} bytes)`);

  const mark = (await registry.accessLog()).length;
  const answer = await fetch(url);
  assertEquals(answer.status, 200);
  const reader = answer.body!.getReader();
  const first = await reader.read();
  const chunks: Uint8Array[] = [first.value!];
  // The proxy's GET from the bucket has begun (its first bytes came): now the object goes.
  assert(await store.blobs.delete(layer.digest));
  assertEquals(await store.blobs.stat(layer.digest), undefined);
  for (let i = 0; i < 1_000_000; i++) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  const bytes = new Uint8Array(await new Blob(chunks as Uint8Array<ArrayBuffer>[]).arrayBuffer());
  assertEquals(bytes.length, layer.size);
  assertEquals(
    await sha256(bytes),
    layer.digest,
    "radosgw finishes a GET it began (tail objects go to its GC)",
  );
  const log = (await registry.accessLog()).slice(mark);
  assertEquals(
    countRequests(log, "GET", `/blobs/${layer.digest}`),
    0,
    "served from the bucket, not upstream",
  );
});
