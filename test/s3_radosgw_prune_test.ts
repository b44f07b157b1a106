/**
 * Cleaning a bucket of incomplete multipart uploads, against Ceph's radosgw (test/harness/radosgw.ts), which
 * implements ListMultipartUploads and AbortMultipartUpload (s3rver has neither): `S3Bucket`'s two calls,
 * `ObjectLru.prune()` with its stale age, and `tug prune --store s3://…`.
 */

import { assert, assertEquals } from "./_assert.ts";
import { type Radosgw, sharedRadosgw } from "./harness/radosgw.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";
import { ObjectLru } from "../src/store/object_lru.ts";
import type { ObjectMultipartUpload } from "../src/store/object_store.ts";

const MAIN = new URL("../adapters/cli/main.ts", import.meta.url).pathname;
const MiB = 1 << 20;
const DAY = 24 * 60 * 60_000;

async function bucketOn(rgw: Radosgw, name: string) {
  await rgw.createBucket(name);
  return new S3Bucket({
    bucket: name,
    endpoint: rgw.endpoint,
    region: rgw.region,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
  });
}

async function sha256(data: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * What a `tug serve` fill leaves when its process dies mid-blob: a multipart upload to the blob's key with
 * its first 5 MiB part stored, never completed nor aborted. It stays in the bucket until something aborts it.
 */
async function deadWriter(
  bucket: S3Bucket,
  prefix: string,
  seed: number,
): Promise<{ key: string; upload: ObjectMultipartUpload }> {
  const part = new Uint8Array(5 * MiB).map((_, i) => (i * 31 + seed) & 255);
  const key = `${prefix}/blobs/${(await sha256(part)).replace(":", "/")}`;
  const upload = await bucket.createMultipartUpload(key);
  await upload.uploadPart(1, part);
  return { key, upload };
}

async function uploads(bucket: S3Bucket, prefix: string) {
  const out: Array<{ key: string; uploadId: string; initiated: number }> = [];
  for await (const upload of bucket.listMultipartUploads(prefix)) out.push(upload);
  return out;
}

Deno.test("S3Bucket.listMultipartUploads() (radosgw) lists a dead writer's open upload under its prefix with its start time; abortMultipartUpload() ends it", async () => {
  const rgw = await sharedRadosgw();
  const bucket = await bucketOn(rgw, "prune-list");
  const before = Date.now();
  const dead = await deadWriter(bucket, "cache", 1);
  const other = await deadWriter(bucket, "other", 2);
  const after = Date.now();
  const listed = await uploads(bucket, "cache/");
  assertEquals(listed.map((u) => u.key), [dead.key], "only the uploads under the prefix");
  // radosgw's clock is this machine's; Initiated has whole-second or millisecond precision.
  assert(
    listed[0].initiated >= before - 1000 && listed[0].initiated <= after + 1000,
    `${listed[0].initiated}`,
  );
  assert(listed[0].uploadId.length > 0);
  assertEquals((await uploads(bucket, "")).map((u) => u.key).sort(), [dead.key, other.key].sort());

  await bucket.abortMultipartUpload(listed[0].key, listed[0].uploadId);
  assertEquals(await uploads(bucket, "cache/"), []);
  await bucket.abortMultipartUpload(listed[0].key, listed[0].uploadId); // already gone: no error
  assertEquals((await uploads(bucket, "")).map((u) => u.key), [other.key]);
  await other.upload.abort();
  assertEquals(await uploads(bucket, ""), []);
});

Deno.test("ObjectLru.prune() (radosgw) aborts an upload started longer ago than staleMs and keeps a newer one; dryRun lists it and aborts nothing", async () => {
  const rgw = await sharedRadosgw();
  const bucket = await bucketOn(rgw, "prune-stale");
  const old = await deadWriter(bucket, "tug", 3);
  const [{ initiated: oldAt }] = await uploads(bucket, "tug/");
  // The newer upload must start at a later time than the old one as radosgw records it (bounded: 3 s).
  for (let i = 0; i < 150 && Date.now() <= oldAt + 1000; i++) await new Promise((r) => setTimeout(r, 20));
  const fresh = await deadWriter(bucket, "tug", 4);
  const byKey = new Map((await uploads(bucket, "tug/")).map((u) => [u.key, u]));
  const freshAt = byKey.get(fresh.key)!.initiated;
  assert(freshAt > oldAt, `${freshAt} > ${oldAt}`);

  // The clock a day after the old upload began and less than a day after the fresh one.
  const lru = new ObjectLru({ bucket, prefix: "tug", now: () => freshAt - 1 + DAY });
  const dry = await lru.prune({ dryRun: true });
  assertEquals(dry.removed, [{ kind: "upload", key: old.key }]);
  assertEquals(dry.uploadsSkipped, undefined);
  assertEquals(new Set((await uploads(bucket, "tug/")).map((u) => u.key)), new Set([old.key, fresh.key]));

  const run = await lru.prune();
  assertEquals(run.removed, [{ kind: "upload", key: old.key }]);
  assertEquals((await uploads(bucket, "tug/")).map((u) => u.key), [fresh.key], "the fresh upload is kept");
  await fresh.upload.abort();
});

Deno.test("tug prune --store s3://… (radosgw) keeps an upload started today, lists it with --dry-run -f and aborts it with -f", async () => {
  const rgw = await sharedRadosgw();
  const bucket = await bucketOn(rgw, "prune-cli");
  const dead = await deadWriter(bucket, "cache", 5);
  const url = `s3://prune-cli/cache?endpoint=${rgw.endpoint}&region=${rgw.region}&path-style=true`;
  const tug = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", MAIN, "prune", "--store", url, ...args],
      env: { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
  };
  const line = `${dead.key} (incomplete upload)`;

  const kept = await tug();
  assertEquals(kept.code, 0, kept.stderr);
  assert(!kept.stdout.includes(line), kept.stdout);
  // radosgw lists multipart uploads: prune does not fall back to "were not checked".
  assert(!kept.stderr.includes("were not checked"), kept.stderr);
  assertEquals(
    (await uploads(bucket, "cache/")).map((u) => u.key),
    [dead.key],
    "an upload started today stays",
  );

  const dry = await tug("--dry-run", "-f");
  assertEquals(dry.code, 0, dry.stderr);
  assert(dry.stdout.includes(`Would delete: ${line}`), dry.stdout);
  assertEquals((await uploads(bucket, "cache/")).map((u) => u.key), [dead.key], "--dry-run aborts nothing");

  const forced = await tug("-f");
  assertEquals(forced.code, 0, forced.stderr);
  assert(forced.stdout.includes(`Deleted: ${line}`), forced.stdout);
  assertEquals(await uploads(bucket, "cache/"), []);
});
