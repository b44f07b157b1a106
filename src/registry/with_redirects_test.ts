import { assertEquals, assertRejects } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import type { FetchLike } from "./types.ts";
import { withRedirects } from "./with_redirects.ts";

interface Seen {
  server: string;
  method: string;
  path: string;
  authorization: string | null;
  body: string;
}

/** Two servers on different ports (so different origins) that redirect as their path says. */
function twoOrigins() {
  const seen: Seen[] = [];
  const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
  const origins: string[] = [];
  for (const name of ["A", "B"]) {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const url = new URL(req.url);
      seen.push({
        server: name,
        method: req.method,
        path: url.pathname + url.search,
        authorization: req.headers.get("authorization"),
        body: await req.text(),
      });
      // /go/<status>/<target> redirects with <status> to <target> (a path on this server, or "A:"/"B:")
      const go = /^\/go\/(\d+)\/(.*)$/.exec(url.pathname);
      if (go) {
        const [, status, rest] = go;
        const target = rest.startsWith("A:")
          ? origins[0] + "/" + rest.slice(2)
          : rest.startsWith("B:")
          ? origins[1] + "/" + rest.slice(2)
          : rest;
        return new Response(null, { status: Number(status), headers: { location: target } });
      }
      if (url.pathname === "/dir/rel") {
        return new Response(null, { status: 308, headers: { location: "nested/x?y=1" } });
      }
      const loop = /^\/loop\/(\d+)$/.exec(url.pathname);
      if (loop) {
        const left = Number(loop[1]);
        return left === 0
          ? new Response("end")
          : new Response(null, { status: 302, headers: { location: `/loop/${left - 1}` } });
      }
      return new Response(`${name}:${url.pathname}`);
    });
    servers.push(server);
    origins.push(`http://127.0.0.1:${server.addr.port}`);
  }
  return {
    a: origins[0],
    b: origins[1],
    seen,
    [Symbol.asyncDispose]: async () => {
      for (const s of servers) await s.shutdown();
    },
  };
}

const base: FetchLike = (r) => globalThis.fetch(r);
const auth = { authorization: "Bearer secret" };

Deno.test("withRedirects() keeps Authorization off a redirect target on another origin", async () => {
  await using o = twoOrigins();
  const res = await withRedirects(base)(new Request(`${o.a}/go/307/B:blob`, { headers: auth }));
  assertEquals(await res.text(), "B:/blob");
  assertEquals(o.seen.map((s) => [s.server, s.authorization]), [["A", "Bearer secret"], ["B", null]]);
});

Deno.test("withRedirects() keeps Authorization on a same-origin redirect, resolving a relative Location", async () => {
  await using o = twoOrigins();
  const res = await withRedirects(base)(new Request(`${o.a}/dir/rel`, { headers: auth }));
  assertEquals(await res.text(), "A:/dir/nested/x");
  assertEquals(o.seen.map((s) => [s.path, s.authorization]), [
    ["/dir/rel", "Bearer secret"],
    ["/dir/nested/x?y=1", "Bearer secret"],
  ]);
});

Deno.test("withRedirects() does not give Authorization back after a detour through another origin", async () => {
  await using o = twoOrigins();
  const res = await withRedirects(base)(new Request(`${o.a}/go/301/B:go/302/A:final`, { headers: auth }));
  assertEquals(await res.text(), "A:/final");
  assertEquals(o.seen.map((s) => [s.server, s.authorization]), [["A", "Bearer secret"], ["B", null], [
    "A",
    null,
  ]]);
});

Deno.test("withRedirects() follows 10 redirects and refuses the 11th", async () => {
  await using o = twoOrigins();
  assertEquals(await (await withRedirects(base)(new Request(`${o.a}/loop/10`))).text(), "end");
  await assertRejects(() => withRedirects(base)(new Request(`${o.a}/loop/11`)), TugError, {
    code: "TOO_MANY_REDIRECTS",
    includes: "more than 10 redirects",
  });
  await assertRejects(
    () => withRedirects(base, { maxRedirects: 2 })(new Request(`${o.a}/loop/3`)),
    TugError,
    {
      code: "TOO_MANY_REDIRECTS",
    },
  );
});

Deno.test("withRedirects() turns a POST into a GET on 303 and resends the body on 307", async () => {
  await using o = twoOrigins();
  await (await withRedirects(base)(new Request(`${o.a}/go/303/A:done`, { method: "POST", body: "x=1" })))
    .text();
  await (await withRedirects(base)(new Request(`${o.a}/go/307/A:done`, { method: "POST", body: "x=2" })))
    .text();
  assertEquals(o.seen.map((s) => [s.method, s.body]), [["POST", "x=1"], ["GET", ""], ["POST", "x=2"], [
    "POST",
    "x=2",
  ]]);
});

Deno.test("withRedirects() returns a redirect without Location as it is", async () => {
  const res = await withRedirects(() => Promise.resolve(new Response(null, { status: 302 })))(
    new Request("http://127.0.0.1:5000/x"),
  );
  assertEquals(res.status, 302);
});

Deno.test("withRedirects() refuses a redirect to a non-HTTP URL", async () => {
  const next: FetchLike = () =>
    Promise.resolve(new Response(null, { status: 302, headers: { location: "file:///etc/passwd" } }));
  await assertRejects(() => withRedirects(next)(new Request("http://127.0.0.1:5000/x")), TugError, {
    code: "UNEXPECTED_STATUS",
    includes: "non-HTTP",
  });
});

Deno.test("withRedirects() lets a browser follow when manual redirects come back opaque", async () => {
  // Browsers answer redirect: "manual" with an opaque response; Deno cannot produce one, so fake its type.
  const modes: [RequestRedirect, string | null][] = [];
  const browser: FetchLike = (req) => {
    modes.push([req.redirect, req.headers.get("authorization")]);
    if (req.redirect === "manual") {
      const opaque = new Response(null, { status: 200 });
      Object.defineProperty(opaque, "type", { value: "opaqueredirect" });
      return Promise.resolve(opaque);
    }
    return Promise.resolve(new Response("followed"));
  };
  const fetch = withRedirects(browser);
  assertEquals(
    await (await fetch(new Request("http://127.0.0.1:5000/b", { headers: auth }))).text(),
    "followed",
  );
  assertEquals(
    await (await fetch(new Request("http://127.0.0.1:5000/c", { headers: auth }))).text(),
    "followed",
  );
  // The registry's own hop needs the token; the browser drops it on a cross-origin hop (Fetch standard).
  assertEquals(modes, [["manual", "Bearer secret"], ["follow", "Bearer secret"], [
    "follow",
    "Bearer secret",
  ]]);
});
