// This module is browser compatible.
/**
 * {@linkcode checkS3Bucket}: one request, bounded in time, that tells whether a store can use a bucket
 * (the endpoint answers, speaks S3, the bucket exists, the credentials and region are right), with a message
 * that says what to fix. `tug serve` and `tug prune` run it before they start, so a mistake shows at once
 * rather than as a failure on a client's first pull.
 *
 * @module
 */

import { AwsClient } from "npm:aws4fetch@^1.0.20";
import { TugError } from "../../src/errors.ts";
import { describeNetworkError } from "../../src/registry/describe_network_error.ts";
import { S3Bucket, type S3BucketOptions } from "./s3_bucket.ts";

/** Options for {@linkcode checkS3Bucket}. */
export interface CheckS3BucketOptions {
  /** The key prefix the store uses (the listing is limited to it, so a policy on the prefix is enough). */
  prefix?: string;
  /** How long the check may take, in milliseconds (default 10 000). */
  timeoutMs?: number;
}

// Error bodies are small XML documents; a bound keeps a hostile endpoint from filling memory.
const BODY_LIMIT = 64 * 1024;

async function boundedText(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length < BODY_LIMIT) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  await reader.cancel().catch(() => {});
  return new TextDecoder().decode(await new Blob(chunks as BlobPart[]).arrayBuffer());
}

function xmlOne(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m
    ? m[1].replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&")
    : undefined;
}

/** An endpoint as shown in messages: its origin and path, never user info or a query. */
function shown(endpoint: string): string {
  const url = new URL(endpoint);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
}

/**
 * Checks that the bucket can be used: one signed `ListObjects` of at most one key under `prefix`
 * (S3's `s3:ListBucket` permission, which a store needs anyway: without it S3 answers a missing object
 * with 403 instead of 404). Resolves when the bucket answered a listing.
 *
 * @param options The bucket, endpoint, region, addressing style and credentials (as for `S3Bucket`).
 * @param check The prefix and the time limit.
 * @throws {TugError} `STORE_IO` with a one-line message naming what was wrong and what to change: the
 * endpoint cannot be reached or did not answer in time, is not an S3 service, the bucket does not exist, the
 * key id is unknown, the secret key does not match, the credentials may not list the bucket, the region is
 * wrong, or a temporary token expired. Messages never hold the secret key or a session token.
 *
 * @example
 * ```ts ignore
 * import { checkS3Bucket } from "./check_s3_bucket.ts";
 *
 * await checkS3Bucket({
 *   bucket: "cache",
 *   endpoint: "http://127.0.0.1:9000",
 *   credentials: { accessKeyId: "minio", secretAccessKey: "minio123" },
 * }, { prefix: "tug", timeoutMs: 5000 });
 * ```
 */
export async function checkS3Bucket(
  options: S3BucketOptions,
  check: CheckS3BucketOptions = {},
): Promise<void> {
  const timeoutMs = check.timeoutMs ?? 10_000;
  const region = options.region ?? "us-east-1";
  const base = new S3Bucket(options).url("");
  const endpoint = shown(options.endpoint ?? new URL(base).origin);
  const name = `S3 bucket "${options.bucket}" at ${endpoint}`;
  const fix = "(--store s3://BUCKET/PREFIX?endpoint=URL, or AWS_ENDPOINT_URL)";
  const prefix = check.prefix ? `${check.prefix.replace(/\/+$/, "")}/` : "";
  // ListObjects (v1): every S3 service has it, and s3rver answers a truncated ListObjectsV2 with a 500.
  const url = `${base}?${new URLSearchParams({ "max-keys": "1", prefix })}`;
  const client = new AwsClient({ ...options.credentials, service: "s3", region, retries: 0 });
  const signal = AbortSignal.timeout(timeoutMs);
  const fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);

  let res: Response;
  let text: string;
  try {
    // Never followed (docs/security.md, rule 8): the signed request carries the session token, and fetch
    // would resend it to whatever host a 3xx names.
    res = await fetcher(new Request(await client.sign(url, { method: "GET" }), { redirect: "manual" }), {
      signal,
    });
    text = await boundedText(res);
  } catch (cause) {
    if (signal.aborted) {
      throw new TugError(
        "TIMEOUT",
        `${name} did not answer within ${timeoutMs / 1000} s: check the endpoint ${fix} and the network`,
        { cause },
      );
    }
    throw new TugError(
      "STORE_IO",
      `cannot reach ${name}: ${describeNetworkError(cause)}; check the endpoint ${fix} and that it runs`,
      { cause },
    );
  }
  const code = xmlOne(text, "Code");
  const message = xmlOne(text, "Message");
  const said = code ? `${code}${message ? `: ${message}` : ""}` : `${res.status}`;
  const fail = (what: string) => {
    throw new TugError("STORE_IO", `${name}: ${what}`, { detail: { status: res.status, code } });
  };
  if (res.ok) {
    if (/<ListBucketResult[\s>]/.test(text)) return;
    return fail(
      `not an S3 service: a bucket listing answered ${res.status} ${
        res.headers.get("content-type") ?? "without a content type"
      }; check the endpoint ${fix}`,
    );
  }
  // The region S3 names when the request was signed for, or sent to, another one.
  const actual = res.headers.get("x-amz-bucket-region") ?? xmlOne(text, "Region");
  if (
    actual && actual !== region &&
    (code === "AuthorizationHeaderMalformed" || code === "PermanentRedirect" || res.status === 301)
  ) {
    return fail(
      `the bucket is in region ${actual}, not ${region}: add &region=${actual} to --store or set ` +
        `AWS_REGION=${actual}`,
    );
  }
  if (res.type === "opaqueredirect" || (res.status >= 300 && res.status < 400)) {
    let to = "elsewhere";
    try {
      const location = res.headers.get("location");
      if (location !== null) to = new URL(location, url).origin;
    } catch { /* not a URL */ }
    return fail(
      `a bucket listing answered ${res.status === 0 ? "a 3xx" : res.status}: a redirect to ${to}, not ` +
        `followed (requests go only to the endpoint); check the endpoint, region and path-style ${fix}`,
    );
  }
  switch (code) {
    case "NoSuchBucket":
      return fail(`the bucket does not exist: create it, or fix the bucket name or endpoint ${fix}`);
    case "InvalidAccessKeyId":
      return fail(`${said}; check AWS_ACCESS_KEY_ID`);
    case "SignatureDoesNotMatch":
      return fail(
        `${code}: the secret key does not belong to the access key id; check AWS_SECRET_ACCESS_KEY (and the region)`,
      );
    case "ExpiredToken":
    case "InvalidToken":
    case "TokenRefreshRequired":
      return fail(`${said}; renew the temporary credentials (AWS_SESSION_TOKEN and its keys)`);
    case "AccessDenied":
    case "AllAccessDisabled":
      return fail(
        `${said}; the credentials need s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on it`,
      );
  }
  if (code === undefined) {
    // No S3 error document: a web server, a proxy or a load balancer answered, not the S3 API.
    return fail(
      `not an S3 service: a bucket listing answered ${res.status} ${
        res.headers.get("content-type") ?? "without a content type"
      }; check the endpoint ${fix}`,
    );
  }
  return fail(`answered ${res.status} ${said}`);
}
