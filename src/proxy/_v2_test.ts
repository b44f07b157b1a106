import { assertEquals } from "../../test/_assert.ts";
import { fakeImage, fakeUpstream } from "./_fake_upstream_test_util.ts";
import { routingPath } from "./_v2.ts";
import { createProxy } from "./create_proxy.ts";
import { MemoryStore } from "../store/memory_store.ts";
import { TugError } from "../errors.ts";

Deno.test("routingPath() keeps /v2 paths as sent (percent signs escaped for Hono's param decoding)", () => {
  const at = (path: string) => routingPath(new Request(`http://proxy.test${path}`));
  assertEquals(at("/v2/acme/app/manifests/latest"), "/v2/acme/app/manifests/latest");
  assertEquals(at("/v2/acme%2Fapp/manifests/x"), "/v2/acme%252Fapp/manifests/x");
  assertEquals(at("/v2/evil%2Eexample/x/manifests/x?ns=a%2Fb"), "/v2/evil%252Eexample/x/manifests/x");
  assertEquals(at("/v2/"), "/v2");
  assertEquals(at("/v2"), "/v2");
  // An encoded /v2 prefix reaches the /v2 routes (as Hono's decoded path did), where nothing matches it.
  assertEquals(at("/v%32/acme/manifests/x"), "/v2/%25");
  // Outside /v2: Hono's own path.
  assertEquals(at("/heal%74hz"), "/healthz");
  assertEquals(at("/token"), "/token");
});

Deno.test("createProxy() routes /v2/ requests and refuses odd paths as the distribution API does", async () => {
  const image = await fakeImage();
  const upstream = fakeUpstream({ "acme/app": image, "a/blobs/b": image });
  const app = createProxy({
    store: new MemoryStore(),
    upstreams: { hub: "https://hub.test" },
    fetch: upstream.fetch,
    retry: { attempts: 1 },
  });
  const basic = `Basic ${btoa("u:p")}`;
  const cases: [method: string, path: string, status: number, code: string | null, auth?: string][] = [
    ["GET", "/v2/", 401, "UNAUTHORIZED"],
    ["GET", "/v2", 401, "UNAUTHORIZED"],
    ["GET", "/v2/", 200, null, basic],
    ["HEAD", "/v2", 200, null, basic],
    ["GET", "/v2/acme/app/manifests/latest", 200, null],
    ["HEAD", `/v2/acme/app/blobs/${image.layerDigest}`, 200, null],
    ["GET", "/v2/acme/app/tags/list", 200, null],
    // The name is everything before the last /manifests/: a name may hold "blobs".
    ["GET", "/v2/a/blobs/b/manifests/latest", 200, null],
    ["GET", "/v2/hub/acme/app/manifests/v1", 200, null],
    ["GET", "/v2/acme/app/manifests/latest?ns=hub.test", 200, null],
    ["POST", "/v2/acme/app/manifests/latest", 405, "UNSUPPORTED"],
    ["DELETE", "/v2/", 405, "UNSUPPORTED"],
    ["PUT", "/v2/acme/app/blobs/uploads/x", 405, "UNSUPPORTED"],
    ["GET", "/v2/acme/app/blobs/uploads/", 405, "UNSUPPORTED"],
    ["GET", "/v2/acme/app/blobs/uploads/abc", 405, "UNSUPPORTED"],
    ["GET", "/v2/evil.example/x/manifests/latest", 403, "DENIED"],
    ["GET", "/v2/acme/app/manifests/latest?ns=evil.example", 403, "DENIED"],
    ["GET", "/v2/acme/app/tags/other", 404, "NAME_UNKNOWN"],
    ["GET", "/v2/acme/app/manifests/latest/", 404, "NAME_UNKNOWN"],
    ["GET", "/v2/acme", 404, "NAME_UNKNOWN"],
    ["GET", "/v2//manifests/latest", 404, "NAME_UNKNOWN"],
    ["GET", "/v%32/acme/app/manifests/latest", 404, "NAME_UNKNOWN"],
    ["GET", "/v2/acme/nothing/manifests/latest", 404, "NAME_UNKNOWN"],
    ["GET", "/v2/acme//app/manifests/latest", 400, "NAME_INVALID"],
    ["GET", "/v2/acme%2Fapp/manifests/latest", 400, "NAME_INVALID"],
    // Not decoded into evil.example (a host): checked as written.
    ["GET", "/v2/evil%2Eexample/app/manifests/latest", 400, "NAME_INVALID"],
    ["GET", "/v2/acme/app/manifests/lat%65st", 400, "TAG_INVALID"],
    ["GET", "/v2/acme/app/blobs/sha256:abc", 400, "DIGEST_INVALID"],
    ["GET", "/v2/acme/app/tags/list?n=x", 400, "PAGINATION_NUMBER_INVALID"],
  ];
  const got = [];
  for (const [method, path, , , auth] of cases) {
    const res = await app.fetch(
      new Request(`http://proxy.test${path}`, {
        method,
        ...(auth ? { headers: { authorization: auth } } : {}),
      }),
    );
    const text = await res.text();
    const code = res.status >= 400 && text !== "" ? JSON.parse(text).errors[0].code : null;
    got.push([method, path, res.status, code, ...(auth ? [auth] : [])]);
    if (res.status === 405 && method !== "GET") assertEquals(res.headers.get("allow"), "GET, HEAD", path);
    if (res.status === 405 && method === "GET") assertEquals(res.headers.get("allow"), null, path);
  }
  assertEquals(got, cases);
  // No request reached the upstream for the refusals and the invalid input.
  assertEquals(upstream.requests.some((r) => r.includes("evil") || r.includes("%")), false);
});

Deno.test("createProxy() answers outside /v2/ as before: health, metrics, Hono's 404", async () => {
  const app = createProxy({ store: new MemoryStore(), upstreams: { hub: "https://hub.test" } });
  const health = await app.fetch(new Request("http://proxy.test/heal%74hz"));
  assertEquals([health.status, await health.text()], [200, "ok"]);
  const missing = await app.fetch(new Request("http://proxy.test/v3/"));
  assertEquals([missing.status, await missing.text()], [404, "404 Not Found"]);
  const post = await app.fetch(new Request("http://proxy.test/token", { method: "POST" }));
  assertEquals(post.status, 404);
  await post.body?.cancel();
  const metrics = await app.fetch(new Request("http://proxy.test/metrics"));
  assertEquals((await metrics.text()).includes("tug_proxy_requests_total 4"), true);
});

Deno.test("createProxy({ onError }) is told of the store failure it answers with a 500, and the client gets its message", async () => {
  const image = await fakeImage();
  const upstream = fakeUpstream({ "acme/app": image });
  const store = new MemoryStore();
  // The cache's references cannot be read: a bucket that is down.
  const broken = new Proxy(store.references, {
    get(target, key, receiver) {
      if (key === "get") {
        return () => Promise.reject(new TugError("STORE_IO", "bucket down: connection refused"));
      }
      return Reflect.get(target, key, receiver);
    },
  });
  const told: string[] = [];
  const app = createProxy({
    store: Object.assign(Object.create(store), { references: broken }),
    upstreams: { hub: "https://hub.test" },
    fetch: upstream.fetch,
    retry: { attempts: 1 },
    onError: (err, request) =>
      told.push(`${request.method} ${new URL(request.url).pathname}: ${(err as Error).message}`),
  });
  const res = await app.fetch(new Request("http://proxy.test/v2/acme/app/manifests/latest"));
  assertEquals(res.status, 500);
  assertEquals((await res.json()).errors[0].message, "Internal error: bucket down: connection refused");
  assertEquals(told, ["GET /v2/acme/app/manifests/latest: bucket down: connection refused"]);
});
