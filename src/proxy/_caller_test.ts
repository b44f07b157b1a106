import { assert, assertEquals, assertNotEquals } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { type Caller, callerOf, clientFor, refused, scopeOf, transportFor } from "./_caller.ts";
import { fakeContext, fakeImage, fakeUpstream } from "./_fake_upstream_test_util.ts";
import { resolveTarget } from "./_target.ts";
import { PROXY_RETRY_POLICY } from "../registry/retry_policy.ts";
import type { FetchLike } from "../registry/types.ts";
import { createContext } from "./_context.ts";
import type { Target } from "./_target.ts";
import { MemoryStore } from "../store/memory_store.ts";

const ctx = (publicUrl?: string) =>
  createContext({
    store: new MemoryStore(),
    upstreams: {
      hub: "https://hub.test",
      priv: { url: "https://priv.test", credentials: { username: "op", password: "pw" } },
    },
    fetch: () => Promise.reject(new Error("no upstream request expected")),
    ...(publicUrl ? { publicUrl } : {}),
  });
const request = (authorization?: string) =>
  new Request("http://proxy.test/v2/x/manifests/latest", authorization ? { headers: { authorization } } : {});

Deno.test("callerOf() keys Basic credentials by a hash, never the password, and tells passwords apart", async () => {
  const c = ctx();
  const a = await callerOf(c, request(`Basic ${btoa("user:one")}`), undefined) as Caller;
  const b = await callerOf(c, request(`Basic ${btoa("user:two")}`), undefined) as Caller;
  assertEquals(a.credentials, { username: "user", password: "one" });
  assert(a.key.startsWith("basic:") && !a.key.includes("one"));
  assertNotEquals(a.key, b.key);
});

Deno.test("callerOf() opens the proxy's own token as the credentials it sealed", async () => {
  const c = ctx();
  const token = await c.tokens.seal({ username: "user", password: "one" });
  const caller = await callerOf(c, request(`Bearer ${token}`), undefined) as Caller;
  assertEquals(caller.credentials, { username: "user", password: "one" });
  const anonymous = await callerOf(c, request(`Bearer ${await c.tokens.seal(undefined)}`), undefined);
  assertEquals(anonymous, { key: "anonymous" });
});

Deno.test("callerOf() answers 401 with the proxy's challenge for a token it cannot open and malformed Basic", async () => {
  const c = ctx("https://mirror.example");
  for (const header of ["Bearer nope", "Basic !!!"]) {
    const answer = await callerOf(c, request(header), undefined);
    assert(answer instanceof Response, header);
    assertEquals(answer.status, 401);
    assertEquals(
      answer.headers.get("www-authenticate"),
      'Bearer realm="https://mirror.example/token",service="tug-proxy"',
    );
    await answer.body?.cancel();
  }
});

Deno.test("callerOf() uses the upstream's configured credentials only for callers that send none", async () => {
  const c = ctx();
  const priv = c.upstreams.get("priv")!;
  assertEquals(await callerOf(c, request(), priv), {
    credentials: { username: "op", password: "pw" },
    key: "operator",
  });
  assertEquals(await callerOf(c, request(), c.upstreams.get("hub")), { key: "anonymous" });
  const own = await callerOf(c, request(`Basic ${btoa("me:mine")}`), priv) as Caller;
  assertEquals(own.credentials, { username: "me", password: "mine" });
});

Deno.test("refused() ends the caller's grant on a 401 and only the digest's confirmations on a 404 for it", async () => {
  const c = ctx();
  const target: Target = { upstream: c.upstreams.get("hub")!, repo: "x", key: "hub.test/x" };
  const caller: Caller = { key: "anonymous" };
  const scope = scopeOf(target, caller);
  const error = (status: number) =>
    new TugError("UNEXPECTED_STATUS", `status ${status}`, { detail: { status, errors: [] } });
  c.access.grant(scope);
  c.access.confirm(scope, "sha256:a");
  c.access.confirm(scope, "sha256:b");
  const gone = refused(c, error(404), request(), target, caller, "sha256:a");
  assertEquals(gone.status, 404);
  await gone.body?.cancel();
  assertEquals([c.access.mayRead(scope, "sha256:a"), c.access.mayRead(scope, "sha256:b")], [false, true]);
  const denied = refused(c, error(401), request(), target, caller);
  assertEquals(denied.status, 401);
  await denied.body?.cancel();
  assertEquals(c.access.mayRead(scope, "sha256:b"), false);
});

Deno.test("clientFor() and transportFor() send every upstream request through ProxyOptions.transport", async () => {
  const image = await fakeImage();
  const upstream = fakeUpstream({ "acme/app": image });
  const seen: string[] = [];
  const transport = (base: FetchLike): FetchLike => (req) => {
    const url = new URL(req.url);
    seen.push(`${req.method} ${url.pathname}${url.search}`);
    return base(req);
  };
  const c = fakeContext(upstream, { transport });
  const target = resolveTarget(c, "acme/app", null) as Target;
  const manifest = await clientFor(c, target, { key: "anonymous" }).getManifest("latest");
  assertEquals(manifest.bytes, image.manifest);
  const blob = await transportFor(c, target, { key: "anonymous" })(
    new Request(`https://hub.test/v2/acme/app/blobs/${image.layerDigest}`),
  );
  await blob.body?.cancel();
  assertEquals(seen.length, 2);
  assertEquals(seen, upstream.requests);
});

Deno.test("createContext() retries upstream requests by PROXY_RETRY_POLICY unless the caller sets a policy", () => {
  assertEquals(ctx().retry, PROXY_RETRY_POLICY);
  const own = { attempts: 4 };
  assertEquals(
    createContext({ store: new MemoryStore(), fetch: () => Promise.reject(new Error("none")), retry: own })
      .retry,
    own,
  );
});
