// The proxy against a hostile client: every bad value a client can send (Authorization of every scheme,
// digests, tags, names, Range values, ns=, the Host header) gets a 4xx, never a 5xx, and nothing the
// client sends is echoed into the token realm.
import { assert, assertEquals } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { startProxy } from "./_proxy_helpers.ts";
import { startTugServe } from "./_tug_serve.ts";

const SHA = `sha256:${"a".repeat(64)}`;

/** Sends one raw HTTP/1.1 request (any Host header) and returns the status line and the headers. */
async function rawRequest(port: number, head: string): Promise<{ status: number; headers: Headers }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(head));
    const buffer = new Uint8Array(64 * 1024);
    let length = 0;
    let text = "";
    // Bounded: 64 KiB of head at most.
    while (length < buffer.length) {
      const n = await conn.read(buffer.subarray(length));
      if (n === null) break;
      length += n;
      text = new TextDecoder().decode(buffer.subarray(0, length));
      if (text.includes("\r\n\r\n")) break;
    }
    const [statusLine, ...lines] = text.slice(0, text.indexOf("\r\n\r\n")).split("\r\n");
    const headers = new Headers();
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    return { status: Number(statusLine.split(" ")[1]), headers };
  } finally {
    conn.close();
  }
}

Deno.test("createProxy() answers hostile client input on every route with a 4xx, never a 5xx", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = await startProxy({ upstreams: { local: registry.url }, retry: { attempts: 1 } });
  const repo = images.small.repository;
  const layer = images.small.layers[0].digest;
  const authorizations = [
    "Bearer A",
    "Bearer",
    "Bearer ",
    "Bearer !!!",
    "Bearer A=B",
    `Bearer ${"A".repeat(40)}`,
    `Bearer ${"_".repeat(4000)}`,
    "bearer abc.def.ghi",
    "Basic ###",
    "Basic",
    "Basic " + btoa("\u00ff\u00fe:x"),
    "Basic " + btoa("no-colon"),
    "Digest username=x",
    "Negotiate YII=",
    "x",
  ];
  const routes = [
    "/v2/",
    "/token",
    `/v2/${repo}/manifests/v1`,
    `/v2/${repo}/blobs/${layer}`,
    `/v2/${repo}/tags/list`,
  ];
  const cases: Array<{ what: string; path: string; init?: RequestInit }> = [];
  for (const authorization of authorizations) {
    for (const path of routes) {
      cases.push({ what: authorization, path, init: { headers: { authorization } } });
    }
    cases.push({
      what: authorization,
      path: `/images/create?fromImage=${repo}&tag=v1`,
      init: { method: "POST", headers: { authorization } },
    });
  }
  const digests = [
    "md5:d41d8cd98f00b204e9800998ecf8427e",
    "sha256:abc",
    "sha512:abc",
    `sha256:${"A".repeat(64)}`,
    `sha256:${"a".repeat(65)}`,
    `sha256:${"g".repeat(64)}`,
    "sha256:",
    ":abc",
    "sha256+b64:abc",
    "a.b:c",
  ];
  for (const digest of digests) {
    for (const kind of ["blobs", "manifests"]) {
      cases.push({ what: `${kind} ${digest}`, path: `/v2/${repo}/${kind}/${digest}` });
      cases.push({
        what: `HEAD ${kind} ${digest}`,
        path: `/v2/${repo}/${kind}/${digest}`,
        init: { method: "HEAD" },
      });
    }
    cases.push({
      what: `images/create @${digest}`,
      path: `/images/create?fromImage=${repo}@${encodeURIComponent(digest)}`,
      init: { method: "POST" },
    });
    cases.push({
      what: `images/create tag=${digest}`,
      path: `/images/create?fromImage=${repo}&tag=${encodeURIComponent(digest)}`,
      init: { method: "POST" },
    });
  }
  for (const tag of [".hidden", "-x", "a".repeat(129), "%00", "a%2Fb", "..", "tag%20x"]) {
    cases.push({ what: `tag ${tag}`, path: `/v2/${repo}/manifests/${tag}` });
    cases.push({
      what: `images/create tag ${tag}`,
      path: `/images/create?fromImage=${repo}&tag=${tag}`,
      init: { method: "POST" },
    });
  }
  for (const name of ["UPPER/case", "a//b", "-x/y", "x".repeat(300), "%2e%2e/x", "a/../b"]) {
    cases.push({ what: `name ${name}`, path: `/v2/${name}/manifests/v1` });
    cases.push({
      what: `images/create ${name}`,
      path: `/images/create?fromImage=${name}`,
      init: { method: "POST" },
    });
  }
  for (const ns of ["", "evil.example", "%00", "127.0.0.1:1", "local%2F..", "a".repeat(1000)]) {
    cases.push({ what: `ns=${ns}`, path: `/v2/${repo}/manifests/v1?ns=${ns}` });
    cases.push({ what: `blob ns=${ns}`, path: `/v2/${repo}/blobs/${layer}?ns=${ns}` });
  }
  for (
    const range of [
      "bytes=99999999999999999999-",
      "bytes=5000000-99999999999999999999",
      "bytes=-99999999999999999999",
      "bytes=9000000000000000-",
      "bytes=5-1",
      "bytes=0-1,5-6",
      "bytes=",
      "bytes=-",
      "garbage",
      "bytes=4194304-4194303",
      "bytes = 4194304 - ",
    ]
  ) {
    cases.push({ what: `range ${range}`, path: `/v2/${repo}/blobs/${layer}`, init: { headers: { range } } });
    cases.push({
      what: `range ${range} (large, uncached)`,
      path: `/v2/${images.large.repository}/blobs/${images.large.layers[0].digest}`,
      init: { headers: { range } },
    });
  }
  // Accept values around the manifest's own type (without it, distribution falls back to a schema1 manifest
  // it re-signs per request, which the proxy refuses as unverifiable: the upstream's doing).
  const type = images.small.manifestMediaType;
  for (
    const accept of [
      `${type}, ;;;,`,
      `${type};q=x, text/html`,
      `, ,${type}`,
      `${type}, ${"x".repeat(20_000)}`,
    ]
  ) {
    cases.push({
      what: `accept ${accept.slice(-20)}`,
      path: `/v2/${repo}/manifests/v1`,
      init: { headers: { accept } },
    });
    cases.push({
      what: `accept ${accept.slice(-20)} by digest`,
      path: `/v2/${repo}/manifests/${images.small.manifestDigest}`,
      init: { headers: { accept } },
    });
  }
  cases.push({ what: "tags n", path: `/v2/${repo}/tags/list?n=99999999999999999999` });
  cases.push({ what: "tags n=-1", path: `/v2/${repo}/tags/list?n=-1` });
  cases.push({ what: "unknown digest", path: `/v2/${repo}/blobs/${SHA}` });

  const failures: string[] = [];
  for (const c of cases) {
    // The manifest's own type: without it distribution answers a schema1 manifest it re-signs each time
    // (a 502 MANIFEST_UNVERIFIED from the proxy, the upstream's doing, not the client's).
    const headers = new Headers(c.init?.headers);
    if (!headers.has("accept")) headers.set("accept", images.small.manifestMediaType);
    const res = await fetch(`${proxy.url}${c.path}`, { ...c.init, headers });
    // A POST /images/create streams: a 200 whose lines carry the error is a client answer too.
    await res.body?.cancel();
    if (res.status >= 500) failures.push(`${c.what} → ${c.path}: ${res.status}`);
  }
  assertEquals(failures, [], `${failures.length} of ${cases.length} hostile requests got a 5xx`);
});

Deno.test("createProxy() never echoes the Host header into the token realm", async () => {
  const { registry } = await sharedRegistry();
  await using proxy = await startProxy({ upstreams: { local: registry.url } });
  for (const host of ["evil.example", 'evil.example",x="y', "127.0.0.1:1"]) {
    const { status, headers } = await rawRequest(
      proxy.server.port,
      `GET /v2/ HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    );
    if (status === 400) continue; // a Host the server itself refuses
    assertEquals(status, 401);
    const challenge = headers.get("www-authenticate") ?? "";
    assertEquals(challenge, `Bearer realm="${proxy.url}/token",service="tug-proxy"`, host);
  }
  // Over fetch too (the Host of the URL it was sent to, which is the listener here).
  const res = await fetch(`${proxy.url}/v2/`);
  await res.body?.cancel();
  assertEquals(res.headers.get("www-authenticate"), `Bearer realm="${proxy.url}/token",service="tug-proxy"`);
});

Deno.test("createProxy() publicUrl sets the token realm whatever the request's Host", async () => {
  const { registry } = await sharedRegistry();
  await using proxy = await startProxy({
    upstreams: { local: registry.url },
    publicUrl: "https://mirror.example:8443",
  });
  const { status, headers } = await rawRequest(
    proxy.server.port,
    "GET /v2/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
  );
  assertEquals(status, 401);
  assertEquals(
    headers.get("www-authenticate"),
    'Bearer realm="https://mirror.example:8443/token",service="tug-proxy"',
  );
  let refused = false;
  try {
    await startProxy({ upstreams: { local: registry.url }, publicUrl: "https://user:pw@mirror.example/x?y" });
  } catch (err) {
    refused = err instanceof TypeError;
  }
  assert(refused, "a public URL with credentials and a query was accepted");
});

Deno.test("tug serve --public-url names the token realm; without it the realm is the listen address, whatever the Host", async () => {
  const { registry } = await sharedRegistry();
  for (const publicUrl of [undefined, "https://mirror.example"]) {
    await using serve = await startTugServe(registry.url, "tug-serve-realm-", [
      "--no-web",
      ...(publicUrl ? ["--public-url", publicUrl] : []),
    ]);
    const port = Number(new URL(serve.base).port);
    const { status, headers } = await rawRequest(
      port,
      "GET /v2/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    );
    assertEquals(status, 401);
    assertEquals(
      headers.get("www-authenticate"),
      `Bearer realm="${publicUrl ?? serve.base}/token",service="tug-proxy"`,
    );
  }
});
