// Faults the real docker-registry cannot produce; the real thing is exercised in test/registry_client_test.ts.
import { assert, assertEquals, assertRejects, assertThrows } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { RegistryClient } from "./registry_client.ts";
import { TokenCache } from "./token_cache.ts";
import type { FetchLike } from "./types.ts";

const digest = `sha256:${"a".repeat(64)}`;

function serve(handler: (req: Request) => Response | Promise<Response>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    host: `127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A body of `chunks` chunks of 64 KiB that records how far it was read and whether it was cancelled. */
function countingBody(chunks: number) {
  const state = { pulled: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled++ >= chunks) controller.close();
      else controller.enqueue(new Uint8Array(64 * 1024));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { state, body };
}

const noRetry = { attempts: 1 };

Deno.test("RegistryClient.getManifest() refuses a Content-Length over the cap before reading the body", async () => {
  const { state, body } = countingBody(100);
  const fetch: FetchLike = () =>
    Promise.resolve(new Response(body, { headers: { "content-length": String(100 * 64 * 1024) } }));
  const client = new RegistryClient({ registry: "http://127.0.0.1:5000", repository: "small", fetch });
  await assertRejects(() => client.getManifest("v1"), TugError, {
    code: "MANIFEST_TOO_LARGE",
    includes: 'Cannot fetch manifest "127.0.0.1:5000/small:v1": registry announced 6553600 bytes',
  });
  assert(state.pulled <= 1, `read ${state.pulled} chunks`);
  assert(state.cancelled);
});

Deno.test("RegistryClient.getManifest() cancels a body that grows past the cap while reading", async () => {
  const { state, body } = countingBody(1000);
  const client = new RegistryClient({
    registry: "http://127.0.0.1:5000",
    repository: "small",
    fetch: () => Promise.resolve(new Response(body)),
  });
  await assertRejects(() => client.getManifest("v1", { maxBytes: 200_000 }), TugError, {
    code: "MANIFEST_TOO_LARGE",
    includes: "more than the limit of 200000 bytes",
  });
  assert(state.cancelled);
  assert(state.pulled <= 5, `read ${state.pulled} chunks`);
});

Deno.test("RegistryClient.getManifest() returns bytes, media type without parameters and the digest header", async () => {
  const seen: Headers[] = [];
  await using reg = serve((req) => {
    seen.push(req.headers);
    return new Response('{"schemaVersion":2}', {
      headers: {
        "content-type": "application/vnd.oci.image.manifest.v1+json; charset=utf-8",
        "docker-content-digest": digest,
      },
    });
  });
  const client = new RegistryClient({
    registry: reg.url + "/",
    repository: "small",
    userAgent: "tug-test/1",
  });
  const m = await client.getManifest("v1", { accept: ["application/vnd.oci.image.manifest.v1+json"] });
  assertEquals(new TextDecoder().decode(m.bytes), '{"schemaVersion":2}');
  assertEquals(m.contentType, "application/vnd.oci.image.manifest.v1+json");
  assertEquals(m.digestHeader, digest);
  assertEquals(seen[0].get("accept"), "application/vnd.oci.image.manifest.v1+json");
  assertEquals(seen[0].get("user-agent"), "tug-test/1");
});

Deno.test("RegistryClient.getBlob() refuses a 206 that starts elsewhere than asked", async () => {
  await using reg = serve(() =>
    new Response("xyz", { status: 206, headers: { "content-range": "bytes 0-2/3" } })
  );
  const client = new RegistryClient({ registry: reg.url, repository: "small" });
  await assertRejects(() => client.getBlob(digest, { start: 5 }), TugError, {
    code: "UNEXPECTED_STATUS",
    includes: "206 for bytes 0-2, asked from 5",
  });
});

Deno.test("RegistryClient.getBlob() takes a 206 with an unknown total and reports no size", async () => {
  await using reg = serve((req) => {
    assertEquals(req.headers.get("range"), "bytes=5-");
    return new Response("fghij", { status: 206, headers: { "content-range": "bytes 5-9/*" } });
  });
  const client = new RegistryClient({ registry: reg.url, repository: "small" });
  const blob = await client.getBlob(digest, { start: 5 });
  assertEquals([blob.start, blob.size, blob.status], [5, undefined, 206]);
  assertEquals(await new Response(blob.body).text(), "fghij");
});

Deno.test("RegistryClient.getBlob() reports start 0 when the server ignores the range", async () => {
  await using reg = serve(() => new Response("abcdefghij"));
  const client = new RegistryClient({ registry: reg.url, repository: "small" });
  const blob = await client.getBlob(digest, { start: 5 });
  assertEquals([blob.start, blob.size, blob.status], [0, 10, 200]);
  assertEquals(await new Response(blob.body).text(), "abcdefghij");
});

Deno.test("RegistryClient.getBlob() turns a 416 into a typed error", async () => {
  await using reg = serve(() => new Response(null, { status: 416 }));
  const client = new RegistryClient({ registry: reg.url, repository: "small", retry: noRetry });
  await assertRejects(() => client.getBlob(digest, { start: 99 }), TugError, {
    code: "UNEXPECTED_STATUS",
    includes: `Cannot fetch blob "${reg.host}/small@${digest}": registry returned 416`,
  });
});

Deno.test("RegistryClient reports rate-limit headers", async () => {
  await using reg = serve(() =>
    Response.json({ name: "small", tags: ["a"] }, {
      headers: { "ratelimit-limit": "100;w=21600", "ratelimit-remaining": "76;w=21600" },
    })
  );
  const seen: unknown[] = [];
  const client = new RegistryClient({
    registry: reg.url,
    repository: "small",
    onRateLimit: (i) => seen.push(i),
  });
  await client.listTags();
  assertEquals(seen, [{ limit: "100;w=21600", remaining: "76;w=21600" }]);
});

Deno.test("RegistryClient.listTags() reads the next page from an absolute Link and tolerates null tags", async () => {
  await using reg = serve(() =>
    Response.json({ name: "small", tags: null }, {
      headers: { link: '<https://other.example/v2/small/tags/list?n=2&last=b%2Bc>; rel="next"' },
    })
  );
  const client = new RegistryClient({ registry: reg.url, repository: "small" });
  assertEquals(await client.listTags({ n: 2 }), { tags: [], next: "b+c" });
});

Deno.test("RegistryClient.listTags() refuses an answer that is not a tag list", async () => {
  await using reg = serve(() => Response.json({ tags: [1, 2] }));
  const client = new RegistryClient({ registry: reg.url, repository: "small" });
  await assertRejects(() => client.listTags(), TugError, {
    code: "UNEXPECTED_STATUS",
    includes: "not a tag list",
  });
});

Deno.test("RegistryClient turns a 503 after all retries into an error that says so", async () => {
  let hits = 0;
  await using reg = serve(() => (hits++, new Response("busy", { status: 503 })));
  const client = new RegistryClient({
    registry: reg.url,
    repository: "small",
    retry: { sleep: () => Promise.resolve() },
  });
  await assertRejects(() => client.getManifest("v1"), TugError, {
    code: "UNEXPECTED_STATUS",
    includes: `Cannot fetch manifest "${reg.host}/small:v1": registry returned 503 after 5 attempts`,
  });
  assertEquals(hits, 5);
});

Deno.test("RegistryClient refuses bad arguments with TypeError and RangeError", async () => {
  assertThrows(() => new RegistryClient({ registry: "ftp://x", repository: "a" }), TypeError);
  assertThrows(() => new RegistryClient({ registry: "nope", repository: "a" }), TypeError);
  assertThrows(() => new RegistryClient({ registry: "http://x", repository: "Upper/Case" }), TypeError);
  const client = new RegistryClient({ registry: "http://127.0.0.1:1", repository: "a" });
  await assertRejects(() => client.getManifest("../../etc"), TypeError);
  await assertRejects(() => client.getBlob("sha256/../x"), TypeError);
  await assertRejects(() => client.getBlob(digest, { start: -1 }), RangeError);
  await assertRejects(() => client.listTags({ n: 1.5 }), RangeError);
});

Deno.test("RegistryClient.ping() takes no challenge from a redirect target for the registry", async () => {
  const seen: string[] = [];
  const fetch = (req: Request) => {
    seen.push(req.url);
    const url = new URL(req.url);
    if (url.origin === "https://registry.example") {
      return Promise.resolve(
        new Response(null, { status: 302, headers: { location: "https://elsewhere.example/v2/" } }),
      );
    }
    return Promise.resolve(
      new Response(null, {
        status: 401,
        headers: { "www-authenticate": 'Bearer realm="https://capture.example/token",service="x"' },
      }),
    );
  };
  const tokenCache = new TokenCache();
  const client = new RegistryClient({
    registry: "https://registry.example",
    repository: "library/alpine",
    fetch,
    tokenCache,
    credentials: { username: "alice", password: "s3cret" },
    retry: { sleep: () => Promise.resolve() },
  });
  await assertRejects(() => client.ping(), TugError, {
    code: "UNAUTHORIZED",
    includes: "https://elsewhere.example",
  });
  assertEquals(tokenCache.challenge("https://registry.example"), undefined);
  assertEquals(seen, ["https://registry.example/v2/", "https://elsewhere.example/v2/"]);
});

Deno.test("RegistryClient.getReferrers() asks GET /v2/<name>/referrers/<digest> for an index; a 404 rejects with its status", async () => {
  const seen: string[] = [];
  await using reg = serve((req) => {
    const url = new URL(req.url);
    seen.push(`${url.pathname}${url.search} ${req.headers.get("accept")}`);
    if (url.pathname.endsWith(`/referrers/${digest}`)) {
      return Response.json({ schemaVersion: 2, manifests: [] }, {
        headers: { "content-type": "application/vnd.oci.image.index.v1+json" },
      });
    }
    return Response.json({ errors: [{ code: "NAME_UNKNOWN", message: "no route" }] }, { status: 404 });
  });
  const client = new RegistryClient({ registry: reg.url, repository: "small", retry: noRetry });
  const got = await client.getReferrers(digest);
  assertEquals(got.contentType, "application/vnd.oci.image.index.v1+json");
  assertEquals(JSON.parse(new TextDecoder().decode(got.bytes)), { schemaVersion: 2, manifests: [] });
  assertEquals(seen, [`/v2/small/referrers/${digest} application/vnd.oci.image.index.v1+json`]);
  const other = `sha256:${"b".repeat(64)}`;
  const err = await assertRejects(() => client.getReferrers(other), TugError, {
    includes: `Cannot list referrers of "${reg.host}/small@${other}"`,
  });
  assertEquals((err.detail as { status?: number }).status, 404);
  await assertRejects(() => client.getReferrers("latest"), TypeError);
});
