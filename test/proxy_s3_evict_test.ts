// Eviction on object storage against a real S3 server (s3rver): `tug serve --store s3://… --cache-max-bytes`
// evicts the least recently used blobs, a restart reads the index object instead of listing the blobs, and
// `tug prune --store s3://…` removes what it prints.
import { assert, assertEquals } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { S3RVER_CREDENTIALS, startS3rver } from "./harness/s3rver.ts";
import { skopeoCopy } from "./_proxy_helpers.ts";
import { spawnTugServe } from "./_tug_serve.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";
import { ObjectStore } from "../src/store/object_store.ts";
import { ObjectLru } from "../src/store/object_lru.ts";

const MAIN = new URL("../adapters/cli/main.ts", import.meta.url).pathname;
const ENV = {
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
};

/**
 * A TCP relay in front of s3rver that records every HTTP request line it passes on (SigV4 signs the Host
 * header, so the relay forwards the bytes unchanged rather than re-issuing requests).
 */
function startRequestRecorder(target: string) {
  const { hostname, port } = new URL(target);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const lines: string[] = [];
  const conns = new Set<Deno.Conn>();
  const pipes: Promise<unknown>[] = [];
  const requestLine = /(GET|PUT|POST|DELETE|HEAD) (\/\S*) HTTP\/1\.1\r\n/g;
  (async () => {
    for await (const client of listener) {
      conns.add(client);
      const server = await Deno.connect({ hostname, port: Number(port) });
      conns.add(server);
      let tail = "";
      const scan = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          // Latin-1 keeps one character per byte; a request line split across chunks is found whole.
          let text = tail;
          for (const byte of chunk) text += String.fromCharCode(byte);
          for (const m of text.matchAll(requestLine)) {
            if (m.index + m[0].length > tail.length) lines.push(`${m[1]} ${m[2]}`);
          }
          tail = text.slice(-512);
          controller.enqueue(chunk);
        },
      });
      pipes.push(client.readable.pipeThrough(scan).pipeTo(server.writable).catch(() => {}));
      pipes.push(server.readable.pipeTo(client.writable).catch(() => {}));
    }
  })().catch(() => {});
  return {
    endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    lines,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await Promise.allSettled(pipes);
    },
  };
}

/** `tug serve` over the bucket (test/_tug_serve.ts: on a port it picks, ready when /healthz answers). */
function startServe(args: string[]) {
  return spawnTugServe(args, ENV);
}

async function tug(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", MAIN, ...args],
    env: ENV,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function keys(bucket: S3Bucket, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const { key } of bucket.list(prefix)) out.push(key);
  return out.sort();
}

const blobKey = (prefix: string, digest: string) => `${prefix}/blobs/${digest.replace(":", "/")}`;

Deno.test("tug serve --store s3://… --cache-max-bytes evicts the least recently used image's blobs; a restart reads the index and lists no blob", async () => {
  const { registry, images } = await sharedRegistry();
  await using s3 = await startS3rver();
  const tmp = await Deno.makeTempDir({ prefix: "tug-s3-evict-" });
  try {
    const bucket = new S3Bucket({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      credentials: S3RVER_CREDENTIALS,
    });
    const digests = (image: typeof images.small) => [
      image.manifestDigest,
      image.config.digest,
      ...image.layers.map((l) => l.digest),
    ];
    const sizeOf = (image: typeof images.small) =>
      image.manifestBytes.length + image.config.size + image.layers.reduce((n, l) => n + l.size, 0);
    const older = images.zstd;
    const newer = images.small;
    for (const d of digests(older)) assert(!digests(newer).includes(d), "the two images share no blob");
    // Room for the newer image only: the older one has to go once both are cached. The older one is the
    // smaller, so nothing is evicted while it is pulled, and only its blobs are candidates afterwards.
    const cap = sizeOf(newer);
    assert(sizeOf(older) <= cap && sizeOf(older) + sizeOf(newer) > cap);
    const store = (endpoint: string) =>
      `s3://${s3.bucket}/cache?endpoint=${endpoint}&region=us-east-1&path-style=true`;
    const args = (endpoint: string) => [
      "--store",
      store(endpoint),
      "--upstream",
      `local=${registry.url}`,
      "--default-upstream",
      "local",
      "--cache-max-bytes",
      String(cap),
      "--cache-evict-interval",
      "1",
    ];

    {
      await using serve = await startServe(args(s3.endpoint));
      await skopeoCopy(`${serve.host}/${older.repository}:${older.tag}`, `${tmp}/older`);
      await skopeoCopy(`${serve.host}/${newer.repository}:${newer.tag}`, `${tmp}/newer`);
      // A pass runs every second and spares blobs used in the last two: wait (bounded) for it.
      const olderKeys = digests(older).map((d) => blobKey("cache", d));
      let left = olderKeys;
      for (let i = 0; i < 300 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const now = await keys(bucket, "cache/blobs/");
        left = olderKeys.filter((k) => now.includes(k));
      }
      assertEquals(left, [], "the least recently used image's blobs were evicted");
      const now = await keys(bucket, "cache/blobs/");
      for (const d of digests(newer)) assert(now.includes(blobKey("cache", d)), `kept ${d}`);
      const stderr = await serve.stop();
      for (const d of digests(older)) assert(stderr.includes(`evicted ${d}`), stderr);
    }
    assert((await keys(bucket, "cache/")).includes("cache/index.json"));

    // A restart, its S3 requests recorded: it reads the index object and lists only the usage records.
    await using recorder = startRequestRecorder(s3.endpoint);
    {
      await using serve = await startServe(args(recorder.endpoint));
      const indexRead = () => recorder.lines.some((l) => l === `GET /${s3.bucket}/cache/index.json`);
      for (let i = 0; i < 300 && !indexRead(); i++) await new Promise((r) => setTimeout(r, 100));
      assert(indexRead(), `the restart read the index: ${recorder.lines.join("\n")}`);
      // It still serves the newer image from the bucket.
      await skopeoCopy(`${serve.host}/${newer.repository}:${newer.tag}`, `${tmp}/again`);
      await serve.stop();
    }
    const lists = recorder.lines.filter((l) => l.includes("list-type=2"));
    assert(lists.length > 0, "the restart listed the usage records");
    assertEquals(lists.filter((l) => l.includes("blobs")), [], "no listing of the blobs on a restart");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("tug prune --store s3://… --cache-max-bytes deletes the least recently used blobs, untags their references and prints them; --dry-run deletes nothing", async () => {
  await using s3 = await startS3rver();
  const credentials = S3RVER_CREDENTIALS;
  const bucket = new S3Bucket({ bucket: s3.bucket, endpoint: s3.endpoint, credentials });
  const url = `s3://${s3.bucket}/p?endpoint=${s3.endpoint}&path-style=true`;
  // Two blobs recorded as used long ago, one after the other, by a replica with a clock an hour back.
  const clock = { now: Date.now() - 60 * 60_000 };
  const lru = new ObjectLru({ bucket, prefix: "p", now: () => clock.now });
  const store = lru.wrap(new ObjectStore({ bucket, prefix: "p" }));
  const put = async (text: string) => {
    const bytes = new TextEncoder().encode(text);
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const digest = "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
    const w = await store.blobs.writer({ digest, size: bytes.length });
    await w.write(bytes);
    await w.commit();
    return { digest, size: bytes.length };
  };
  const old = await put('{"schemaVersion":2,"old":true}');
  clock.now += 60_000;
  const recent = await put('{"schemaVersion":2,"recent":true}');
  const mediaType = "application/vnd.oci.image.manifest.v1+json";
  await store.references.set("127.0.0.1:5000/app:old", { mediaType, ...old });
  await store.references.set("127.0.0.1:5000/app:recent", { mediaType, ...recent });
  await lru.flush();
  // A fill's lease under leases/ that is not stale.
  await bucket.put("p/leases/fill", new TextEncoder().encode("{}"));
  const before = await keys(bucket, "p/");

  const dry = await tug(["prune", "--store", url, "--cache-max-bytes", String(recent.size), "--dry-run"]);
  assertEquals(dry.code, 0, dry.stderr);
  assertEquals(dry.stdout.split("\n").filter(Boolean), [
    "Would untag: 127.0.0.1:5000/app:old",
    `Would delete: ${old.digest}`,
    `Space that would be reclaimed: ${old.size}B`,
  ]);
  assertEquals(await keys(bucket, "p/"), before, "a dry run changes nothing");

  const run = await tug(["prune", "--store", url, "--cache-max-bytes", String(recent.size)]);
  assertEquals(run.code, 0, run.stderr);
  assertEquals(run.stdout.split("\n").filter(Boolean), [
    "Untagged: 127.0.0.1:5000/app:old",
    `Deleted: ${old.digest}`,
    `Total reclaimed space: ${old.size}B`,
  ]);
  // s3rver has no ListMultipartUploads: prune says so instead of failing.
  assert(run.stderr.includes("Incomplete multipart uploads were not checked"), run.stderr);
  assertEquals(await bucket.head(blobKey("p", old.digest)), undefined);
  assert(await bucket.head(blobKey("p", recent.digest)) !== undefined);
  assertEquals(await store.references.get("127.0.0.1:5000/app:old"), undefined);
  assert(await store.references.get("127.0.0.1:5000/app:recent") !== undefined);
  assert((await keys(bucket, "p/")).includes("p/leases/fill"), "a fresh lease is kept");
  assertEquals(await keys(bucket, "p/usage/"), [], "the usage records were folded into the index");

  // -f: leases of any age go too.
  const forced = await tug(["prune", "--store", url, "-f"]);
  assertEquals(forced.code, 0, forced.stderr);
  assert(forced.stdout.includes("Deleted: p/leases/fill (stale lease)"), forced.stdout);
  assertEquals(await keys(bucket, "p/leases/"), []);
});
