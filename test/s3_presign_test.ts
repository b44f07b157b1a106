// S3Bucket.presign(): presigned GET URLs (SigV4 in the query string), against s3rver (a real S3 API
// server: it checks a presigned URL's expiry, though not its signature) and against AWS's own SigV4
// signer (@smithy/signature-v4, what the AWS SDK presigns with), which shows the signature is the one
// AWS S3 checks: for GET of that one key, until that expiry.
import { SignatureV4 } from "npm:@smithy/signature-v4@^5.7.5";
import { Hash } from "npm:@smithy/hash-node@^4.5.2";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { S3RVER_CREDENTIALS, startS3rver } from "./harness/s3rver.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";

const KEY = "cache/blobs/sha256/" + "ab".repeat(32);

Deno.test("S3Bucket.presign() makes a GET URL for one key that s3rver answers, a Range too, and no secret in it", async () => {
  await using s3 = await startS3rver();
  const bucket = new S3Bucket({ bucket: s3.bucket, endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS });
  const body = new TextEncoder().encode("0123456789abcdefghij");
  await bucket.put(KEY, body);
  const url = await bucket.presign(KEY, { expiresIn: 60 });
  const parsed = new URL(url);
  assertEquals(`${parsed.origin}${parsed.pathname}`, bucket.url(KEY));
  assertEquals(parsed.searchParams.get("X-Amz-Expires"), "60");
  assertEquals(parsed.searchParams.get("X-Amz-SignedHeaders"), "host");
  // The access key id names the key pair (as in every presigned URL); the secret key never appears.
  assertEquals(parsed.searchParams.get("X-Amz-Credential")?.split("/")[0], S3RVER_CREDENTIALS.accessKeyId);

  const whole = await fetch(url);
  assertEquals([whole.status, await whole.text()], [200, "0123456789abcdefghij"]);
  const ranged = await fetch(url, { headers: { range: "bytes=5-9" } });
  assertEquals([ranged.status, await ranged.text()], [206, "56789"]);
  assertEquals(ranged.headers.get("content-range"), "bytes 5-9/20");
});

Deno.test("S3Bucket.presign() URL fails at the object store once expired (the signer's clock injected)", async () => {
  await using s3 = await startS3rver();
  // Signed two hours ago, valid 60 s: expired long before the request, with no real wait.
  const past = Date.now() - 2 * 3600_000;
  const bucket = new S3Bucket({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    credentials: S3RVER_CREDENTIALS,
    now: () => past,
  });
  await bucket.put(KEY, new TextEncoder().encode("secret bytes"));
  const expired = await fetch(await bucket.presign(KEY, { expiresIn: 60 }));
  const text = await expired.text();
  assertEquals(expired.status, 403);
  assertStringIncludes(text, "Request has expired");
  assert(!text.includes("secret bytes"));
});

Deno.test("S3Bucket.presign() puts no secret key in the URL, only the key id, a session token if any, and the signature", async () => {
  const credentials = {
    accessKeyId: "AKIDEXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  };
  const bucket = new S3Bucket({ bucket: "cache", endpoint: "http://127.0.0.1:9", credentials });
  const url = await bucket.presign(KEY, { expiresIn: 60 });
  assert(
    !url.includes(credentials.secretAccessKey) &&
      !url.includes(encodeURIComponent(credentials.secretAccessKey)),
  );
  assertEquals(
    [...new URL(url).searchParams.keys()].sort(),
    [
      "X-Amz-Algorithm",
      "X-Amz-Credential",
      "X-Amz-Date",
      "X-Amz-Expires",
      "X-Amz-Signature",
      "X-Amz-SignedHeaders",
    ],
  ); // Temporary credentials: their session token goes along (signed), as in every presigned URL made with them.
  const temporary = new S3Bucket({
    bucket: "cache",
    endpoint: "http://127.0.0.1:9",
    credentials: { ...credentials, sessionToken: "TOKEN" },
  });
  const withToken = new URL(await temporary.presign(KEY, { expiresIn: 60 }));
  assertEquals(withToken.searchParams.get("X-Amz-Security-Token"), "TOKEN");
  assert(!withToken.href.includes(encodeURIComponent(credentials.secretAccessKey)));
});

Deno.test("S3Bucket.presign() signs as AWS's own SigV4 presigner does: GET of that key, host signed, that expiry", async () => {
  const credentials = {
    accessKeyId: "AKIDEXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  };
  const at = Date.UTC(2026, 0, 2, 3, 4, 5);
  const unsent = {
    unsignableHeaders: new Set(["x-amz-content-sha256"]),
    unhoistableHeaders: new Set(["x-amz-content-sha256"]),
  };
  for (
    const [endpoint, region, pathStyle] of [
      ["http://127.0.0.1:9000", "us-east-1", true],
      ["https://s3.eu-west-1.amazonaws.com", "eu-west-1", false],
      ["https://acct.r2.cloudflarestorage.com", "auto", true],
    ] as const
  ) {
    const bucket = new S3Bucket({ bucket: "cache", endpoint, region, pathStyle, credentials, now: () => at });
    const url = new URL(await bucket.presign(KEY, { expiresIn: 1200 }));
    const aws = new SignatureV4({
      service: "s3",
      region,
      credentials,
      sha256: Hash.bind(null, "sha256"),
      // S3 signs the path as sent (no second escaping), as the AWS SDK's S3 client configures it.
      uriEscapePath: false,
      applyChecksum: false,
    });
    const expected = await aws.presign({
      method: "GET",
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      // A presigned URL's canonical request carries UNSIGNED-PAYLOAD as its payload hash (S3's "Authenticating
      // Requests: Using Query Parameters"); the header only says so to the signer, it is neither sent nor signed.
      headers: { host: url.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      query: {},
    }, { expiresIn: 1200, signingDate: new Date(at), ...unsent });
    for (
      const name of [
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
      ]
    ) {
      assertEquals(url.searchParams.get(name), expected.query?.[name], `${endpoint}: ${name}`);
    }
    // Another key or another method would need another signature.
    const other = await aws.presign({
      method: "HEAD",
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      // A presigned URL's canonical request carries UNSIGNED-PAYLOAD as its payload hash (S3's "Authenticating
      // Requests: Using Query Parameters"); the header only says so to the signer, it is neither sent nor signed.
      headers: { host: url.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      query: {},
    }, { expiresIn: 1200, signingDate: new Date(at), ...unsent });
    assert(other.query?.["X-Amz-Signature"] !== url.searchParams.get("X-Amz-Signature"));
  }
});

Deno.test("S3Bucket.presign() refuses an expiry that is not 1 s to 7 days (SigV4's limit)", async () => {
  const bucket = new S3Bucket({
    bucket: "cache",
    endpoint: "http://127.0.0.1:9",
    credentials: S3RVER_CREDENTIALS,
  });
  for (const expiresIn of [0, -5, 2.5, 604_801, NaN]) {
    await assertRejects(() => bucket.presign(KEY, { expiresIn }), RangeError, "expiresIn");
  }
});
