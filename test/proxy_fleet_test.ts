// Many replicas, one download, with real processes: `tug serve --store s3://…` replicas over one bucket of
// Ceph's radosgw (a real S3 server that honours `If-None-Match: *`), in front of a real registry. The
// replicas share a download lease per blob; one killed mid-download is taken over once its lease lapsed.
import { assert, assertEquals } from "./_assert.ts";
import { countRequests } from "./_proxy_helpers.ts";
import { coldBlob, metricValue, sha256 } from "./_fleet.ts";
import { sharedRadosgw } from "./harness/radosgw.ts";
import { type ServeProcess, spawnTugServe } from "./_tug_serve.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";

const MAIN = new URL("../adapters/cli/main.ts", import.meta.url).pathname;

/** A replica: a `tug serve` process and its /metrics counters. */
async function startReplica(args: string[], env: Record<string, string>) {
  const serve: ServeProcess = await spawnTugServe(args, env);
  return Object.assign(serve, {
    metric: async (name: string) => metricValue(await (await fetch(`${serve.url}/metrics`)).text(), name),
  });
}

let buckets = 0;

/** A fresh bucket on the shared radosgw, and what `tug serve` needs to use it. */
async function fleetBucket(upstream: string, extra: string[] = []) {
  const rgw = await sharedRadosgw();
  const name = `fleet-${Date.now()}-${++buckets}`;
  await rgw.createBucket(name);
  const bucket = new S3Bucket({
    bucket: name,
    endpoint: rgw.endpoint,
    region: rgw.region,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
  });
  const args = [
    "--store",
    `s3://${name}/fleet?endpoint=${rgw.endpoint}&region=${rgw.region}&path-style=true`,
    "--upstream",
    `local=${upstream}`,
    "--default-upstream",
    "local",
    ...extra,
  ];
  const env = { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey };
  return { bucket, args, env };
}

async function fetchDigest(url: string): Promise<string> {
  const res = await fetch(url);
  assertEquals(res.status, 200, url);
  return await sha256(await res.bytes());
}

Deno.test("tug serve: 3 replicas over one radosgw bucket, 8 clients spread across them on a cold blob cause one upstream GET", async () => {
  // 6 MiB (two multipart parts of 5 MiB… and the rest) sent over about 3 s.
  await using blob = await coldBlob(6 << 20, 2 << 20);
  const { bucket, args, env } = await fleetBucket(blob.upstream.url);
  await using a = await startReplica(args, env);
  await using b = await startReplica(args, env);
  await using c = await startReplica(args, env);
  const replicas = [a, b, c];
  const before = await blob.registry.accessLog();
  const digests = await Promise.all(
    Array.from({ length: 8 }, (_, i) => fetchDigest(`${replicas[i % 3].url}${blob.path}`)),
  );
  for (const digest of digests) assertEquals(digest, blob.digest);
  const log = (await blob.registry.accessLog()).slice(before.length);
  assertEquals(countRequests(log, "GET", `/blobs/${blob.digest}`), 1, "one upstream GET for the fleet");
  // Each replica that did not download the blob asked the upstream once whether this caller may read it.
  const heads = countRequests(log, "HEAD", `/blobs/${blob.digest}`);
  assertEquals(heads, 2, "one HEAD per replica that did not download the blob");
  let waits = 0;
  for (const r of replicas) waits += await r.metric("tug_proxy_lease_waits_total");
  console.log(`[fleet] 8 clients over 3 tug serve: 1 GET, ${heads} HEAD(s) upstream, ${waits} lease wait(s)`);
  // Each replica that did not download waited at most once (its clients share one wait).
  assert(waits <= 2, `lease waits ${waits}`);
  assert((await bucket.head(`fleet/blobs/sha256/${blob.digest.slice(7)}`)) !== undefined, "committed");
});

Deno.test("tug serve --lease-ttl: a replica SIGKILLed mid-download is taken over by another once its lease lapsed", async () => {
  await using blob = await coldBlob(3 << 20, 1 << 20);
  const { bucket, args, env } = await fleetBucket(blob.upstream.url, ["--lease-ttl", "1"]);
  const leaseKey = `fleet/leases/sha256/${blob.digest.slice(7)}`;
  await using doomed = await startReplica(args, env);
  await using survivor = await startReplica(args, env);
  // The first GET upstream (the doomed replica's) sends 1 MiB and then nothing: however slowly this test
  // polls on a loaded machine, that download cannot finish before the replica is killed. The next (the
  // takeover) is sent slowly, as coldBlob() sends them all.
  blob.upstream.clearRules();
  blob.upstream.addRule({ match: blob.digest, fault: { kind: "stall", afterBytes: 1 << 20 } });
  blob.upstream.addRule({
    match: blob.digest,
    fault: { kind: "throttle", bytesPerSecond: 1 << 20 },
    times: Infinity,
  });
  // The first replica starts the download (its client keeps reading until the process dies)…
  const cut = fetch(`${doomed.url}${blob.path}`).then((res) => res.bytes()).then(() => "whole", () => "cut");
  // …and holds the lease once the upstream answered with the size (polled, bounded: 30 s).
  let record: { holder: string; size?: number } | undefined;
  for (let i = 0; i < 300; i++) {
    const body = await bucket.get(leaseKey);
    if (body !== undefined) {
      record = JSON.parse(await new Response(body).text());
      if (record?.size !== undefined) break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assertEquals(record?.size, blob.size, "the first replica holds the lease and recorded the size");
  doomed.child.kill("SIGKILL");
  assertEquals(await cut, "cut", "the killed replica's client got a broken body");

  const taken = Date.now();
  assertEquals(await fetchDigest(`${survivor.url}${blob.path}`), blob.digest);
  assertEquals(await survivor.metric("tug_proxy_lease_takeovers_total"), 1);
  // It waited for the lease to lapse, unless it had already lapsed when it asked (a loaded machine).
  assert(await survivor.metric("tug_proxy_lease_waits_total") <= 1);
  // Counted where the replicas' GETs arrive: the stalled one reaches the registry's access log only once
  // the stall ends.
  assertEquals(
    blob.upstream.requests(blob.digest).filter((r) => r.method === "GET").map((r) => r.fault),
    ["stall", "throttle"],
    "the dead replica's GET and the takeover",
  );
  console.log(`[fleet] takeover after SIGKILL served in ${Date.now() - taken} ms (lease TTL 1 s)`);
  // Committed (if the lease had lapsed before the survivor asked, its client streamed the download and the
  // commit comes just after the last byte: bounded wait).
  let committed = await bucket.head(`fleet/blobs/sha256/${blob.digest.slice(7)}`);
  for (let i = 0; i < 200 && committed === undefined; i++) {
    await new Promise((r) => setTimeout(r, 25));
    committed = await bucket.head(`fleet/blobs/sha256/${blob.digest.slice(7)}`);
  }
  assert(committed !== undefined, "committed");
});

Deno.test("tug serve --lease-ttl without an s3:// store is a usage error (exit 2) naming --store", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tug-lease-ttl-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-check",
        MAIN,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--lease-ttl",
        "5",
        "--store",
        dir,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 2, "a usage error");
    const stderr = new TextDecoder().decode(out.stderr);
    assert(stderr.includes("--lease-ttl needs --store s3://"), stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
