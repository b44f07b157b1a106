import { assertEquals, assertRejects } from "./_assert.ts";
import { s3StoreContract } from "./_s3_contract.ts";
import { S3RVER_CREDENTIALS, startS3rver } from "./harness/s3rver.ts";
import { TugError } from "../src/errors.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";
import { s3Store, type S3StoreOptions } from "../adapters/s3/s3_store.ts";

// s3rver checks SigV4 signatures and implements multipart uploads, but not the 5 MiB minimum part size
// of S3: a 64 KiB part size runs every contract case larger than that through multipart uploads.
for (const partSize of [undefined, 64 * 1024]) {
  const label = partSize === undefined ? "single PUTs" : "64 KiB multipart parts";
  Deno.test(`s3Store over s3rver (${label}) passes the store contract`, async (t) => {
    await using s3 = await startS3rver();
    // Every aborted or failed write aborted its multipart upload: s3rver keeps no part behind.
    await s3StoreContract(t, (prefix): S3StoreOptions => ({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      credentials: S3RVER_CREDENTIALS,
      prefix,
      ...(partSize ? { partSize } : {}),
    }));
  });
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

async function keys(bucket: S3Bucket): Promise<string[]> {
  const out: string[] = [];
  for await (const { key } of bucket.list("")) out.push(key);
  return out;
}

Deno.test("s3Store: a blob whose bytes do not match its digest never becomes an object in the bucket", async () => {
  await using s3 = await startS3rver();
  const options = {
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    credentials: S3RVER_CREDENTIALS,
    prefix: "tug",
  };
  const bucket = new S3Bucket(options);
  // Below one part (a single PUT would follow the check) and across many parts (a multipart upload).
  for (const [size, partSize] of [[1000, undefined], [300_000, 64 * 1024]] as const) {
    const good = pattern(size, 1);
    const digest = await sha256(good);
    const bad = good.slice();
    bad[size - 10] ^= 1;
    const store = s3Store({ ...options, ...(partSize ? { partSize } : {}) });
    const writer = await store.blobs.writer({ digest, size });
    for (let at = 0; at < size; at += 50_000) await writer.write(bad.subarray(at, at + 50_000));
    await assertRejects(() => writer.commit(), TugError, { code: "DIGEST_MISMATCH", includes: digest });
    assertEquals(await store.blobs.stat(digest), undefined);
    assertEquals(await keys(bucket), [], `no object for a ${size}-byte blob that failed its digest check`);
  }
});
