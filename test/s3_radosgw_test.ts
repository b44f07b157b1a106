/**
 * The S3 store and bucket against Ceph's radosgw (test/harness/radosgw.ts): a real S3 implementation that,
 * unlike s3rver, honours `If-None-Match: *` on PUT and enforces S3's 5 MiB minimum part size.
 */

import { AwsClient } from "npm:aws4fetch@^1.0.20";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { s3StoreContract } from "./_s3_contract.ts";
import { type Radosgw, sharedRadosgw, startRadosgw } from "./harness/radosgw.ts";
import { TugError } from "../src/errors.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";
import { s3Store, type S3StoreOptions } from "../adapters/s3/s3_store.ts";

const MiB = 1 << 20;

/** A fresh bucket on the shared cluster, and the options that reach it. */
async function bucketOn(
  rgw: Radosgw,
  bucket: string,
  extra: Partial<S3StoreOptions> = {},
): Promise<S3StoreOptions> {
  await rgw.createBucket(bucket);
  return {
    bucket,
    endpoint: rgw.endpoint,
    region: rgw.region,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
    ...extra,
  };
}

/** A signed S3 request the S3Bucket API does not make (ETag, ListMultipartUploads). */
async function signed(rgw: Radosgw, method: string, path: string): Promise<Response> {
  const client = new AwsClient({
    accessKeyId: rgw.accessKeyId,
    secretAccessKey: rgw.secretAccessKey,
    service: "s3",
    region: rgw.region,
    retries: 0,
  });
  return await client.fetch(`${rgw.endpoint}/${path}`, { method });
}

/** The multipart uploads still open in `bucket` (ListMultipartUploads): each keeps its parts stored. */
async function openUploads(rgw: Radosgw, bucket: string): Promise<string[]> {
  const res = await signed(rgw, "GET", `${bucket}?uploads`);
  const xml = await res.text();
  assertEquals(res.status, 200, xml);
  return [...xml.matchAll(/<Upload>[\s\S]*?<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
}

async function sha256(data: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7 + (i >>> 11)) & 255;
  return out;
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("startRadosgw: serves S3 with the user's keys, and stop() kills every daemon and removes its folder", async () => {
  const rgw = await startRadosgw();
  try {
    assertEquals(rgw.pids.length, 3);
    await rgw.createBucket("harness");
    await rgw.createBucket("harness"); // a bucket the user already owns is no error
    const res = await signed(rgw, "GET", "");
    const xml = await res.text();
    assertEquals(res.status, 200, xml);
    assert(xml.includes("<Name>harness</Name>"), xml);
  } finally {
    await rgw.stop();
  }
  for (const pid of rgw.pids) {
    const state = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "gone");
    assert(state === "gone" || /^\d+ \(.*\) Z/.test(state), `daemon ${pid} still runs: ${state}`);
  }
  assertEquals(await Deno.stat(rgw.dir).then(() => "exists", () => "removed"), "removed");
  await rgw.stop(); // idempotent
});

Deno.test("s3Store over radosgw passes the store contract", async (t) => {
  const rgw = await sharedRadosgw();
  const base = await bucketOn(rgw, "contract");
  await s3StoreContract(t, (prefix) => ({ ...base, prefix }));
  // Every aborted or failed write aborted its multipart upload: radosgw keeps no part behind.
  assertEquals(await openUploads(rgw, "contract"), []);
});

Deno.test("S3 bucket over radosgw: put with ifNoneMatch refuses to overwrite an existing object", async () => {
  const rgw = await sharedRadosgw();
  const bucket = new S3Bucket(await bucketOn(rgw, "if-none-match"));
  const first = new TextEncoder().encode("first writer");
  const second = new TextEncoder().encode("second writer");
  assertEquals(await bucket.put("lease", first, { ifNoneMatch: true }), true);
  assertEquals(await bucket.put("lease", second, { ifNoneMatch: true }), false);
  assertEquals(await readAll((await bucket.get("lease"))!), first);
  // Without the condition the write replaces the object; once deleted, a conditional write succeeds again.
  assertEquals(await bucket.put("lease", second), true);
  assertEquals(await readAll((await bucket.get("lease"))!), second);
  await bucket.delete("lease");
  assertEquals(await bucket.put("lease", first, { ifNoneMatch: true }), true);
  assertEquals(await readAll((await bucket.get("lease"))!), first);
});

Deno.test("S3 bucket over radosgw: of 8 concurrent puts with ifNoneMatch exactly one succeeds and its body stays", async () => {
  const rgw = await sharedRadosgw();
  const bucket = new S3Bucket(await bucketOn(rgw, "if-none-match-race"));
  // What a lease relies on: radosgw creates the object exclusively, so whatever the order, one writer wins.
  for (let round = 0; round < 3; round++) {
    const bodies = Array.from(
      { length: 8 },
      (_, i) => new TextEncoder().encode(`writer ${i} of round ${round}`),
    );
    const won = await Promise.all(
      bodies.map((body) => bucket.put(`lease-${round}`, body, { ifNoneMatch: true })),
    );
    assertEquals(won.filter(Boolean).length, 1, `round ${round}: ${won.join(" ")}`);
    assertEquals(await readAll((await bucket.get(`lease-${round}`))!), bodies[won.indexOf(true)]);
  }
});

Deno.test("s3Store over radosgw: a blob larger than one part goes up as a multipart upload of 5 MiB parts", async () => {
  const rgw = await sharedRadosgw();
  // 5 MiB is S3's (and radosgw's) smallest part but the last: 12 MiB + 1 byte is three parts.
  const options = await bucketOn(rgw, "multipart", { prefix: "tug", partSize: 5 * MiB });
  const store = s3Store(options);
  const data = pattern(12 * MiB + 1, 5);
  const digest = await sha256(data);
  const writer = await store.blobs.writer({ digest, size: data.length });
  for (let at = 0; at < data.length; at += 1_000_000) await writer.write(data.subarray(at, at + 1_000_000));
  await writer.commit();
  assertEquals((await store.blobs.stat(digest))?.size, data.length);
  assertEquals(await sha256(await readAll(await store.blobs.get(digest))), digest);
  // An S3 multipart object's ETag is the MD5 of its parts' MD5s followed by "-" and the part count.
  const keys: string[] = [];
  for await (const { key } of new S3Bucket(options).list("")) keys.push(key);
  assertEquals(keys.length, 1, keys.join(", "));
  const head = await signed(rgw, "HEAD", `multipart/${keys[0]}`);
  await head.body?.cancel();
  assertEquals(head.status, 200);
  assert(/-3"?$/.test(head.headers.get("etag") ?? ""), `ETag ${head.headers.get("etag")} is not of 3 parts`);
  assertEquals(await openUploads(rgw, "multipart"), []);
});

Deno.test("s3Store over radosgw: a multipart blob that fails its digest check leaves no object and no upload", async () => {
  const rgw = await sharedRadosgw();
  const options = await bucketOn(rgw, "mismatch", { prefix: "tug", partSize: 5 * MiB });
  const good = pattern(11 * MiB, 6);
  const digest = await sha256(good);
  const bad = good.slice();
  bad[bad.length - 10] ^= 1;
  const store = s3Store(options);
  const writer = await store.blobs.writer({ digest, size: bad.length });
  for (let at = 0; at < bad.length; at += 1_000_000) await writer.write(bad.subarray(at, at + 1_000_000));
  await assertRejects(() => writer.commit(), TugError, { code: "DIGEST_MISMATCH", includes: digest });
  assertEquals(await store.blobs.stat(digest), undefined);
  const keys: string[] = [];
  for await (const { key } of new S3Bucket(options).list("")) keys.push(key);
  assertEquals(keys, []);
  assertEquals(await openUploads(rgw, "mismatch"), []);
});
