import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { guardFetch, isPrivateHost } from "./_upstream.ts";

Deno.test("isPrivateHost() spots loopback, private, link-local and mapped addresses", () => {
  for (
    const h of [
      "localhost",
      "a.localhost",
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "[::1]",
      "fd00::1",
      "fe80::1",
      "::ffff:10.0.0.1",
      "0.0.0.0",
    ]
  ) {
    assert(isPrivateHost(h), h);
  }
  for (const h of ["registry-1.docker.io", "8.8.8.8", "172.32.0.1", "[2606:4700::1111]"]) {
    assert(!isPrivateHost(h), h);
  }
});

Deno.test("guardFetch() allows the upstream and public hosts, refuses private ones before connecting", async () => {
  const calls: string[] = [];
  const base = (req: Request) => {
    calls.push(req.url);
    return Promise.resolve(new Response("ok"));
  };
  const guarded = guardFetch(base, new URL("http://127.0.0.1:5000"), { allowHosts: ["10.0.0.5"] });
  await (await guarded(new Request("http://127.0.0.1:5000/v2/"))).body?.cancel();
  await (await guarded(new Request("https://cdn.example.com/blob"))).body?.cancel();
  await (await guarded(new Request("http://10.0.0.5/blob"))).body?.cancel();
  await assertRejects(() => guarded(new Request("http://127.0.0.1:6000/x")), undefined, { code: "DENIED" });
  await assertRejects(() => guarded(new Request("http://169.254.169.254/latest/meta-data")), undefined, {
    code: "DENIED",
  });
  assertEquals(calls.length, 3);
});

Deno.test("guardFetch() drops a bearer challenge whose realm is off the upstream's domain, keeps one on it", async () => {
  let realm = "https://auth.evil.example/token";
  const base = () =>
    Promise.resolve(
      new Response(null, { status: 401, headers: { "www-authenticate": `Bearer realm="${realm}"` } }),
    );
  const guarded = guardFetch(base, new URL("https://registry-1.docker.io"), {});
  const off = await guarded(new Request("https://registry-1.docker.io/v2/x/manifests/1"));
  assertEquals(off.headers.get("www-authenticate"), null);
  realm = "https://auth.docker.io/token";
  const on = await guarded(new Request("https://registry-1.docker.io/v2/x/manifests/1"));
  assertEquals(on.headers.get("www-authenticate"), `Bearer realm="${realm}"`);
});

Deno.test("guardFetch() refuses every IPv6 and numeric spelling of an internal address before connecting", async () => {
  const calls: string[] = [];
  const base = (req: Request) => {
    calls.push(req.url);
    return Promise.resolve(new Response("ok"));
  };
  const guarded = guardFetch(base, new URL("https://registry.example"), {});
  for (
    const target of [
      "http://[::ffff:127.0.0.2]:5000/",
      "http://[::ffff:7f00:2]:5000/",
      "http://0x7f000002:5000/",
      "http://2130706434:5000/",
      "http://127.2:5000/",
      "http://[::127.0.0.2]:5000/",
      "http://[64:ff9b::7f00:2]:5000/",
      "http://[2002:7f00:2::]:5000/",
      "http://[fd00::2]/",
      "http://[fe80::1]/",
      "http://[::ffff:a9fe:a9fe]/latest/meta-data",
      "http://100.64.0.1/",
      "http://metadata/",
    ]
  ) {
    await assertRejects(() => guarded(new Request(target)), TugError, {
      includes: "not a public",
      code: "DENIED",
    });
  }
  assertEquals(calls, []);
});

Deno.test("guardFetch() refuses a name that resolves to a non-public address, keeps the configured upstream", async () => {
  const calls: string[] = [];
  const base = (req: Request) => {
    calls.push(new URL(req.url).host);
    return Promise.resolve(new Response("ok"));
  };
  const resolved: string[] = [];
  const answers: Record<string, string[]> = {
    "registry.internal-dns.example": ["10.0.0.7"],
    "storage.example": ["93.184.215.14", "::ffff:127.0.0.1"],
    "cdn.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
  };
  const resolveHost = (hostname: string) => {
    resolved.push(hostname);
    const found = answers[hostname];
    return found ? Promise.resolve(found) : Promise.reject(new Error(`NXDOMAIN ${hostname}`));
  };
  // The operator configured an upstream whose name resolves to a private address: it stays allowed.
  const guarded = guardFetch(base, new URL("http://registry.internal-dns.example:5000"), { resolveHost });
  await (await guarded(new Request("http://registry.internal-dns.example:5000/v2/"))).body?.cancel();
  await (await guarded(new Request("https://cdn.example/blob"))).body?.cancel();
  await assertRejects(
    () => guarded(new Request("https://storage.example/blob")),
    TugError,
    "::ffff:127.0.0.1",
  );
  await assertRejects(
    () => guarded(new Request("http://registry.internal-dns.example:6000/")),
    TugError,
    "10.0.0.7",
  );
  await assertRejects(() => guarded(new Request("https://gone.example/blob")), TugError, "NXDOMAIN");
  assertEquals(calls, ["registry.internal-dns.example:5000", "cdn.example"]);
  assertEquals(resolved.includes("registry.internal-dns.example") && resolved.includes("cdn.example"), true);
});

Deno.test("guardFetch() accepts a bearer realm only on the upstream's own host, Docker Hub's auth host or an allowed host", async () => {
  let realm = "";
  const base = () =>
    Promise.resolve(
      new Response(null, { status: 401, headers: { "www-authenticate": `Bearer realm="${realm}"` } }),
    );
  const cases: Array<[upstream: string, realm: string, kept: boolean, allowHosts?: string[]]> = [
    ["https://team.azurecr.io", "https://team.azurecr.io/oauth2/token", true],
    ["https://team.azurecr.io", "https://evil.azurecr.io/oauth2/token", false],
    ["https://registry.shop.co.uk", "https://auth.evil.co.uk/token", false],
    ["https://registry.shop.co.uk", "https://co.uk/token", false],
    ["https://me.github.io", "https://evil.github.io/token", false],
    ["https://registry-1.docker.io", "https://auth.docker.io/token", true],
    ["https://registry-1.docker.io", "https://evil.docker.io/token", false],
    ["http://127.0.0.1:5000", "http://127.0.0.1:5001/token", true],
    ["http://127.0.0.1:5000", "http://127.0.0.2:5001/token", false],
    ["http://[::1]:5000", "http://[::1]:5001/token", true],
    ["https://registry.gitlab.com", "https://gitlab.com/jwt/auth", false],
    ["https://registry.gitlab.com", "https://gitlab.com/jwt/auth", true, ["gitlab.com"]],
  ];
  for (const [upstream, r, kept, allowHosts] of cases) {
    realm = r;
    const guarded = guardFetch(base, new URL(upstream), { allowHosts: allowHosts ?? [] });
    const res = await guarded(new Request(`${upstream}/v2/x/manifests/1`));
    assertEquals(res.headers.get("www-authenticate") !== null, kept, `${upstream} → ${r}`);
  }
});
