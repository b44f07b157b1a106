// The S3 store against transient failures: a front server forwards to a real S3 service (s3rver, radosgw)
// and answers some attempts itself with the statuses S3 asks clients to retry (500 InternalError, 503
// SlowDown, 502, 504, 429), before the request reaches the service or after the service applied it (the
// answer lost on the way back). s3rver also produces the first kind by itself: it writes objects in place,
// so a read that meets a write of the same key is a 500 (a CI run of the redirect test met one).
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { S3RVER_CREDENTIALS, startS3rver } from "./harness/s3rver.ts";
import { sharedRadosgw } from "./harness/radosgw.ts";
import { startFront } from "./_s3_front.ts";
import { TugError } from "../src/errors.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";
import { s3Store } from "../adapters/s3/s3_store.ts";
import { ObjectLeases } from "../src/store/object_lease.ts";

async function sha256(data: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function readAll(stream: ReadableStream<Uint8Array> | undefined): Promise<Uint8Array> {
  assert(stream !== undefined, "a stream");
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const xmlError = (status: number, code: string) =>
  new Response(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>try again</Message></Error>`, {
    status,
    headers: { "content-type": "application/xml" },
  });

const TRANSIENT: Array<[number, string]> = [
  [500, "InternalError"],
  [503, "SlowDown"],
  [502, "BadGateway"],
  [504, "GatewayTimeout"],
  [429, "TooManyRequests"],
];

/** Records the waits instead of waiting: the tests take no real time for backoff. */
function recordedSleep(): { waits: number[]; sleep: (ms: number) => Promise<void> } {
  const waits: number[] = [];
  return { waits, sleep: (ms) => (waits.push(ms), Promise.resolve()) };
}

Deno.test("s3Store over s3rver: every operation succeeds when each request's first attempt answers 500, 503, 502, 504 or 429, sent again signed anew", async () => {
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  const { waits, sleep } = recordedSleep();
  const store = s3Store({
    bucket: s3.bucket,
    endpoint: front.endpoint,
    credentials: S3RVER_CREDENTIALS,
    prefix: "tug",
    partSize: 64 * 1024,
    retry: { sleep },
  });
  // Each distinct request (method, path and query) fails its first attempt, with the statuses in turn.
  const failed = new Set<string>();
  const authorizations = new Map<string, string[]>();
  front.hook = (request, url) => {
    const line = `${request.method} ${url.pathname}${url.search}`;
    authorizations.set(line, [...authorizations.get(line) ?? [], request.headers.get("authorization") ?? ""]);
    if (failed.has(line)) return undefined;
    failed.add(line);
    const [status, code] = TRANSIENT[failed.size % TRANSIENT.length];
    return xmlError(status, code);
  };

  const small = new TextEncoder().encode("layer bytes, one part");
  const large = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7919) >> 3);
  for (const bytes of [small, large]) {
    const writer = await store.blobs.writer({ digest: await sha256(bytes), size: bytes.length });
    await writer.write(bytes);
    await writer.commit();
  }
  const descriptor = {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: await sha256(small),
    size: small.length,
  };
  await store.references.set("example.com/a:b", descriptor);

  assertEquals((await store.blobs.stat(await sha256(large)))?.size, large.length);
  assertEquals(await readAll(await store.blobs.get(await sha256(large))), large);
  assertEquals(
    await readAll(await store.blobs.get(await sha256(large), { start: 1000, end: 2000 })),
    large.subarray(1000, 2000),
  );
  assertEquals((await store.references.get("example.com/a:b"))?.digest, descriptor.digest);
  const listed: string[] = [];
  for await (const info of store.blobs.list()) listed.push(info.digest);
  assertEquals(listed.sort(), [await sha256(small), await sha256(large)].sort());
  await store.blobs.delete(await sha256(small));
  assertEquals(await store.blobs.stat(await sha256(small)), undefined);

  // Every request was sent twice, the second time with a signature of its own (SigV4 dates each one).
  assert(failed.size >= 10, `${failed.size} distinct requests`);
  for (const line of failed) {
    assertEquals(front.seen.filter((s) => s === line).length >= 2, true, line);
  }
  for (const [line, signatures] of authorizations) {
    assert(signatures.every((s) => s.startsWith("AWS4-HMAC-SHA256 ")), line);
  }
  // One wait per retry, within the first backoff step (50–100 ms).
  assertEquals(waits.length, failed.size);
  assert(waits.every((ms) => ms >= 50 && ms <= 100), `waits ${waits}`);
});

Deno.test("S3Bucket gives up after 4 attempts on a lasting 503 SlowDown, naming the status, the code and the attempts; waits back off, bounded", async () => {
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  const { waits, sleep } = recordedSleep();
  const bucket = new S3Bucket({
    bucket: s3.bucket,
    endpoint: front.endpoint,
    credentials: S3RVER_CREDENTIALS,
    retry: { sleep, baseDelayMs: 400, maxDelayMs: 1000 },
  });
  front.hook = () => xmlError(503, "SlowDown");
  const err = await bucket.get("blobs/x").then(() => undefined, (e: unknown) => e);
  assert(err instanceof TugError && err.code === "STORE_IO", String(err));
  assertStringIncludes(err.message, "answered 503: SlowDown: try again (after 4 attempts)");
  assertEquals(front.seen.length, 4);
  // 400 ms doubling, capped at 1 s, each half fixed and half random.
  assertEquals(waits.length, 3);
  assert(waits[0] >= 200 && waits[0] <= 400, `first wait ${waits[0]}`);
  assert(waits[1] >= 400 && waits[1] <= 800, `second wait ${waits[1]}`);
  assert(waits[2] >= 500 && waits[2] <= 1000, `third wait ${waits[2]} (capped)`);
});

Deno.test("S3Bucket sends a 403, 404 or 412 once: an answer, not a transient failure", async () => {
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  const { waits, sleep } = recordedSleep();
  const bucket = new S3Bucket({
    bucket: s3.bucket,
    endpoint: front.endpoint,
    credentials: S3RVER_CREDENTIALS,
    retry: { sleep },
  });
  front.hook = () => xmlError(403, "AccessDenied");
  const err = await bucket.head("blobs/x").then(() => undefined, (e: unknown) => e);
  assert(err instanceof TugError && err.code === "STORE_IO", String(err));
  assert(!err.message.includes("attempts"), err.message);
  front.hook = () => undefined;
  assertEquals(await bucket.head("blobs/none"), undefined);
  assertEquals(front.seen.length, 2, "one request each");
  assertEquals(waits, []);
});

/**
 * A fetch between the bucket and the service: answers before it (`before`) or replaces its answer after it
 * applied the request (`after`). It sits in the client's fetch, not in a front server, because radosgw checks
 * each signature against its own Host.
 */
interface Relay {
  fetch: typeof fetch;
  before: (request: Request) => Response | undefined;
  after: (request: Request, response: Response) => Response | undefined;
}

function relay(): Relay {
  const hooks: Relay = {
    before: (_request: Request): Response | undefined => undefined,
    after: (_request: Request, _response: Response): Response | undefined => undefined,
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const own = hooks.before(request);
      if (own !== undefined) return own;
      const response = await fetch(request.clone());
      const replaced = hooks.after(request, response);
      if (replaced === undefined) return response;
      await response.body?.cancel();
      return replaced;
    }) as typeof fetch,
  };
  return hooks;
}

Deno.test("S3Bucket multipart complete applied but answered 500 (radosgw, s3rver): the retry succeeds, or its failure is success when the object is there, whole", async () => {
  const rgw = await sharedRadosgw();
  await rgw.createBucket("retry-complete");
  await using s3 = await startS3rver();
  const services = {
    radosgw: {
      bucket: "retry-complete",
      endpoint: rgw.endpoint,
      region: rgw.region,
      credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
    },
    s3rver: { bucket: s3.bucket, endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS },
  };
  for (const [name, service] of Object.entries(services)) {
    const between = relay();
    const { sleep } = recordedSleep();
    const store = s3Store({ ...service, fetch: between.fetch, partSize: 5 << 20, retry: { sleep } });
    const answers: number[] = [];
    between.after = (request, response) => {
      // CompleteMultipartUpload: the service made the object, the first answer is lost on the way back.
      if (request.method !== "POST" || !new URL(request.url).searchParams.has("uploadId")) return undefined;
      answers.push(response.status);
      return answers.length === 1 ? xmlError(500, "InternalError") : undefined;
    };
    // Two parts of S3's smallest part size, and a bit.
    const large = Uint8Array.from({ length: (10 << 20) + 1000 }, (_, i) => (i * 104729) >> 5);
    const writer = await store.blobs.writer({ digest: await sha256(large), size: large.length });
    await writer.write(large);
    await writer.commit();
    assertEquals(answers[0], 200, `${name}: the first complete made the object`);
    // radosgw answers a repeated complete 200 again, as S3 may; s3rver answers 500 (the upload is gone).
    assert(answers.length >= 2, `${name}: the complete was sent again (answers ${answers})`);
    assertEquals(await readAll(await store.blobs.get(await sha256(large))), large, name);
  }
});

Deno.test("S3Bucket conditional PUT over radosgw: applied but answered 500, the retry's 412 is this write's own lease; another writer's 412 stays a loss", async () => {
  const rgw = await sharedRadosgw();
  await rgw.createBucket("retry-conditional");
  const hooks = relay();
  const { sleep } = recordedSleep();
  const bucket = new S3Bucket({
    bucket: "retry-conditional",
    endpoint: rgw.endpoint,
    region: rgw.region,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
    fetch: hooks.fetch,
    retry: { sleep },
  });
  const conditional = (request: Request) => request.method === "PUT" && request.headers.has("if-none-match");

  // The lease is created by the first attempt; its answer is lost. The retry meets it (412) and knows it.
  let lost = 0;
  hooks.after = (request, response) => {
    if (!conditional(request)) return undefined;
    lost++;
    if (lost === 1) {
      assertEquals(response.status, 200, "radosgw applied the first attempt");
      return xmlError(500, "InternalError");
    }
    assertEquals(response.status, 412, "radosgw refused the retry: the object exists");
    return undefined;
  };
  const digest = "sha256:" + "a".repeat(64);
  const leases = new ObjectLeases({
    bucket,
    root: "tug/",
    blobKey: (d) => `tug/blobs/sha256/${d.slice(7)}`,
    ttl: 60_000,
  });
  const outcome = await leases.claim(digest);
  assertEquals(lost, 2, "sent twice");
  assertEquals(outcome.kind, "lease", "the replica holds the lease it created, not waiting on itself");
  if (outcome.kind === "lease") await outcome.lease.release();
  assertEquals(await bucket.head(leases.key(digest)), undefined, "released");

  // Another writer holds the key: the first attempt fails in transit (503 before radosgw), the retry's 412 is
  // a real loss, and the other writer's object is left as it was.
  hooks.after = () => undefined;
  const other = new TextEncoder().encode('{"holder":"other"}');
  assertEquals(await bucket.put("k", other, { ifNoneMatch: true }), true);
  let refused = 0;
  hooks.before = (request) => conditional(request) && refused++ === 0 ? xmlError(503, "SlowDown") : undefined;
  assertEquals(
    await bucket.put("k", new TextEncoder().encode('{"holder":"me"}'), { ifNoneMatch: true }),
    false,
  );
  assertEquals(refused, 2);
  assertEquals(await readAll(await bucket.get("k")), other);
});
