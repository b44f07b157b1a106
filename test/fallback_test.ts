// pull()'s endpoint loop against real registries (docker-registry from the harness): Docker Hub mirrors
// (with a local registry standing in for Docker Hub through `hubRegistry`), insecure and TLS hosts, the
// fallback rules rule by rule, cancellation, error translation, --all-tags and the attempt log.
//
// Faults a real registry cannot produce (a DENIED answer on a manifest GET: distribution answers
// UNAUTHORIZED when a token lacks the scope) come from a small Deno.serve front written here.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import {
  createCertificate,
  fixtureImages,
  pushImage,
  type RegistryProcess,
  sharedRegistry,
  startRegistry,
} from "./harness/mod.ts";
import { pull } from "../src/pull/pull.ts";
import { pullAllTags } from "../src/pull/pull_all_tags.ts";
import type { PullAttempt } from "../src/pull/pull.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { OciLayoutStore } from "../adapters/fs/oci_layout_store.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";
import { TugError } from "../src/errors.ts";
import type { FetchLike } from "../src/registry/types.ts";

const UA = "tug-fallback-test";

/** What a pull's attempt log looks like in a compact, comparable form. */
function outline(attempts: readonly PullAttempt[]): string[] {
  return attempts.map((a) => `${a.endpoint} v${a.version}${a.mirror ? " mirror" : ""}: ${a.outcome}`);
}

function attemptsOf(err: unknown): PullAttempt[] {
  return (err as { attempts?: PullAttempt[] }).attempts ?? [];
}

/** A port nothing listens on (bound, then closed). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A registry front that speaks v2 on /v2/ and answers every manifest GET with `status` and `code`. */
function errorFront(
  status: number,
  code: string,
  tls?: { cert: string; key: string },
): Deno.HttpServer<Deno.NetAddr> & { url: string; host: string; requests: string[] } {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {}, ...tls }, (req) => {
    const path = new URL(req.url).pathname;
    requests.push(`${req.method} ${path}`);
    const headers = { "docker-distribution-api-version": "registry/2.0", "content-type": "application/json" };
    if (path === "/v2/") return new Response("{}", { headers });
    const body = JSON.stringify({
      errors: [{ code, message: `${code.toLowerCase()} (test front)`, detail: null }],
    });
    return new Response(body, { status, headers });
  });
  const host = `127.0.0.1:${server.addr.port}`;
  return Object.assign(server, { url: `${tls ? "https" : "http"}://${host}`, host, requests });
}

/**
 * A front that forwards to a real registry, except for the requests `override` answers itself (faults a
 * real registry cannot be made to produce on demand).
 */
function faultFront(
  target: string,
  override: (method: string, path: string) => Response | undefined,
): Deno.HttpServer<Deno.NetAddr> & { url: string; host: string } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const answer = override(req.method, url.pathname);
    if (answer) return answer;
    const headers = new Headers(req.headers);
    headers.delete("host");
    const upstream = await fetch(`${target}${url.pathname}${url.search}`, { method: req.method, headers });
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  });
  const host = `127.0.0.1:${server.addr.port}`;
  return Object.assign(server, { url: `http://${host}`, host });
}

/** A TLS certificate for 127.0.0.1 and a fetch that trusts it and resolves `*.tug.test` to 127.0.0.1. */
async function tlsSetup(): Promise<
  { cert: string; key: string; certPath: string; keyPath: string; fetch: FetchLike } & AsyncDisposable
> {
  const dir = await Deno.makeTempDir({ prefix: "tug-fallback-tls-" });
  const c = await createCertificate(dir, { commonName: "127.0.0.1" });
  const client = Deno.createHttpClient({ caCerts: [c.certificatePem] });
  const fetchTls: FetchLike = (request) => {
    const url = new URL(request.url);
    // A stand-in for DNS: a name that is not loopback, so tug must treat it as a secure registry.
    if (url.hostname.endsWith(".tug.test")) url.hostname = "127.0.0.1";
    return fetch(new Request(url, request), { client });
  };
  return {
    cert: c.certificatePem,
    key: c.keyPem,
    certPath: c.certificatePath,
    keyPath: c.keyPath,
    fetch: fetchTls,
    [Symbol.asyncDispose]: async () => {
      client.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function uaRequests(registry: RegistryProcess, since: number): Promise<number> {
  return (await registry.accessLog()).slice(since).filter((e) => e.userAgent.startsWith(UA)).length;
}

Deno.test("pull() tries Docker Hub mirrors in order: a refused mirror falls back to the next (a real proxy-mode mirror)", async () => {
  const { registry: hub, images } = await sharedRegistry();
  await using mirror = await startRegistry({ proxy: { remoteurl: hub.url } });
  const refused = `http://127.0.0.1:${closedPort()}`;
  const before = (await hub.accessLog()).length;
  const store = new MemoryStore();
  const events: Array<{ action: string; id: string; name: string }> = [];
  const result = await pull("docker.io/tug/small:v1", {
    store,
    userAgent: UA,
    mirrors: [refused, mirror.url],
    hubRegistry: hub.url,
    onEvent: (e) => events.push(e),
  });
  assertEquals(result.digest, images.small.manifestDigest);
  assertEquals(outline(result.attempts), [
    `${refused} v2 mirror: fallback`,
    `${mirror.url} v2 mirror: pulled`,
  ]);
  // The mirror fetched from the "Hub" itself; tug never asked the Hub.
  assertEquals(await uaRequests(hub, before), 0);
  assert(
    (await mirror.accessLog()).some((e) => e.userAgent.startsWith(UA) && e.path.includes("/manifests/v1")),
  );
  // Docker's image event: FamiliarString(ref), FamiliarName(repoInfo.Name), once, after the pull.
  assertEquals(events, [{ action: "pull", id: "tug/small:v1", name: "tug/small" }]);
  assertEquals((await store.references.get("docker.io/tug/small:v1"))?.digest, images.small.manifestDigest);
});

Deno.test("pull() moves on from a mirror that answers MANIFEST_UNKNOWN to Docker Hub", async () => {
  const { registry: hub, images } = await sharedRegistry();
  await using empty = await startRegistry();
  // The repository exists on the mirror, the tag does not.
  await pushImage(empty, "tug/small", (await fixtureImages()).small, "other");
  const result = await pull("docker.io/tug/small:v1", {
    store: new MemoryStore(),
    mirrors: [empty.url],
    hubRegistry: hub.url,
  });
  assertEquals(result.digest, images.small.manifestDigest);
  assertEquals(outline(result.attempts), [`${empty.url} v2 mirror: fallback`, `${hub.url} v2: pulled`]);
  assertEquals((result.attempts[0].error as TugError).code, "MANIFEST_UNKNOWN");
});

Deno.test("pull() falls back from a mirror that answers DENIED (errors from mirrors always fall back)", async () => {
  const { registry: hub, images } = await sharedRegistry();
  await using front = errorFront(403, "DENIED");
  const result = await pull("docker.io/tug/small:v1", {
    store: new MemoryStore(),
    mirrors: [front.url],
    hubRegistry: hub.url,
  });
  assertEquals(result.digest, images.small.manifestDigest);
  assertEquals(outline(result.attempts), [`${front.url} v2 mirror: fallback`, `${hub.url} v2: pulled`]);
  assertEquals((result.attempts[0].error as TugError).code, "DENIED");
  assert(front.requests.includes("GET /v2/tug/small/manifests/v1"), front.requests.join(", "));
});

Deno.test("pull() stops at DENIED from a registry that is not a mirror, and says so as Docker does", async () => {
  await using tls = await tlsSetup();
  await using front = errorFront(403, "DENIED", { cert: tls.cert, key: tls.key });
  // 127.0.0.1 is insecure, so an http endpoint (and with legacy on, v1 ones) would follow.
  const err = await assertRejects(
    () =>
      pull(`${front.host}/team/app:1`, { store: new MemoryStore(), fetch: tls.fetch, legacyRegistry: true }),
    TugError,
    { code: "DENIED" },
  );
  assertEquals(
    err.message,
    `pull access denied for ${front.host}/team/app, repository does not exist or may require 'docker login'`,
  );
  assertEquals(outline(attemptsOf(err)), [`https://${front.host} v2: stopped`]);
  assertStringIncludes(attemptsOf(err)[0].reason, "DENIED");
  // A TOOMANYREQUESTS answer stops the same way.
  await using busy = errorFront(429, "TOOMANYREQUESTS", { cert: tls.cert, key: tls.key });
  const limited = await assertRejects(
    () =>
      pull(`${busy.host}/team/app:1`, { store: new MemoryStore(), fetch: tls.fetch, retry: { attempts: 1 } }),
    TugError,
    { code: "TOOMANYREQUESTS" },
  );
  assertEquals(outline(attemptsOf(limited)), [`https://${busy.host} v2: stopped`]);
});

Deno.test("pull() cancelled during the large blob does not fall back and commits nothing", async () => {
  const { registry, images } = await sharedRegistry();
  const dir = await Deno.makeTempDir({ prefix: "tug-fallback-cancel-" });
  try {
    const store = await OciLayoutStore.open(dir);
    const controller = new AbortController();
    const large = images.large.layers[0];
    const err = await assertRejects(
      () =>
        pull("docker.io/tug/large:v1", {
          store,
          hasher: nodeHasher,
          // The same registry as a mirror and as the Hub: a fallback would be visible as a second attempt.
          mirrors: [registry.url],
          hubRegistry: registry.url,
          signal: controller.signal,
          onProgress: (e) => {
            if (e.digest === large.digest && e.status === "Downloading" && (e.current ?? 0) > 4 << 20) {
              controller.abort(new TugError("ABORTED", "The pull was interrupted"));
            }
          },
        }),
      TugError,
      { code: "ABORTED" },
    );
    assertEquals(outline(attemptsOf(err)), [`${registry.url} v2 mirror: stopped`]);
    assertEquals(await store.references.list(), []);
    assertEquals(await store.blobs.stat(large.digest), undefined);
    assertEquals(await store.blobs.stat(images.large.manifestDigest), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pull() from an insecure host served only on http: the https attempt fails, http succeeds", async () => {
  const { registry, images } = await sharedRegistry();
  const result = await pull(images.small.reference, { store: new MemoryStore() });
  assertEquals(outline(result.attempts), [
    `https://${registry.host} v2: fallback`,
    `http://${registry.host} v2: pulled`,
  ]);
  assertEquals((result.attempts[0].error as TugError).code, "NETWORK");
});

Deno.test("pull() from a secure TLS registry never tries http; once a host answered over TLS its http endpoint is skipped", async () => {
  const { registry: shared, images } = await sharedRegistry();
  await using tls = await tlsSetup();
  // Serves the shared registry's storage (read only) over TLS.
  await using secure = await startRegistry({
    tls: { certificate: tls.certPath, key: tls.keyPath },
    storageDir: shared.storageDir,
  });
  const host = `secure.tug.test:${secure.port}`;
  const ok = await pull(`${host}/tug/small:v1`, { store: new MemoryStore(), fetch: tls.fetch });
  assertEquals(ok.digest, images.small.manifestDigest);
  assertEquals(outline(ok.attempts), [`https://${host} v2: pulled`]);

  // Not insecure: a missing tag ends after https alone, with Docker's message.
  const missing = await assertRejects(
    () => pull(`${host}/tug/small:nope`, { store: new MemoryStore(), fetch: tls.fetch }),
    TugError,
    { code: "MANIFEST_UNKNOWN" },
  );
  assertEquals(missing.message, `manifest for ${host}/tug/small:nope not found`);
  assertEquals(outline(attemptsOf(missing)), [`https://${host} v2: fallback`]);

  // Insecure, but https answered: the http endpoint is skipped, and the log says why.
  const skipped = await assertRejects(
    () =>
      pull(`${host}/tug/small:nope`, {
        store: new MemoryStore(),
        fetch: tls.fetch,
        insecureRegistries: [host],
      }),
    TugError,
    { code: "MANIFEST_UNKNOWN" },
  );
  assertEquals(outline(attemptsOf(skipped)), [`https://${host} v2: fallback`, `http://${host} v2: skipped`]);
  assertEquals(attemptsOf(skipped)[1].reason, `skipped non-TLS endpoint: ${host} already answered over TLS`);
});

Deno.test("pull() skips v1 endpoints after a by-digest miss on a v2 registry, not after a tag miss (allowV1Fallback)", async () => {
  const { registry } = await sharedRegistry();
  const store = new MemoryStore();
  const missingDigest = `sha256:${"0".repeat(64)}`;
  const byDigest = await assertRejects(
    () => pull(`${registry.host}/tug/small@${missingDigest}`, { store, legacyRegistry: true }),
    TugError,
    { code: "MANIFEST_UNKNOWN" },
  );
  // The ping's Docker-Distribution-Api-Version header confirmed v2; the digest miss keeps that.
  assertEquals(outline(attemptsOf(byDigest)), [
    `https://${registry.host} v2: fallback`,
    `http://${registry.host} v2: fallback`,
    `https://${registry.host} v1: skipped`,
    `http://${registry.host} v1: skipped`,
  ]);
  assertEquals(byDigest.message, `manifest for ${registry.host}/tug/small@${missingDigest} not found`);
  // A tag miss does not confirm v2: the legacy endpoints are tried.
  const byTag = await assertRejects(() =>
    pull(`${registry.host}/tug/small:nope`, { store, legacyRegistry: true })
  );
  const v1 = attemptsOf(byTag).filter((a) => a.version === 1);
  assertEquals(v1.length, 2);
  assert(v1.every((a) => a.outcome !== "skipped"), outline(attemptsOf(byTag)).join("\n"));
});

Deno.test("pull() and pullAllTags() translate a missing tag or repository as Docker does", async () => {
  const { registry } = await sharedRegistry();
  // distribution 2.8 reports a tag of an unknown repository as MANIFEST_UNKNOWN…
  const tag = await assertRejects(
    () => pull(`${registry.host}/nobody/here:v1`, { store: new MemoryStore() }),
    TugError,
    { code: "MANIFEST_UNKNOWN" },
  );
  assertEquals(tag.message, `manifest for ${registry.host}/nobody/here:v1 not found`);
  // …and its tag list as NAME_UNKNOWN.
  const repo = await assertRejects(
    () => pullAllTags(`${registry.host}/nobody/here`, { store: new MemoryStore() }),
    TugError,
    { code: "NAME_UNKNOWN" },
  );
  assertEquals(repo.message, `repository ${registry.host}/nobody/here not found`);
  assertEquals((repo.cause as TugError).code, "NAME_UNKNOWN");
});

Deno.test("pull() refuses an empty name and the reserved name scratch before any request", async () => {
  const calls: string[] = [];
  const recording: FetchLike = (request) => {
    calls.push(request.url);
    return Promise.resolve(new Response("unexpected", { status: 500 }));
  };
  for (const name of ["scratch", "scratch:latest", "docker.io/library/scratch:latest"]) {
    await assertRejects(() => pull(name, { store: new MemoryStore(), fetch: recording }), TugError, {
      code: "NAME_RESERVED",
      includes: "scratch",
    });
  }
  await assertRejects(() => pull("", { store: new MemoryStore(), fetch: recording }), TugError);
  await assertRejects(
    () => pullAllTags("scratch", { store: new MemoryStore(), fetch: recording }),
    TugError,
    {
      code: "NAME_RESERVED",
    },
  );
  assertEquals(calls, []);
});

Deno.test("pullAllTags() pulls every tag, paging the tag list, and refuses a tag or digest", async () => {
  const { registry } = await sharedRegistry();
  const fixtures = await fixtureImages();
  const repo = `alltags/app${crypto.randomUUID().slice(0, 8)}`;
  for (const tag of ["a", "b", "c"]) await pushImage(registry, repo, fixtures.small, tag);
  const store = new MemoryStore();
  const statuses: string[] = [];
  const events: Array<{ action: string; id: string; name: string }> = [];
  const result = await pullAllTags(`${registry.host}/${repo}`, {
    store,
    tagsPageSize: 2,
    onProgress: (e) => e.status.startsWith("Status: ") && statuses.push(e.status),
    onEvent: (e) => events.push(e),
  });
  assertEquals(
    result.tags.map((t) => t.familiar),
    ["a", "b", "c"].map((t) => `${registry.host}/${repo}:${t}`),
  );
  for (const tag of ["a", "b", "c"]) {
    assertEquals(
      (await store.references.get(`${registry.host}/${repo}:${tag}`))?.digest,
      fixtures.small.manifestDigest,
    );
  }
  // One Status line for the repository, as Docker's writeStatus after all tags.
  assertEquals(statuses, [`Status: Downloaded newer image for ${registry.host}/${repo}`]);
  assertEquals(events, [{
    action: "pull",
    id: `${registry.host}/${repo}`,
    name: `${registry.host}/${repo}`,
  }]);
  assertEquals(outline(result.attempts).at(-1), `http://${registry.host} v2: pulled`);

  for (
    const bad of [`${registry.host}/${repo}:a`, `${registry.host}/${repo}@${fixtures.small.manifestDigest}`]
  ) {
    await assertRejects(() => pullAllTags(bad, { store }), TypeError);
  }
});

Deno.test("pull() stops when the image config cannot be fetched, except from a mirror (ImageConfigPullError)", async () => {
  const { registry, images } = await sharedRegistry();
  const configPath = `/v2/tug/small/blobs/${images.small.config.digest}`;
  await using front = faultFront(
    registry.url,
    (method, path) =>
      method === "GET" && path === configPath ? new Response("bad gateway", { status: 502 }) : undefined,
  );
  const err = await assertRejects(
    () =>
      pull(`${front.host}/tug/small:v1`, {
        store: new MemoryStore(),
        legacyRegistry: true,
        retry: { attempts: 1 },
      }),
    TugError,
  );
  assert(err.message.startsWith("error pulling image configuration: "), err.message);
  assertEquals(outline(attemptsOf(err)), [
    `https://${front.host} v2: fallback`,
    `http://${front.host} v2: stopped`,
  ]);

  // From a mirror, the same failure falls back to Docker Hub.
  const viaMirror = await pull("docker.io/tug/small:v1", {
    store: new MemoryStore(),
    mirrors: [front.url],
    hubRegistry: registry.url,
    retry: { attempts: 1 },
  });
  assertEquals(viaMirror.digest, images.small.manifestDigest);
  assertEquals(outline(viaMirror.attempts), [
    `${front.url} v2 mirror: fallback`,
    `${registry.url} v2: pulled`,
  ]);
});

Deno.test("pull() falls back after a layer download answered DENIED, as Docker's download manager reports it", async () => {
  const { registry, images } = await sharedRegistry();
  const layerPath = `/v2/tug/small/blobs/${images.small.layers[0].digest}`;
  const denied = JSON.stringify({
    errors: [{ code: "DENIED", message: "requested access to the resource is denied" }],
  });
  await using front = faultFront(
    registry.url,
    (method, path) =>
      method === "GET" && path === layerPath
        ? new Response(denied, { status: 403, headers: { "content-type": "application/json" } })
        : undefined,
  );
  const store = new MemoryStore();
  const err = await assertRejects(
    () => pull(`${front.host}/tug/small:v1`, { store, retry: { attempts: 1 } }),
    TugError,
    {
      code: "DENIED",
    },
  );
  assertEquals(outline(attemptsOf(err)), [
    `https://${front.host} v2: fallback`,
    `http://${front.host} v2: fallback`,
  ]);
  assertEquals(
    err.message,
    `pull access denied for ${front.host}/tug/small, repository does not exist or may require 'docker login'`,
  );
  assertEquals(await store.references.list(), []);
});

Deno.test("pullAllTags() follows the registry's Link pages of the tag list", async () => {
  const { registry } = await sharedRegistry();
  const fixtures = await fixtureImages();
  const repo = `alltags/linked${crypto.randomUUID().slice(0, 8)}`;
  const all = ["x1", "x2", "x3"];
  for (const tag of all) await pushImage(registry, repo, fixtures.small, tag);
  const asked: string[] = [];
  // distribution 2.8 ignores n/last; this front pages the list one tag at a time with Link headers, as
  // the distribution spec allows, and forwards everything else to the real registry.
  const tagsList = (search: URLSearchParams) => {
    asked.push(search.toString());
    const last = search.get("last");
    const rest = all.filter((t) => last === null || t > last);
    const headers = new Headers({ "content-type": "application/json" });
    if (rest.length > 1) headers.set("link", `</v2/${repo}/tags/list?n=1&last=${rest[0]}>; rel="next"`);
    return new Response(JSON.stringify({ name: repo, tags: rest.slice(0, 1) }), { headers });
  };
  let search = new URLSearchParams();
  await using front = faultFront(registry.url, (method, path) => {
    if (method !== "GET" || path !== `/v2/${repo}/tags/list`) return undefined;
    return tagsList(search);
  });
  // faultFront sees only the path; keep the query of the last tag-list request through a fetch wrapper.
  const fetchWithQuery: FetchLike = (request) => {
    const url = new URL(request.url);
    if (url.pathname.endsWith("/tags/list")) search = url.searchParams;
    return fetch(request);
  };
  const result = await pullAllTags(`${front.host}/${repo}`, {
    store: new MemoryStore(),
    fetch: fetchWithQuery,
  });
  assertEquals(result.tags.map((t) => t.familiar), all.map((t) => `${front.host}/${repo}:${t}`));
  assertEquals(asked, ["", "last=x1", "last=x2"]);
});
