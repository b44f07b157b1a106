// Serving cached blobs by redirect to the object store (`tug serve --redirect`, `createProxy({ redirect })`):
// real clients (skopeo, podman) follow the 307 to s3rver (a real S3 API server) and verify what they get,
// while the proxy moves no blob byte; the access check (issue H) still comes first, for every caller.
//
// The bucket is addressed as `localhost`, the proxy as `127.0.0.1`: as with a real bucket, the redirect goes
// to another host, so clients do not carry the proxy's Authorization header there (S3 refuses a request
// that has both a header and a query signature).
import { type ServeProcess, spawnTugServe } from "./_tug_serve.ts";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import {
  buildImage,
  pushImage,
  type RegistryProcess,
  type SeededImage,
  sharedRegistry,
  startTokenRegistry,
} from "./harness/mod.ts";
import { S3RVER_CREDENTIALS, startS3rver } from "./harness/s3rver.ts";
import { bytesOf, countRequests, layoutBlobs, run, skopeoCopy, startProxy } from "./_proxy_helpers.ts";
import { s3Store } from "../adapters/s3/s3_store.ts";
import type { Store } from "../src/store/types.ts";

const MAIN = new URL("../adapters/cli/main.ts", import.meta.url).pathname;

/**
 * The blob's size once the store holds it: a fill commits (one PUT to the bucket) just after its last byte
 * was sent. Polled, bounded at 30 s: s3rver on a loaded machine can take seconds.
 */
// s3rver writes an object in place: a HEAD during the commit's PUT sees it with fewer bytes (0 in a CI run),
// so the wait is for the whole size. Answers the size last seen.
async function committed(store: Store, digest: string, size: number): Promise<number | undefined> {
  const deadline = Date.now() + 30_000;
  let seen: number | undefined;
  while (Date.now() < deadline) {
    seen = (await store.blobs.stat(digest))?.size;
    if (seen === size) return seen;
    await new Promise((r) => setTimeout(r, 50));
  }
  return seen;
}

/** The proxy's counters from /metrics. */
async function metrics(host: string): Promise<Record<string, number>> {
  const text = await (await fetch(`http://${host}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(tug_proxy_[a-z_]+(?:\{[^}]*\})?) (\d+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

const BLOB_BYTES = "tug_proxy_client_blob_bytes_total";
const REDIRECTS = "tug_proxy_blob_redirects_total";

Deno.test("tug serve --store s3://… --redirect: skopeo copy and podman pull follow the 307 to the bucket, get verified blobs, and the proxy serves no blob byte", async () => {
  const { registry, images } = await sharedRegistry();
  await using s3 = await startS3rver();
  const tmp = await Deno.makeTempDir({ prefix: "tug-proxy-redirect-" });
  const podman = ["--root", `${tmp}/root`, "--runroot", `${tmp}/runroot`, "--storage-driver", "vfs"];
  try {
    const endpoint = s3.endpoint.replace("127.0.0.1", "localhost");
    await using serve = await spawnTugServe([
      "--store",
      `s3://${s3.bucket}/cache?endpoint=${endpoint}&region=us-east-1&path-style=true`,
      "--redirect",
      // With the bucket's size cap too (its eviction loop wraps the store: the URLs pass through).
      "--cache-max-bytes",
      String(1 << 30),
      "--upstream",
      `local=${registry.url}`,
      "--default-upstream",
      "local",
    ], {
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    });
    try {
      await redirectedPulls(serve, registry, images.small, tmp, podman);
    } catch (err) {
      // What the proxy logged says why it answered what it did (a 500 once came from the bucket).
      const upstream = (await registry.accessLog()).slice(-12).map((e) => JSON.stringify(e)).join("\n");
      throw new Error(
        `${(err as Error).message}\n--- tug serve stderr ---\n${await serve.stop()}\n` +
          `--- the upstream's last requests ---\n${upstream}`,
        {
          cause: err,
        },
      );
    }
  } finally {
    await run("podman", [...podman, "rmi", "--all", "--force"]).catch(() => "");
    await new Deno.Command("sh", { args: ["-c", `chmod -R u+w '${tmp}' 2>/dev/null; rm -rf '${tmp}'`] })
      .output();
  }
});

async function redirectedPulls(
  serve: ServeProcess,
  registry: RegistryProcess,
  image: SeededImage,
  tmp: string,
  podman: string[],
): Promise<void> {
  const ref = `${serve.host}/${image.repository}:${image.tag}`;
  const blobs = [image.config.digest, ...image.layers.map((l) => l.digest)];

  // Cold: the proxy fills the bucket from the upstream and streams the fill (no redirect before commit).
  await skopeoCopy(ref, `${tmp}/cold`);
  const cold = await metrics(serve.host);
  assertEquals(cold[REDIRECTS], 0, "nothing is redirected before it is committed");
  assert(cold[BLOB_BYTES] > 0);
  const mark = (await registry.accessLog()).length;

  // Warm: every blob GET is a 307 to the bucket, which skopeo follows; it checks each blob's digest.
  await skopeoCopy(ref, `${tmp}/warm`);
  const warm = await metrics(serve.host);
  assertEquals(warm[BLOB_BYTES], cold[BLOB_BYTES], "the proxy served no blob byte");
  assertEquals(warm[REDIRECTS], blobs.length);
  const a = await layoutBlobs(`${tmp}/cold`);
  const b = await layoutBlobs(`${tmp}/warm`);
  for (const digest of blobs) assertEquals(b.get(digest), a.get(digest), digest);

  // podman (containers/image too, with its own storage) pulls through the same redirects.
  await run("podman", [...podman, "pull", "--tls-verify=false", "--quiet", ref]);
  const inspect = JSON.parse(await run("podman", [...podman, "image", "inspect", ref]));
  assertEquals(inspect[0].Digest, image.manifestDigest);
  const after = await metrics(serve.host);
  assertEquals(after[BLOB_BYTES], cold[BLOB_BYTES], "the proxy served no blob byte to podman");
  assertEquals(after[REDIRECTS], 2 * blobs.length);
  // Every warm blob came from the bucket, none from the upstream (the proxy only asked for access: HEADs).
  const log = (await registry.accessLog()).slice(mark);
  for (const digest of blobs) assertEquals(countRequests(log, "GET", `/blobs/${digest}`), 0, digest);
}

Deno.test("tug serve --redirect without an s3:// store is a usage error (exit 2) naming --store", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      MAIN,
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--redirect",
      "--store",
      "/tmp/x",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 2, "a usage error");
  assertStringIncludes(new TextDecoder().decode(out.stderr), "--redirect needs --store s3://");
});

const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

Deno.test("createProxy({ redirect }) over s3Store: an anonymous caller gets 401 for a private repository's cached blob, not a redirect; alice's 307 serves it, a Range too, until it expires", async () => {
  await using upstream = await startTokenRegistry({
    token: {
      users: { alice: "wonderland" },
      access: (user, _scope, parsed) => user === "alice" ? parsed.actions : [],
    },
  });
  const secret = await buildImage({
    format: "oci",
    layers: [{
      entries: [{
        path: "secret.txt",
        content: Array.from(crypto.getRandomValues(new Uint8Array(4096)), (b) => b.toString(16)).join(""),
      }],
    }],
  });
  await pushImage(upstream.registry, "private/app", secret, "v1", {
    username: "alice",
    password: "wonderland",
  });
  await using s3 = await startS3rver();
  const store = s3Store({
    bucket: s3.bucket,
    endpoint: s3.endpoint.replace("127.0.0.1", "localhost"),
    credentials: S3RVER_CREDENTIALS,
    prefix: "cache",
  });
  await using proxy = await startProxy({ upstreams: { up: upstream.registry.url }, store, redirect: true });
  const layer = secret.layers[0];
  const url = `${proxy.url}/v2/private/app/blobs/${layer.digest}`;
  const alice = { authorization: basic("alice", "wonderland") };

  // alice's first GET fills the cache (bytes from the fill); the blob is then an object in the bucket.
  const fill = await fetch(url, { headers: alice });
  assertEquals(fill.status, 200);
  assertEquals(await bytesOf(fill), new Uint8Array(layer.bytes));
  assertEquals(await committed(store, layer.digest, layer.size), layer.size);

  // Anonymous: the upstream refuses, so does the proxy, before any URL is made.
  for (const method of ["GET", "HEAD"]) {
    const anonymous = await fetch(url, { method, redirect: "manual" });
    await anonymous.body?.cancel();
    assertEquals(anonymous.status, 401, method);
    assertEquals(anonymous.headers.get("location"), null, method);
  }

  // alice: a 307 to the object, which serves the blob, and a Range of it.
  const redirected = await fetch(url, { headers: alice, redirect: "manual" });
  await redirected.body?.cancel();
  assertEquals(redirected.status, 307);
  const location = redirected.headers.get("location")!;
  const bucketUrl = `${s3.endpoint.replace("127.0.0.1", "localhost")}/${s3.bucket}`;
  assert(location.startsWith(`${bucketUrl}/cache/blobs/sha256/${layer.digest.slice(7)}?`), location);
  assertEquals(new URL(location).searchParams.get("X-Amz-Expires"), "1200");
  const object = await fetch(location);
  assertEquals(object.status, 200);
  assertEquals(await bytesOf(object), new Uint8Array(layer.bytes));
  const ranged = await fetch(url, { headers: { ...alice, range: "bytes=100-199" } });
  // fetch followed the 307 with the Range (and, the bucket being another origin, without Authorization).
  assertEquals(ranged.status, 206);
  assertEquals(ranged.headers.get("content-range"), `bytes 100-199/${layer.size}`);
  assertEquals(await bytesOf(ranged), new Uint8Array(layer.bytes).subarray(100, 200));
  // HEAD stays with the proxy.
  const head = await fetch(url, { method: "HEAD", headers: alice, redirect: "manual" });
  assertEquals([head.status, head.headers.get("content-length")], [200, String(layer.size)]);
});

Deno.test("createProxy({ redirect: { expiresIn } }): the URL fails at the object store once expired (the signer's clock injected)", async () => {
  const { registry, images } = await sharedRegistry();
  await using s3 = await startS3rver();
  const layer = images.small.layers[0];
  const options = {
    bucket: s3.bucket,
    endpoint: s3.endpoint.replace("127.0.0.1", "localhost"),
    credentials: S3RVER_CREDENTIALS,
    prefix: "cache",
  };
  // One proxy fills the bucket; a second over it signs with a clock an hour behind: its 60 s URLs have
  // expired by the time anyone uses them, with no real wait.
  {
    await using filler = await startProxy({ upstreams: { local: registry.url }, store: s3Store(options) });
    const res = await fetch(`${filler.url}/v2/${images.small.repository}/blobs/${layer.digest}`);
    assertEquals(await bytesOf(res).then((b) => b.length), layer.size);
    assertEquals(await committed(filler.store, layer.digest, layer.size), layer.size);
  }
  const late = s3Store({ ...options, now: () => Date.now() - 3600_000 });
  await using proxy = await startProxy({
    upstreams: { local: registry.url },
    store: late,
    redirect: { expiresIn: 60 },
  });
  const url = `${proxy.url}/v2/${images.small.repository}/blobs/${layer.digest}`;
  const redirected = await fetch(url, { redirect: "manual" });
  await redirected.body?.cancel();
  assertEquals(redirected.status, 307);
  const location = redirected.headers.get("location")!;
  assertEquals(new URL(location).searchParams.get("X-Amz-Expires"), "60");
  const expired = await fetch(location);
  const text = await expired.text();
  assertEquals(expired.status, 403);
  assertStringIncludes(text, "Request has expired");
});
