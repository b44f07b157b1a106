import { assertEquals } from "../../test/_assert.ts";
import { S3Bucket } from "./s3_bucket.ts";

const credentials = { accessKeyId: "id", secretAccessKey: "secret" };

Deno.test("S3Bucket on AWS addresses a bucket name with dots path-style (as the AWS SDKs do): TLS wildcards do not cover a.b.s3…", () => {
  assertEquals(
    new S3Bucket({ bucket: "my.cache", region: "eu-west-1", credentials }).url("k"),
    "https://s3.eu-west-1.amazonaws.com/my.cache/k",
  );
  assertEquals(
    new S3Bucket({ bucket: "cache", region: "eu-west-1", credentials }).url("k"),
    "https://cache.s3.eu-west-1.amazonaws.com/k",
  );
  // Asked for explicitly, virtual-hosted it is.
  assertEquals(
    new S3Bucket({ bucket: "my.cache", credentials, pathStyle: false }).url("k"),
    "https://my.cache.s3.us-east-1.amazonaws.com/k",
  );
});
