// The S3 store against a hostile endpoint (or something hostile in front of a real one): a front server
// forwards to a real s3rver and, per test, answers some requests itself the way no real S3 server would
// (redirects to another host, bodies without end, listings that loop or name keys outside the prefix,
// bodies longer or shorter than declared). The rules these tests guard are in docs/security.md, section 8.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { runTug, tempDir } from "./_cli.ts";
import { S3RVER_CREDENTIALS, startS3rver } from "./harness/s3rver.ts";
import { startFront } from "./_s3_front.ts";
import { sharedRadosgw } from "./harness/radosgw.ts";
import { TugError } from "../src/errors.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";
import { s3Store } from "../adapters/s3/s3_store.ts";
import { ObjectLru } from "../src/store/object_lru.ts";
import { ObjectLeases } from "../src/store/object_lease.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** A server that records every request it gets (the host a redirect names): it must get none. */
function startCapture(): AsyncDisposable & { readonly origin: string; readonly got: string[] } {
  const got: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const token = request.headers.get("x-amz-security-token");
    const body = await request.text();
    got.push(`${request.method} ${new URL(request.url).pathname} token=${token} body=${body.length}`);
    return new Response("<ok/>", { headers: { etag: '"x"', "content-length": "5" } });
  });
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    got,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

async function sha256(data: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

const CREDENTIALS = { ...S3RVER_CREDENTIALS, sessionToken: "session-token-must-stay" };

Deno.test("S3Bucket follows no redirect: a 301/302/307 from the endpoint sends no signature, token or body to the host it names", async () => {
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  await using capture = startCapture();
  const options = { bucket: s3.bucket, endpoint: front.endpoint, credentials: CREDENTIALS, prefix: "tug" };
  const store = s3Store({ ...options, partSize: 64 * 1024 });
  const small = new TextEncoder().encode("private layer bytes");
  const large = new Uint8Array(200_000).fill(7);
  // A blob and a reference put there through the front while it forwards: later reads have something to find.
  const smallDigest = await sha256(small);
  const w = await store.blobs.writer({ digest: smallDigest, size: small.length });
  await w.write(small);
  await w.commit();

  const operations: Record<string, () => Promise<unknown>> = {
    "PUT of a blob": async () => {
      const bytes = large.subarray(0, 100);
      const writer = await store.blobs.writer({ digest: await sha256(bytes), size: bytes.length });
      await writer.write(bytes);
      await writer.commit();
    },
    "multipart upload": async () => {
      const writer = await store.blobs.writer({ digest: await sha256(large), size: large.length });
      await writer.write(large);
      await writer.commit();
    },
    "PUT of a reference": () =>
      store.references.set("example.com/a:b", {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: smallDigest,
        size: small.length,
      }),
    "HEAD": () => store.blobs.stat(smallDigest),
    "GET": async () => await new Response(await store.blobs.get(smallDigest)).arrayBuffer(),
    "list": async () => {
      for await (const _ of store.blobs.list()) { /* drain */ }
    },
    "DELETE": () => store.blobs.delete(smallDigest),
  };
  for (const status of [301, 302, 307, 308]) {
    front.hook = (_request, url) =>
      new Response(null, { status, headers: { location: capture.origin + url.pathname + url.search } });
    for (const [name, operation] of Object.entries(operations)) {
      const err = await operation().then(() => undefined, (e: unknown) => e);
      assert(err instanceof TugError && err.code === "STORE_IO", `${name} after a ${status}: ${err}`);
      assertStringIncludes(err.message, `answered ${status}: a redirect`, `${name} after a ${status}`);
    }
  }
  assertEquals(capture.got, []);
  // The blob is still there, unchanged, once the front forwards again.
  front.hook = () => undefined;
  assertEquals(new Uint8Array(await new Response(await store.blobs.get(smallDigest)).arrayBuffer()), small);
});

Deno.test("tug prune --store s3://… on Deno and on Node 20 follows no redirect: the host a 307 names gets no token and no body", async () => {
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  await using capture = startCapture();
  await using tmp = await tempDir("tug-s3-redirect-");
  const bundle = `${tmp.dir}/tug.mjs`;
  const build = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}adapters/cli/build_node.ts`, bundle],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  assertEquals(build.code, 0, new TextDecoder().decode(build.stderr));
  front.hook = (_request, url) =>
    new Response(null, { status: 307, headers: { location: capture.origin + url.pathname + url.search } });
  const env = {
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
  };
  for (const runtime of ["deno", "node"] as const) {
    const run = await runTug(["prune", "--store", `s3://${s3.bucket}/tug?endpoint=${front.endpoint}`], {
      runtime,
      bundle,
      env,
    });
    assertEquals(run.code, 1, `${runtime}: ${run.stdout}${run.stderr}`);
    assertStringIncludes(run.stderr, "answered 307: a redirect", runtime);
  }
  assert(front.seen.length >= 2, "each run reached the front");
  assertEquals(capture.got, []);
});

/** Reads `stream` to its end or its error: the bytes that arrived, and the error. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<{ bytes: number; error: unknown }> {
  const reader = stream.getReader();
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes, error: undefined };
      bytes += value.length;
    }
  } catch (error) {
    return { bytes, error };
  }
}

Deno.test("s3Store.blobs.get() of bytes in the bucket that are not the blob fails (DIGEST_MISMATCH, SIZE_MISMATCH) before the last byte", async () => {
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  const options = {
    bucket: s3.bucket,
    endpoint: front.endpoint,
    credentials: S3RVER_CREDENTIALS,
    prefix: "tug",
  };
  const store = s3Store(options);
  const bucket = new S3Bucket(options);
  const blob = new Uint8Array(300_000).map((_, i) => (i * 7) & 255);
  const digest = await sha256(blob);
  const writer = await store.blobs.writer({ digest, size: blob.length });
  await writer.write(blob);
  await writer.commit();
  assertEquals(await drain(await store.blobs.get(digest)), { bytes: blob.length, error: undefined });
  // Whoever else can write to the bucket (or answer for it) puts other bytes under the blob's key: one
  // flipped byte, another object's bytes, the blob cut short, the blob with bytes after it.
  const flipped = blob.slice();
  flipped[150_000] ^= 1;
  const key = `tug/blobs/sha256/${digest.slice("sha256:".length)}`;
  for (
    const planted of [
      flipped,
      new Uint8Array(1000).fill(1),
      blob.subarray(0, 299_999),
      new Uint8Array([...blob, 0]),
    ]
  ) {
    await bucket.put(key, planted);
    const { bytes, error } = await drain(await store.blobs.get(digest));
    const code = planted.length === blob.length ? "DIGEST_MISMATCH" : "SIZE_MISMATCH";
    assert(error instanceof TugError && error.code === code, `${planted.length}: ${error}`);
    assertStringIncludes(error.message, digest);
    assert(bytes < planted.length, `${bytes} of ${planted.length} bytes passed before the error`);
  }
  // A body without end under the blob's key: it fails at the blob's size, not read on.
  const { body, sent } = endless();
  front.hook = (request, url) =>
    request.method === "GET" && url.pathname.endsWith(key) ? new Response(body) : undefined;
  const { bytes, error } = await drain(await store.blobs.get(digest));
  assert(error instanceof TugError && error.code === "SIZE_MISMATCH", String(error));
  assert(bytes < blob.length && sent() < 64 << 20, `${bytes} bytes passed, ${sent()} sent`);
});

/** A body of `0x20` bytes without end (bounded at 1 GiB); `sent()` counts what went out. */
function endless(start = ""): { body: ReadableStream<Uint8Array>; sent: () => number } {
  let sent = 0;
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  const head = new TextEncoder().encode(start);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === 0 && head.length > 0) {
        sent += head.length;
        controller.enqueue(head);
      } else if (sent > 1 << 30) controller.close();
      else {
        sent += chunk.length;
        controller.enqueue(chunk);
      }
    },
  });
  return { body, sent: () => sent };
}

function listPage(keys: string[], options: { token?: string; lastModified?: string } = {}): string {
  const contents = keys.map((key) =>
    `<Contents><Key>${key}</Key><Size>10</Size><LastModified>${
      options.lastModified ?? "2020-01-01T00:00:00.000Z"
    }</LastModified></Contents>`
  ).join("");
  const more = options.token === undefined
    ? "<IsTruncated>false</IsTruncated>"
    : `<IsTruncated>true</IsTruncated><NextContinuationToken>${options.token}</NextContinuationToken>`;
  return `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>${more}${contents}</ListBucketResult>`;
}

Deno.test("ObjectLru.prune() deletes and aborts nothing a listing names outside its prefix or through . and .. segments", async () => {
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  const direct = new S3Bucket({ bucket: s3.bucket, endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS });
  // What must survive: a reference of the store, another tenant's object, and the store's own index.
  const ref = "tug/refs/ZXhhbXBsZS5jb20vYTpi";
  const other = "other-tenant/data";
  await direct.put(ref, new TextEncoder().encode('{"name":"example.com/a:b","descriptor":{}}'));
  await direct.put(other, new TextEncoder().encode("keep me"));
  const bucket = new S3Bucket({
    bucket: s3.bucket,
    endpoint: front.endpoint,
    credentials: S3RVER_CREDENTIALS,
  });
  const lru = new ObjectLru({ bucket, prefix: "tug" });

  // A listing of leases/ that names keys outside it (dated long ago: stale, so prune would remove them).
  for (
    const planted of [["tug/leases/../refs/ZXhhbXBsZS5jb20vYTpi"], ["tug/leases/./x", "tug/leases//x"], [
      "other-tenant/data",
    ], ["tug/refs/ZXhhbXBsZS5jb20vYTpi"]]
  ) {
    front.hook = (request, url) =>
      request.method === "GET" && url.searchParams.get("prefix") === "tug/leases/"
        ? new Response(listPage(planted), { headers: { "content-type": "application/xml" } })
        : undefined;
    const outcome = await lru.prune({ staleMs: 1000 }).then((r) => r.removed, (e: unknown) => e);
    if (planted[0].startsWith("tug/leases/")) assertEquals(outcome, [], planted.join()); // passed over
    else assert(outcome instanceof TugError && outcome.code === "STORE_IO", `${planted}: ${outcome}`);
  }
  // An upload listing that names uploads outside the store's blobs/ (s3rver itself cannot list uploads).
  for (
    const key of [
      "other-tenant/data",
      "tug/refs/ZXhhbXBsZS5jb20vYTpi",
      "tug/blobs/../refs/ZXhhbXBsZS5jb20vYTpi",
    ]
  ) {
    front.hook = (request, url) =>
      request.method === "GET" && url.searchParams.has("uploads")
        ? new Response(
          `<ListMultipartUploadsResult><IsTruncated>false</IsTruncated><Upload><Key>${key}</Key>` +
            `<UploadId>u1</UploadId><Initiated>2020-01-01T00:00:00.000Z</Initiated></Upload>` +
            `</ListMultipartUploadsResult>`,
        )
        : undefined;
    const report = await lru.prune({ staleMs: 1000 });
    assertEquals(report.removed, [], key);
  }
  assert(
    !front.seen.some((r) => r.startsWith("DELETE") && !r.includes("/leases/evict")),
    front.seen.join("\n"),
  );
  assertEquals(await new Response(await direct.get(other)).text(), "keep me");
  assert((await direct.head(ref)) !== undefined, "the reference is still there");
  assertEquals(front.seen.filter((r) => r.includes("..")), []);
});

Deno.test("S3Bucket.url() refuses a key with . or .. segments: URL parsing would address another key", () => {
  const bucket = new S3Bucket({
    bucket: "b",
    endpoint: "http://127.0.0.1:9",
    credentials: S3RVER_CREDENTIALS,
  });
  for (const key of ["tug/leases/../refs/x", "tug/./x", "..", "tug/.."]) {
    let error: unknown;
    try {
      bucket.url(key);
    } catch (e) {
      error = e;
    }
    assert(error instanceof TugError && error.code === "STORE_IO", `${key}: ${error}`);
  }
  // Dots inside a segment are plain characters.
  assertEquals(bucket.url("tug/a..b/.x"), "http://127.0.0.1:9/b/tug/a..b/.x");
});

Deno.test("S3Bucket.list() ends a listing that repeats its continuation token, goes backwards, or never ends a page", async () => {
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  const bucket = new S3Bucket({
    bucket: s3.bucket,
    endpoint: front.endpoint,
    credentials: S3RVER_CREDENTIALS,
  });
  const pages: Record<string, () => Response> = {
    "the same token again and again": () => new Response(listPage(["p/a", "p/b"], { token: "t1" })),
    "two tokens in turn": () =>
      new Response(
        listPage(["p/a"], { token: front.seen.length % 2 === 0 ? "t1" : "t2" }),
      ),
    "empty pages, each with a new token": () =>
      new Response(listPage([], { token: `t${front.seen.length}` })),
    "a page without end": () => new Response(endless("<ListBucketResult>").body),
  };
  for (const [name, page] of Object.entries(pages)) {
    const before = front.seen.length;
    front.hook = (request) => request.method === "GET" ? page() : undefined;
    const seen: string[] = [];
    const error = await (async () => {
      for await (const { key } of bucket.list("p/")) seen.push(key);
    })().then(() => undefined, (e: unknown) => e);
    assert(error instanceof TugError && error.code === "STORE_IO", `${name}: ${error}`);
    assert(front.seen.length - before <= 102, `${name}: ${front.seen.length - before} requests`);
    assert(seen.length <= 2, `${name}: ${seen.length} keys`);
  }
});

Deno.test("ObjectLru.evict() and ObjectStore.references read a planted index, usage record or reference with a cap, never whole", async () => {
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  const options = {
    bucket: s3.bucket,
    endpoint: front.endpoint,
    credentials: S3RVER_CREDENTIALS,
    prefix: "tug",
  };
  const bucket = new S3Bucket(options);
  const store = s3Store(options);
  const lru = new ObjectLru({ bucket, prefix: "tug" });
  const blob = new TextEncoder().encode("a blob");
  const digest = await sha256(blob);
  const w = await store.blobs.writer({ digest, size: blob.length });
  await w.write(blob);
  await w.commit();
  await store.references.set("example.com/a:b", {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest,
    size: blob.length,
  });
  let bodies: Array<() => number> = [];
  const answerEndless = (match: (url: URL) => boolean) => {
    front.hook = (request, url) => {
      if (request.method !== "GET" || !match(url)) return undefined;
      const { body, sent } = endless('{"kind":"tug-object-lru-index","blobs":[');
      bodies.push(sent);
      return new Response(body);
    };
  };
  // The index without end: read as damaged, so the pass lists the blobs instead; the blob stays.
  answerEndless((url) => url.pathname.endsWith("/tug/index.json"));
  const pass = await lru.evict({ maxBytes: 1 << 30 });
  assertEquals([pass.listed, pass.count, pass.deleted], [true, 1, []]);
  // A usage record without end: damaged, folded (removed) without being read whole.
  front.hook = () => undefined;
  await bucket.put("tug/usage/0000000000001-planted-0.json", new TextEncoder().encode("{}"));
  answerEndless((url) => url.pathname.includes("/tug/usage/"));
  assertEquals((await lru.evict({ maxBytes: 1 << 30 })).folded, 1);
  // A reference without end: STORE_CORRUPT, after at most its 4 MiB cap.
  answerEndless((url) => url.pathname.includes("/tug/refs/"));
  const error = await store.references.get("example.com/a:b").then(() => undefined, (e: unknown) => e);
  assert(error instanceof TugError && error.code === "STORE_CORRUPT", String(error));
  const untag = await lru.prune({}).then((r) => r.untagged);
  assertEquals(untag, []); // an unreadable record is not the store's: left alone
  const most = Math.max(...bodies.map((sent) => sent()));
  assert(most < (128 << 20) + (16 << 20), `${most} bytes were sent before the reader stopped`);
  bodies = [];
});

Deno.test("tug serve and tug prune refuse an s3:// URL with credentials in it, and print no secret", async () => {
  const secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYzzSECRET";
  const env = { AWS_ACCESS_KEY_ID: "AKIDENV", AWS_SECRET_ACCESS_KEY: secret };
  for (
    const url of [
      `s3://AKIDURL:${secret}@bucket/p`,
      `s3://bucket/p?endpoint=http://AKIDURL:${secret}@127.0.0.1:9`,
    ]
  ) {
    for (const command of [["serve", "--listen", "127.0.0.1:0"], ["prune"]]) {
      const run = await runTug([...command, "--store", url], { env, timeoutMs: 60_000 });
      assertEquals(run.code, 2, `${command[0]} ${url}: ${run.stdout}${run.stderr}`);
      assertStringIncludes(run.stderr, "credentials");
      assert(!(run.stdout + run.stderr).includes(secret), run.stderr);
    }
  }
});

Deno.test("s3Store.blobs.get() of a range fails unless the endpoint answers exactly that range (Content-Range and byte count)", async () => {
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  const options = {
    bucket: s3.bucket,
    endpoint: front.endpoint,
    credentials: S3RVER_CREDENTIALS,
    prefix: "tug",
  };
  const store = s3Store(options);
  const blob = new Uint8Array(100_000).map((_, i) => (i * 13) & 255);
  const digest = await sha256(blob);
  const w = await store.blobs.writer({ digest, size: blob.length });
  await w.write(blob);
  await w.commit();
  const range = { start: 1000, end: 3000 };
  assertEquals(await drain(await store.blobs.get(digest, range)), { bytes: 2000, error: undefined });
  const answers: Record<string, () => Response> = {
    "a byte more": () =>
      new Response(blob.slice(1000, 3001), {
        status: 206,
        headers: { "content-range": "bytes 1000-2999/100000" },
      }),
    "a byte fewer": () =>
      new Response(blob.slice(1000, 2999), {
        status: 206,
        headers: { "content-range": "bytes 1000-2999/100000" },
      }),
    "another range": () =>
      new Response(blob.slice(0, 2000), { status: 206, headers: { "content-range": "bytes 0-1999/100000" } }),
    "no Content-Range": () => new Response(blob.slice(1000, 3000), { status: 206 }),
  };
  for (const [name, answer] of Object.entries(answers)) {
    front.hook = (request) => request.method === "GET" && request.headers.has("range") ? answer() : undefined;
    const outcome = await store.blobs.get(digest, range).then(
      drain,
      (error: unknown) => ({ bytes: 0, error }),
    );
    assert(
      outcome.error instanceof TugError && outcome.error.code === "STORE_IO",
      `${name}: ${outcome.error}`,
    );
    assert(outcome.bytes <= 2000, `${name}: ${outcome.bytes} bytes passed`);
  }
});

Deno.test("S3Bucket.list() keeps a character reference to no character as written instead of throwing", async () => {
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  const bucket = new S3Bucket({
    bucket: s3.bucket,
    endpoint: front.endpoint,
    credentials: S3RVER_CREDENTIALS,
  });
  front.hook = (request) =>
    request.method === "GET"
      ? new Response(listPage(["p/&#99999999999;", "p/&#x110000;", "p/&amp;x"]))
      : undefined;
  const keys: string[] = [];
  for await (const { key } of bucket.list("p/")) keys.push(key);
  assertEquals(keys, ["p/&#99999999999;", "p/&#x110000;", "p/&x"]);
});

Deno.test("ObjectLru.prune() over a planted index.json naming refs/ or keys outside blobs/ deletes no reference", async () => {
  await using s3 = await startS3rver();
  const options = {
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    credentials: S3RVER_CREDENTIALS,
    prefix: "tug",
  };
  const bucket = new S3Bucket(options);
  const store = s3Store(options);
  const manifest = new TextEncoder().encode("{}");
  const digest = await sha256(manifest);
  const w = await store.blobs.writer({ digest, size: manifest.length });
  await w.write(manifest);
  await w.commit();
  const descriptor = {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest,
    size: manifest.length,
  };
  await store.references.set("example.com/a:b", descriptor);
  const refKey = "tug/refs/ZXhhbXBsZS5jb20vYTpi";
  for (
    const rows of [
      [["../refs/ZXhhbXBsZS5jb20vYTpi", 1 << 30, 0]],
      [[refKey, 1 << 30, 0]],
      [["sha256:../../refs/ZXhhbXBsZS5jb20vYTpi", 1 << 30, 0]],
    ]
  ) {
    await bucket.put(
      "tug/index.json",
      new TextEncoder().encode(JSON.stringify({ kind: "tug-object-lru-index", v: 1, blobs: rows })),
    );
    const report = await new ObjectLru({ bucket, prefix: "tug" }).prune({ maxBytes: 1 << 20, staleMs: 0 });
    assertEquals([report.untagged, report.deleted.map((d) => d.digest)], [[], []], JSON.stringify(rows));
    assert((await bucket.head(refKey)) !== undefined, "the reference is still there");
    assertEquals(await store.references.get("example.com/a:b"), descriptor);
  }
});

Deno.test("S3Bucket.listMultipartUploads() ends a listing whose pages go round, repeat their markers, or never end", async () => {
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  const bucket = new S3Bucket({
    bucket: s3.bucket,
    endpoint: front.endpoint,
    credentials: S3RVER_CREDENTIALS,
  });
  const page = (key: string, next: string) =>
    new Response(
      `<ListMultipartUploadsResult><IsTruncated>true</IsTruncated><NextKeyMarker>${next}</NextKeyMarker>` +
        `<NextUploadIdMarker>u</NextUploadIdMarker><Upload><Key>${key}</Key><UploadId>u</UploadId>` +
        `<Initiated>2020-01-01T00:00:00.000Z</Initiated></Upload></ListMultipartUploadsResult>`,
    );
  let n = 0;
  const pages: Record<string, () => Response> = {
    "two pages in turn": () => n++ % 2 === 0 ? page("p/a", "p/a") : page("p/b", "p/b"),
    "the same markers again": () => page("p/a", "p/a"),
    "a page without end": () => new Response(endless("<ListMultipartUploadsResult>").body),
  };
  for (const [name, answer] of Object.entries(pages)) {
    const before = front.seen.length;
    front.hook = (request, url) =>
      request.method === "GET" && url.searchParams.has("uploads") ? answer() : undefined;
    const error = await (async () => {
      for await (const _ of bucket.listMultipartUploads("p/")) { /* drain */ }
    })().then(() => undefined, (e: unknown) => e);
    assert(error instanceof TugError && error.code === "STORE_IO", `${name}: ${error}`);
    assert(front.seen.length - before <= 3, `${name}: ${front.seen.length - before} requests`);
  }
});

Deno.test("ObjectLru.prune() over radosgw lists incomplete uploads in key order and aborts only the store's own blob uploads", async () => {
  const rgw = await sharedRadosgw();
  await rgw.createBucket("tug-attack-uploads");
  const bucket = new S3Bucket({
    bucket: "tug-attack-uploads",
    endpoint: rgw.endpoint,
    region: rgw.region,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
  });
  const keys = [
    `tug/blobs/sha256/${"b".repeat(64)}`,
    `tug/blobs/sha256/${"a".repeat(64)}`,
    "tug/other/x",
    "zzz/not-the-store",
  ];
  for (const key of keys) await bucket.createMultipartUpload(key);
  const listed: string[] = [];
  for await (const upload of bucket.listMultipartUploads("tug/")) listed.push(upload.key);
  assertEquals(listed, keys.slice(0, 3).sort());
  const report = await new ObjectLru({ bucket, prefix: "tug" }).prune({ staleMs: 0 });
  assertEquals(report.removed.map((r) => r.key).sort(), keys.slice(0, 2).sort());
  const left: string[] = [];
  for await (const upload of bucket.listMultipartUploads("")) left.push(upload.key);
  assertEquals(left, ["tug/other/x", "zzz/not-the-store"]);
});

Deno.test("ObjectLeases.read() reads a planted download lease with a cap: a body without end reads as lapsed", async () => {
  await using s3 = await startS3rver();
  await using front = startFront(s3.endpoint);
  const bucket = new S3Bucket({
    bucket: s3.bucket,
    endpoint: front.endpoint,
    credentials: S3RVER_CREDENTIALS,
  });
  const leases = new ObjectLeases({
    bucket,
    root: "tug/",
    blobKey: (d) => `tug/blobs/${d.replace(":", "/")}`,
  });
  const key = leases.key(`sha256:${"c".repeat(64)}`);
  const { body, sent } = endless('{"holder":"x","expires":1,"pad":"');
  front.hook = (request, url) =>
    request.method === "GET" && url.pathname.endsWith(key) ? new Response(body) : undefined;
  assertEquals(await leases.read(key), { holder: "", expires: 0 });
  assert(sent() < 16 << 20, `${sent()} bytes were sent before the reader stopped`);
});
