import { assertEquals } from "../../test/_assert.ts";
import { fakeContext, fakeUpstream } from "./_fake_upstream_test_util.ts";
import { upstreamsRoutes } from "./_upstreams_route.ts";
import { createProxy } from "./create_proxy.ts";
import { MemoryStore } from "../store/memory_store.ts";

Deno.test("upstreamsRoutes() names the upstreams, their hosts and the default, and no credentials", async () => {
  const ctx = fakeContext(fakeUpstream({}), {
    upstreams: {
      "docker.io": {
        url: "https://registry-1.docker.io",
        credentials: { username: "op", password: "s3cret" },
      },
      local: "http://user:pw@127.0.0.1:5000/",
    },
    defaultUpstream: "local",
  });
  const res = await upstreamsRoutes(ctx).fetch(new Request("http://proxy.test/"));
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "application/json; charset=utf-8");
  const text = await res.text();
  assertEquals(JSON.parse(text), {
    default: "local",
    upstreams: [
      { name: "docker.io", host: "registry-1.docker.io", registry: "docker.io", library: true },
      { name: "local", host: "127.0.0.1:5000", registry: "127.0.0.1:5000", library: false },
    ],
  });
  for (const secret of ["op", "s3cret", "user", "pw", "http"]) {
    assertEquals(text.includes(`"${secret}`) || text.includes(`${secret}@`), false, secret);
  }
});

Deno.test("createProxy() answers GET /upstreams (with CORS when allowed)", async () => {
  const app = createProxy({
    store: new MemoryStore(),
    upstreams: { hub: "https://registry.example" },
    allowOrigins: "*",
    fetch: () => Promise.resolve(new Response(null, { status: 404 })),
  });
  const res = await app.fetch(
    new Request("http://proxy.test/upstreams", { headers: { origin: "http://x" } }),
  );
  assertEquals(res.headers.get("access-control-allow-origin"), "*");
  assertEquals(await res.json(), {
    default: "hub",
    upstreams: [{ name: "hub", host: "registry.example", registry: "registry.example", library: false }],
  });
});
