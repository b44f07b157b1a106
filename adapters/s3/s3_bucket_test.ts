import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { TugError } from "../../src/errors.ts";
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

Deno.test("S3Bucket retries a request that got no answer (a reset connection) and names the attempts when all failed", async () => {
  const waits: number[] = [];
  let calls = 0;
  const flaky: typeof fetch = (input, init) => {
    calls++;
    if (calls <= 2) return Promise.reject(new TypeError("connection reset by peer"));
    assertEquals(
      new Request(input, init).headers.get("authorization")?.startsWith("AWS4-HMAC-SHA256 "),
      true,
    );
    return Promise.resolve(new Response(null, { status: 200, headers: { "content-length": "7" } }));
  };
  const sleep = (ms: number) => (waits.push(ms), Promise.resolve());
  const bucket = new S3Bucket({
    bucket: "b",
    endpoint: "http://s3.test",
    credentials,
    fetch: flaky,
    retry: { sleep },
  });
  assertEquals(await bucket.head("k"), { size: 7 });
  assertEquals([calls, waits.length], [3, 2]);

  const down = new S3Bucket({
    bucket: "b",
    endpoint: "http://s3.test",
    credentials,
    fetch: () => Promise.reject(new TypeError("connection refused")),
    retry: { sleep, attempts: 3 },
  });
  const err = await down.head("k").then(() => undefined, (e: unknown) => e);
  assertEquals(err instanceof TugError && err.code, "STORE_IO");
  assertEquals(
    (err as Error).message,
    "S3 HEAD http://s3.test/b/k failed: connection refused (after 3 attempts)",
  );
});

Deno.test("S3Bucket does not retry a redirect (refused at once) and sends once with attempts: 1", async () => {
  let calls = 0;
  const redirecting: typeof fetch = () => {
    calls++;
    return Promise.resolve(
      new Response(null, { status: 307, headers: { location: "http://elsewhere.test/" } }),
    );
  };
  const bucket = new S3Bucket({ bucket: "b", endpoint: "http://s3.test", credentials, fetch: redirecting });
  await bucket.head("k").then(() => undefined, () => undefined);
  assertEquals(calls, 1);

  calls = 0;
  const once = new S3Bucket({
    bucket: "b",
    endpoint: "http://s3.test",
    credentials,
    fetch: () => (calls++, Promise.resolve(new Response(null, { status: 503 }))),
    retry: { attempts: 1 },
  });
  const err = await once.head("k").then(() => undefined, (e: unknown) => e);
  assertEquals([calls, (err as Error).message.includes("attempts")], [1, false]);
  assertThrows(
    () => new S3Bucket({ bucket: "b", credentials, retry: { attempts: 0 } }),
    RangeError,
    "attempts",
  );
});

Deno.test("S3Bucket uploadPart hands fetch the part's own bytes, signed, never a copy (a Request copies its body: 8 MiB of garbage per part)", async () => {
  const bodies: unknown[] = [];
  const seen: Request[] = [];
  const recording: typeof fetch = (input, init) => {
    bodies.push(input instanceof Request ? input : init?.body);
    seen.push(new Request(input, init));
    const url = new URL(seen.at(-1)!.url);
    if (url.searchParams.has("uploads")) {
      return Promise.resolve(
        new Response(
          "<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>",
        ),
      );
    }
    return Promise.resolve(new Response(null, { status: 200, headers: { etag: '"e1"' } }));
  };
  const bucket = new S3Bucket({ bucket: "b", endpoint: "http://s3.test", credentials, fetch: recording });
  const upload = await bucket.createMultipartUpload("blobs/k");
  const part = new Uint8Array(1 << 20).fill(7);
  assertEquals(await upload.uploadPart(1, part), { partNumber: 1, etag: '"e1"' });
  assertEquals(bodies.length, 2);
  assertEquals(bodies[1] === part, true, "the very Uint8Array the writer filled");
  const put = seen[1];
  assertEquals([put.method, put.redirect], ["PUT", "manual"]);
  assertEquals(put.headers.get("authorization")?.startsWith("AWS4-HMAC-SHA256 "), true);
  assertEquals(put.headers.get("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
  assertEquals(new URL(put.url).searchParams.get("partNumber"), "1");
});
