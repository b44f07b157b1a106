// The S3 store against a hostile endpoint (or something hostile in front of a real one): a front server
// forwards to a real s3rver and, per test, answers some requests itself the way no real S3 server would
// (redirects to another host, bodies without end, listings that loop or name keys outside the prefix,
// bodies longer or shorter than declared). The rules these tests guard are in docs/security.md, section 8.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { runTug, tempDir } from "./_cli.ts";
import { S3RVER_CREDENTIALS, startS3rver } from "./harness/s3rver.ts";
import { TugError } from "../src/errors.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";
import { s3Store } from "../adapters/s3/s3_store.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** What a front's hook may answer instead of forwarding: undefined forwards the request to s3rver. */
type Hook = (request: Request, url: URL) => Response | Promise<Response> | undefined;

interface Front extends AsyncDisposable {
  readonly endpoint: string;
  /** Every request the front received: method and path with query. */
  readonly seen: string[];
  hook: Hook;
}

/** A server in front of `upstream` (a real s3rver): forwards everything `hook` does not answer. */
function startFront(upstream: string): Front {
  const seen: string[] = [];
  const front: { hook: Hook } = { hook: () => undefined };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    seen.push(`${request.method} ${url.pathname}${url.search}`);
    const own = await front.hook(request, url);
    if (own !== undefined) {
      await request.body?.cancel();
      return own;
    }
    const headers = new Headers(request.headers);
    headers.delete("host");
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    return await fetch(upstream + url.pathname + url.search, {
      method: request.method,
      headers,
      ...(body ? { body } : {}),
      redirect: "manual",
    });
  });
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    seen,
    get hook() {
      return front.hook;
    },
    set hook(value: Hook) {
      front.hook = value;
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

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

Deno.test("s3Store.blobs.get() of bytes in the bucket that are not the blob fails with DIGEST_MISMATCH before the last byte", async () => {
  await using s3 = await startS3rver();
  const options = {
    bucket: s3.bucket,
    endpoint: s3.endpoint,
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
    assert(error instanceof TugError && error.code === "DIGEST_MISMATCH", `${planted.length}: ${error}`);
    assertStringIncludes(error.message, digest);
    assert(bytes < planted.length, `${bytes} of ${planted.length} bytes passed before the error`);
  }
});
