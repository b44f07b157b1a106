import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { createRegistryFetch } from "./create_registry_fetch.ts";
import { TokenCache } from "./token_cache.ts";
import type { FetchLike } from "./types.ts";

interface Seen {
  origin: string;
  path: string;
  authorization: string | null;
}

/**
 * In memory: a registry (with its own token server on its origin) that sends blob GETs to a storage
 * host, a storage host that answers with the given challenge, and a capturing host that must see nothing.
 */
function hostile(storageChallenge: string, options: { browser?: boolean } = {}) {
  const registry = "https://registry.example";
  const storage = "https://storage.example";
  const capture = "https://capture.example";
  const seen: Seen[] = [];
  const answer = (request: Request): Response => {
    const url = new URL(request.url);
    seen.push({
      origin: url.origin,
      path: url.pathname,
      authorization: request.headers.get("authorization"),
    });
    if (url.origin === registry) {
      if (url.pathname === "/token") return Response.json({ token: "registry-token" });
      if (request.headers.get("authorization") !== "Bearer registry-token") {
        return new Response(null, {
          status: 401,
          headers: { "www-authenticate": `Bearer realm="${registry}/token",service="registry.example"` },
        });
      }
      return new Response(null, { status: 307, headers: { location: `${storage}/blob?sig=x` } });
    }
    if (url.origin === storage) {
      return new Response("no", { status: 401, headers: { "www-authenticate": storageChallenge } });
    }
    return Response.json({ token: "stolen" });
  };
  const fetch: FetchLike = (request) => {
    if (!options.browser || request.redirect !== "follow") return Promise.resolve(answer(request));
    // A browser follows the redirect itself and reports where the answer came from.
    let response = answer(request);
    let url = request.url;
    for (let i = 0; i < 5 && response.status === 307; i++) {
      url = new URL(response.headers.get("location")!, url).href;
      response = answer(new Request(url));
    }
    Object.defineProperty(response, "redirected", { value: url !== request.url });
    Object.defineProperty(response, "url", { value: url });
    return Promise.resolve(response);
  };
  const manual: FetchLike = options.browser
    ? (request) => {
      if (request.redirect === "manual") {
        const response = answer(request);
        if (response.status !== 307) return Promise.resolve(response);
        return Promise.resolve(
          Object.defineProperty(new Response(null), "type", { value: "opaqueredirect" }),
        );
      }
      return fetch(request);
    }
    : fetch;
  return { registry, storage, capture, seen, fetch: manual };
}

for (
  const [what, challenge] of [
    ["a bearer realm on another host", 'Bearer realm="https://capture.example/token",service="x"'],
    ["a bearer realm on the registry itself", 'Bearer realm="https://registry.example/token",service="x"'],
    ["a Basic challenge", 'Basic realm="storage"'],
  ] as const
) {
  for (const browser of [false, true]) {
    Deno.test(`createRegistryFetch() answers no challenge from a redirect target: ${what}${browser ? " (browser follows)" : ""}`, async () => {
      const h = hostile(challenge, { browser });
      const tokenCache = new TokenCache();
      const fetch = createRegistryFetch({
        fetch: h.fetch,
        credentials: { username: "alice", password: "s3cret" },
        tokenCache,
        retry: { sleep: () => Promise.resolve() },
      });
      const err = await assertRejects(
        () => fetch(new Request(`${h.registry}/v2/library/alpine/blobs/sha256:${"a".repeat(64)}`)),
        TugError,
        { code: "UNAUTHORIZED", includes: h.storage },
      );
      assert(err.message.includes(h.registry), err.message);
      // Nothing reached the capturing host, the storage host never saw a credential, and the
      // registry's remembered challenge is still its own.
      assertEquals(h.seen.filter((s) => s.origin === h.capture), []);
      assertEquals(h.seen.filter((s) => s.origin === h.storage && s.authorization !== null), []);
      assertEquals(
        h.seen.filter((s) => s.path === "/token").every((s) => s.origin === h.registry),
        true,
      );
      assertEquals(tokenCache.challenge(h.registry)?.params.realm, `${h.registry}/token`);
    });
  }
}

Deno.test("createRegistryFetch() runs the caller's transport under every request on the wire: token requests, redirect hops and retries", async () => {
  const registry = "https://registry.example";
  const storage = "https://storage.example";
  const wire: string[] = [];
  let storageCalls = 0;
  const io: FetchLike = (request) => {
    const url = new URL(request.url);
    wire.push(`${request.method} ${url.origin}${url.pathname}`);
    if (url.origin === storage) {
      // The storage host fails once (retried from the top), then serves.
      return Promise.resolve(
        new Response(++storageCalls === 1 ? null : "blob", { status: storageCalls === 1 ? 503 : 200 }),
      );
    }
    if (url.pathname === "/token") return Promise.resolve(Response.json({ token: "t" }));
    if (request.headers.get("authorization") !== "Bearer t") {
      return Promise.resolve(
        new Response(null, {
          status: 401,
          headers: { "www-authenticate": `Bearer realm="${registry}/token",service="registry.example"` },
        }),
      );
    }
    return Promise.resolve(
      new Response(null, { status: 307, headers: { location: `${storage}/blob?sig=x` } }),
    );
  };
  const seen: { line: string; userAgent: string | null }[] = [];
  const fetch = createRegistryFetch({
    fetch: io,
    userAgent: "probe/1",
    retry: { sleep: () => Promise.resolve() },
    transport: (base) => (request) => {
      const url = new URL(request.url);
      seen.push({
        line: `${request.method} ${url.origin}${url.pathname}`,
        userAgent: request.headers.get("user-agent"),
      });
      return base(request);
    },
  });
  const response = await fetch(new Request(`${registry}/v2/library/alpine/blobs/sha256:${"a".repeat(64)}`));
  assertEquals(await response.text(), "blob");
  // The wrapper saw exactly what went on the wire, in order. Requests to the registry carry the
  // User-Agent set above it; the token request, which withAuth builds itself, carries none (today).
  assertEquals(seen.map((s) => s.line), wire);
  assertEquals(seen.map((s) => s.userAgent), ["probe/1", null, "probe/1", "probe/1", "probe/1", "probe/1"]);
  const blob = `GET ${registry}/v2/library/alpine/blobs/sha256:${"a".repeat(64)}`;
  assertEquals(wire, [
    blob, // 401: the challenge
    `GET ${registry}/token`, // the token request
    blob, // with the token: 307
    `GET ${storage}/blob`, // the redirect hop: 503
    blob, // the retry from the top (the token is cached)
    `GET ${storage}/blob`, // the redirect hop again: 200
  ]);
});
