// S3Bucket.presign() against Ceph's radosgw (test/harness/radosgw.ts), an S3 server that verifies SigV4
// signatures (s3rver does not): the presigned URL opens its one object for GET (a Range too) until it
// expires, and nothing else: not another key, not another method, not with a changed signature or expiry.
import { assert, assertEquals } from "./_assert.ts";
import { sharedRadosgw } from "./harness/radosgw.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";

Deno.test("S3Bucket.presign() over radosgw: a GET URL of one object, a Range too; another key, method, signature or expiry is refused", async () => {
  const rgw = await sharedRadosgw();
  const name = "presign";
  await rgw.createBucket(name);
  const options = {
    bucket: name,
    endpoint: rgw.endpoint,
    region: rgw.region,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
  };
  const bucket = new S3Bucket(options);
  const key = "cache/blobs/sha256/" + "cd".repeat(32);
  const other = "cache/blobs/sha256/" + "ef".repeat(32);
  await bucket.put(key, new TextEncoder().encode("0123456789abcdefghij"));
  await bucket.put(other, new TextEncoder().encode("another blob"));

  const url = await bucket.presign(key, { expiresIn: 60 });
  const whole = await fetch(url);
  assertEquals([whole.status, await whole.text()], [200, "0123456789abcdefghij"]);
  const ranged = await fetch(url, { headers: { range: "bytes=5-9" } });
  assertEquals([ranged.status, await ranged.text()], [206, "56789"]);

  const refused = async (what: string, target: string, init: RequestInit = {}) => {
    const res = await fetch(target, init);
    const text = await res.text();
    assertEquals(res.status, 403, `${what}: ${text}`);
    assert(!text.includes("another blob") && !text.includes("0123456789"), what);
  };
  await refused("another key", url.replace(key, other));
  await refused("HEAD with a GET signature", url, { method: "HEAD" });
  await refused("PUT with a GET signature", url, { method: "PUT", body: "overwritten" });
  await refused("DELETE with a GET signature", url, { method: "DELETE" });
  const tampered = new URL(url);
  tampered.searchParams.set("X-Amz-Expires", "604800");
  await refused("a longer expiry", tampered.href);
  const forged = new URL(url);
  const signature = forged.searchParams.get("X-Amz-Signature")!;
  forged.searchParams.set("X-Amz-Signature", (signature[0] === "0" ? "1" : "0") + signature.slice(1));
  await refused("a changed signature", forged.href);
  // The object is unchanged and still there.
  const after = await fetch(url);
  assertEquals(await after.text(), "0123456789abcdefghij");

  // Signed two hours ago for 60 s (the signer's clock injected): expired, without a real wait.
  const late = new S3Bucket({ ...options, now: () => Date.now() - 2 * 3600_000 });
  await refused("an expired URL", await late.presign(key, { expiresIn: 60 }));
});
