// `tug serve --store s3://…`: the proxy's cache in an S3 bucket (s3rver, a real S3 API server), shared by
// every `tug serve` process over the same bucket.
import { spawnTugServe } from "./_tug_serve.ts";
import { assert, assertEquals } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { S3RVER_CREDENTIALS, startS3rver } from "./harness/s3rver.ts";
import { countRequests, layoutBlobs, skopeoCopy, startProxy } from "./_proxy_helpers.ts";
import { startFaultProxy } from "./fault_proxy.ts";
import { s3Store } from "../adapters/s3/s3_store.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";

const MAIN = new URL("../adapters/cli/main.ts", import.meta.url).pathname;

Deno.test("tug serve --store s3://BUCKET/PREFIX caches in the bucket; a second tug serve over it needs no upstream blob GET", async () => {
  const { registry, images } = await sharedRegistry();
  await using s3 = await startS3rver();
  const tmp = await Deno.makeTempDir({ prefix: "tug-proxy-s3-" });
  try {
    const env = {
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    };
    const args = [
      "--store",
      `s3://${s3.bucket}/proxy/cache?endpoint=${s3.endpoint}&region=us-east-1&path-style=true`,
      "--upstream",
      `local=${registry.url}`,
      "--default-upstream",
      "local",
    ];
    const image = `${images.small.repository}:${images.small.tag}`;
    const blobs = [images.small.config.digest, ...images.small.layers.map((l) => l.digest)];

    const before = await registry.accessLog();
    {
      await using first = await spawnTugServe(args, env);
      await skopeoCopy(`${first.host}/${image}`, `${tmp}/first`);
    }
    const filled = (await registry.accessLog()).slice(before.length);
    for (const digest of blobs) assertEquals(countRequests(filled, "GET", `/blobs/${digest}`), 1, digest);
    // The blobs are objects in the bucket, under the prefix.
    const keys: string[] = [];
    const bucket = new S3Bucket({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      credentials: S3RVER_CREDENTIALS,
    });
    for await (const { key } of bucket.list("proxy/cache/blobs/")) keys.push(key);
    for (const digest of blobs) {
      assert(keys.includes(`proxy/cache/blobs/${digest.replace(":", "/")}`), digest);
    }

    // A second process (another replica, or the first one restarted) over the same bucket.
    const mark = await registry.accessLog();
    {
      await using second = await spawnTugServe(args, env);
      await skopeoCopy(`${second.host}/${image}`, `${tmp}/second`);
    }
    const log = (await registry.accessLog()).slice(mark.length);
    assertEquals(log.filter((e) => e.method === "GET" && e.path.includes("/blobs/")), []);
    const a = await layoutBlobs(`${tmp}/first`);
    const b = await layoutBlobs(`${tmp}/second`);
    assertEquals([...b.keys()].sort(), [...a.keys()].sort());
    for (const digest of blobs) assertEquals(b.get(digest), a.get(digest), digest);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("tug serve --store s3://… without credentials fails with a usage error naming the variables", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      MAIN,
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--store",
      "s3://bucket/prefix",
    ],
    env: { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(!out.success);
  const stderr = new TextDecoder().decode(out.stderr);
  assert(stderr.includes("AWS_ACCESS_KEY_ID"), stderr);
});

Deno.test("createProxy() over s3Store: an upstream blob whose bytes fail the digest check never becomes an object in the bucket", async () => {
  const { registry, images } = await sharedRegistry();
  const layer = images.large.layers[0];
  await using s3 = await startS3rver();
  await using liar = await startFaultProxy({ upstream: registry.url });
  // One byte flipped in the middle of the blob: the size matches, the digest does not.
  liar.addRule({ match: `/blobs/${layer.digest}`, fault: { kind: "flip", atByte: layer.size >> 1 } });
  const credentials = S3RVER_CREDENTIALS;
  const bucket = new S3Bucket({ bucket: s3.bucket, endpoint: s3.endpoint, credentials });
  // 5 MiB parts: the blob goes up as a multipart upload while it streams.
  const store = s3Store({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    credentials,
    prefix: "p",
    partSize: 5 << 20,
  });
  assert(layer.size > 2 * (5 << 20), `the large layer spans several parts (${layer.size} bytes)`);
  await using proxy = await startProxy({ upstreams: { up: liar.url }, store });
  const url = `${proxy.url}/v2/${images.large.repository}/blobs/${layer.digest}`;

  const bad = await fetch(url);
  const got = await bad.bytes().then((b) => b.length, () => -1);
  assert(got !== layer.size, "the client received all bytes of a blob that failed verification");
  const keys: string[] = [];
  for await (const { key } of bucket.list("")) keys.push(key);
  assertEquals(keys.filter((k) => k.includes("/blobs/")), [], "no blob object after the failed fill");

  // The next request (the fault was one-shot) fills it with the right bytes, verified, into the bucket.
  const good = await fetch(url);
  assertEquals(await sha256(await good.bytes()), layer.digest);
  let info = await store.blobs.stat(layer.digest);
  // A fill commits just after its last byte was sent: wait for it, bounded (s3rver writes a completed
  // multipart object in place, so a HEAD meanwhile sees its size grow).
  for (let i = 0; i < 200 && info?.size !== layer.size; i++) {
    await new Promise((r) => setTimeout(r, 25));
    info = await store.blobs.stat(layer.digest);
  }
  assertEquals(info, { digest: layer.digest, size: layer.size });
});

async function sha256(data: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}
