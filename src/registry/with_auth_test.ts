import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { fetchToken } from "./fetch_token.ts";
import { TokenCache } from "./token_cache.ts";
import type { FetchLike } from "./types.ts";
import { withAuth } from "./with_auth.ts";

interface TokenRequest {
  method: string;
  query: Record<string, string[]>;
  authorization: string | null;
  form?: Record<string, string>;
}

interface FakeOptions {
  /** How the registry challenges: "bearer" (token server on the same origin) or "basic". */
  scheme?: "bearer" | "basic";
  /** The token answer's fields besides the token. */
  answer?: Record<string, unknown>;
  /** Use `access_token` instead of `token`. */
  accessToken?: boolean;
  /** Status of the token endpoint. */
  tokenStatus?: number;
  /** Tokens the registry refuses with insufficient_scope (by index of issue, 1-based). */
  refuse?: (tokenNumber: number) => boolean;
}

/** A registry stand-in on a real socket: bearer challenges, a token endpoint, request records. */
function fakeRegistry(options: FakeOptions = {}) {
  const tokenRequests: TokenRequest[] = [];
  const registryRequests: { path: string; authorization: string | null }[] = [];
  let issued = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/token") {
      const query: Record<string, string[]> = {};
      for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
      const record: TokenRequest = {
        method: req.method,
        query,
        authorization: req.headers.get("authorization"),
      };
      if (req.method === "POST") record.form = Object.fromEntries(new URLSearchParams(await req.text()));
      tokenRequests.push(record);
      if (options.tokenStatus && options.tokenStatus !== 200) {
        return Response.json({ errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] }, {
          status: options.tokenStatus,
        });
      }
      issued++;
      const token = `t${issued}`;
      return Response.json({ [options.accessToken ? "access_token" : "token"]: token, ...options.answer });
    }
    const authorization = req.headers.get("authorization");
    registryRequests.push({ path: url.pathname, authorization });
    if (options.scheme === "basic") {
      if (authorization === `Basic ${btoa("alice:s3cret")}`) return new Response("ok");
      return new Response(null, { status: 401, headers: { "www-authenticate": 'Basic realm="Registry"' } });
    }
    const challenge = `Bearer realm="${url.origin}/token",service="fake"`;
    const number = authorization?.startsWith("Bearer t") ? Number(authorization.slice(8)) : 0;
    if (number > 0 && !(options.refuse?.(number) ?? false)) return new Response("ok");
    const error = number > 0 ? `,scope="repository:extra:pull",error="insufficient_scope"` : "";
    return Response.json({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }, {
      status: 401,
      headers: { "www-authenticate": challenge + error },
    });
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return {
    origin,
    host: `127.0.0.1:${server.addr.port}`,
    tokenRequests,
    registryRequests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

const base: FetchLike = (r) => globalThis.fetch(r);

Deno.test("withAuth() gets an anonymous token on a 401, then authenticates up front", async () => {
  await using reg = fakeRegistry({ answer: { expires_in: 300 } });
  const fetch = withAuth(base);
  const first = await fetch(new Request(`${reg.origin}/v2/small/manifests/v1`));
  assertEquals(await first.text(), "ok");
  const second = await fetch(new Request(`${reg.origin}/v2/small/blobs/sha256:${"a".repeat(64)}`));
  assertEquals(await second.text(), "ok");
  assertEquals(reg.registryRequests.map((r) => r.authorization), [null, "Bearer t1", "Bearer t1"]);
  assertEquals(reg.tokenRequests.length, 1);
  assertEquals(reg.tokenRequests[0], {
    method: "GET",
    query: { service: ["fake"], scope: ["repository:small:pull"] },
    authorization: null,
  });
});

Deno.test("withAuth() asks for a token with Basic credentials and account=<user>", async () => {
  await using reg = fakeRegistry();
  const fetch = withAuth(base, { credentials: { username: "alice", password: "pä:ss" } });
  await (await fetch(new Request(`${reg.origin}/v2/team/app/tags/list`))).body?.cancel();
  const expected = "Basic " + btoa(String.fromCharCode(...new TextEncoder().encode("alice:pä:ss")));
  assertEquals(reg.tokenRequests[0], {
    method: "GET",
    query: { service: ["fake"], scope: ["repository:team/app:pull"], account: ["alice"] },
    authorization: expected,
  });
});

Deno.test("withAuth() trades an identity token with a refresh_token POST and accepts access_token", async () => {
  await using reg = fakeRegistry({ accessToken: true });
  const fetch = withAuth(base, { credentials: { identityToken: "refresh-me" } });
  const res = await fetch(new Request(`${reg.origin}/v2/small/manifests/v1`));
  assertEquals(await res.text(), "ok");
  assertEquals(reg.tokenRequests[0], {
    method: "POST",
    query: {},
    authorization: null,
    form: {
      grant_type: "refresh_token",
      refresh_token: "refresh-me",
      service: "fake",
      scope: "repository:small:pull",
      client_id: "tug",
    },
  });
});

Deno.test("withAuth() caches a token until expires_in by the injected clock", async () => {
  await using reg = fakeRegistry({ answer: { expires_in: 300 } });
  let now = 1_000_000;
  const fetch = withAuth(base, { tokenCache: new TokenCache({ now: () => now }) });
  const get = async () => (await fetch(new Request(`${reg.origin}/v2/small/manifests/v1`))).text();
  await get();
  now += 299_999;
  await get();
  assertEquals(reg.tokenRequests.length, 1);
  now += 1;
  await get();
  assertEquals(reg.tokenRequests.length, 2);
  // the new token went out up front, no 401 in between
  assertEquals(reg.registryRequests.at(-1)?.authorization, "Bearer t2");
  assertEquals(reg.registryRequests.length, 4);
});

Deno.test("withAuth() assumes at least 60 s when expires_in is missing or smaller", async () => {
  for (const answer of [{}, { expires_in: 5 }]) {
    await using reg = fakeRegistry({ answer });
    let now = 0;
    const fetch = withAuth(base, { tokenCache: new TokenCache({ now: () => now }) });
    const get = async () => (await fetch(new Request(`${reg.origin}/v2/small/manifests/v1`))).text();
    await get();
    now = 59_999;
    await get();
    assertEquals(reg.tokenRequests.length, 1);
    now = 60_000;
    await get();
    assertEquals(reg.tokenRequests.length, 2);
  }
});

Deno.test("fetchToken() counts the lifetime from issued_at when it is plausible", async () => {
  const now = Date.parse("2025-07-01T12:00:00Z");
  const answer = (issued_at: string) => () =>
    Promise.resolve(Response.json({ token: "x", expires_in: 300, issued_at }));
  const realm = "http://127.0.0.1:1/token";
  const past = await fetchToken({ realm, fetch: answer("2025-07-01T11:59:00Z"), now: () => now });
  assertEquals(past.expiresAt, now - 60_000 + 300_000);
  // issued in the future or already expired by our clock: clock skew, count from now
  const future = await fetchToken({ realm, fetch: answer("2025-07-01T12:10:00Z"), now: () => now });
  assertEquals(future.expiresAt, now + 300_000);
  const ancient = await fetchToken({ realm, fetch: answer("2025-07-01T10:00:00Z"), now: () => now });
  assertEquals(ancient.expiresAt, now + 300_000);
});

Deno.test("withAuth() retries once with a fresh token on insufficient_scope, then gives up", async () => {
  await using reg = fakeRegistry({ refuse: (n) => n === 1 });
  const fetch = withAuth(base);
  const res = await fetch(new Request(`${reg.origin}/v2/small/manifests/v1`));
  assertEquals(await res.text(), "ok");
  assertEquals(reg.registryRequests.map((r) => r.authorization), [null, "Bearer t1", "Bearer t2"]);
  assertEquals(reg.tokenRequests[1].query.scope, ["repository:extra:pull", "repository:small:pull"]);

  await using refusing = fakeRegistry({ refuse: () => true });
  const denied = await withAuth(base)(new Request(`${refusing.origin}/v2/small/manifests/v1`));
  assertEquals(denied.status, 401);
  await denied.body?.cancel();
  assertEquals(refusing.registryRequests.length, 3);
  assertEquals(refusing.tokenRequests.length, 2);
});

Deno.test("withAuth() answers a Basic challenge with the credentials, once", async () => {
  await using reg = fakeRegistry({ scheme: "basic" });
  const ok = await withAuth(base, { credentials: { username: "alice", password: "s3cret" } })(
    new Request(`${reg.origin}/v2/small/manifests/v1`),
  );
  assertEquals(await ok.text(), "ok");
  const wrong = await withAuth(base, { credentials: { username: "alice", password: "nope" } })(
    new Request(`${reg.origin}/v2/small/manifests/v1`),
  );
  assertEquals(wrong.status, 401);
  await wrong.body?.cancel();
  const anonymous = await withAuth(base)(new Request(`${reg.origin}/v2/small/manifests/v1`));
  assertEquals(anonymous.status, 401);
  await anonymous.body?.cancel();
  assertEquals(reg.registryRequests.length, 2 + 2 + 1);
  assertEquals(reg.tokenRequests.length, 0);
});

Deno.test("withAuth() sends a registry token as it is, without a token server", async () => {
  await using reg = fakeRegistry();
  const fetch = withAuth(base, { credentials: { registryToken: "t7" } });
  assertEquals(await (await fetch(new Request(`${reg.origin}/v2/small/manifests/v1`))).text(), "ok");
  assertEquals(reg.tokenRequests.length, 0);
  assertEquals(reg.registryRequests.map((r) => r.authorization), [null, "Bearer t7"]);
});

Deno.test("withAuth() rejects with AUTH_FAILED naming the realm and status when the token server refuses", async () => {
  await using reg = fakeRegistry({ tokenStatus: 401 });
  const err = await assertRejects(
    () =>
      withAuth(base, { credentials: { username: "alice", password: "x" } })(
        new Request(`${reg.origin}/v2/small/manifests/v1`),
      ),
    TugError,
    { code: "AUTH_FAILED" },
  );
  assertStringIncludes(
    err.message,
    `Cannot get a token from "${reg.origin}/token" for repository:small:pull`,
  );
  assertStringIncludes(err.message, "token server returned 401 UNAUTHORIZED (bad credentials)");
  assertEquals((err.detail as { status: number }).status, 401);
});

Deno.test("fetchToken() refuses a realm that is not an http(s) URL, and an answer without a token", async () => {
  await assertRejects(() => fetchToken({ realm: "file:///etc/passwd" }), TugError, {
    code: "AUTH_FAILED",
    includes: 'token realm "file:///etc/passwd" is not an http(s) URL',
  });
  await assertRejects(() => fetchToken({ realm: "not a url" }), TugError, { code: "AUTH_FAILED" });
  await assertRejects(
    () => fetchToken({ realm: "http://127.0.0.1:1/token", fetch: () => Promise.resolve(Response.json({})) }),
    TugError,
    { code: "AUTH_FAILED", includes: "without a token" },
  );
});

Deno.test("withAuth() asks a credential provider once per host, with host:port", async () => {
  await using reg = fakeRegistry();
  const asked: string[] = [];
  const fetch = withAuth(base, {
    credentials: (host) => (asked.push(host), Promise.resolve({ username: "alice", password: "x" })),
  });
  await (await fetch(new Request(`${reg.origin}/v2/a/manifests/v1`))).text();
  await (await fetch(new Request(`${reg.origin}/v2/b/manifests/v1`))).text();
  assertEquals(asked, [reg.host]);
  assertEquals(reg.tokenRequests.map((t) => t.query.scope), [["repository:a:pull"], ["repository:b:pull"]]);
});

Deno.test("withAuth() shares one token request between concurrent requests", async () => {
  await using reg = fakeRegistry();
  const cache = new TokenCache();
  const fetch = withAuth(base, { tokenCache: cache });
  // learn the challenge first, so all three go out with a token up front
  await (await fetch(new Request(`${reg.origin}/v2/`))).text();
  const before = reg.tokenRequests.length;
  await Promise.all(
    [1, 2, 3].map(async (i) =>
      (await fetch(new Request(`${reg.origin}/v2/small/blobs/sha256:${String(i).repeat(64)}`))).text()
    ),
  );
  assertEquals(reg.tokenRequests.length - before, 1);
});

Deno.test("withAuth() never hands one account's token to another sharing the cache", async () => {
  await using reg = fakeRegistry();
  const cache = new TokenCache();
  const alice = withAuth(base, { tokenCache: cache, credentials: { username: "alice", password: "a" } });
  const bob = withAuth(base, { tokenCache: cache, credentials: { username: "bob", password: "b" } });
  await (await alice(new Request(`${reg.origin}/v2/small/manifests/v1`))).text();
  await (await bob(new Request(`${reg.origin}/v2/small/manifests/v1`))).text();
  assertEquals(reg.tokenRequests.map((t) => t.query.account), [["alice"], ["bob"]]);
});

Deno.test("withAuth() leaves a request that already has Authorization alone", async () => {
  await using reg = fakeRegistry();
  const res = await withAuth(base)(
    new Request(`${reg.origin}/v2/small/manifests/v1`, { headers: { authorization: "Bearer t9" } }),
  );
  assertEquals(await res.text(), "ok");
  assertEquals(reg.tokenRequests.length, 0);
  assert(reg.registryRequests.length === 1);
});
