import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
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
  for (const h of ["registry-1.docker.io", "8.8.8.8", "172.32.0.1", "[2001:db8::1]"]) {
    assert(!isPrivateHost(h), h);
  }
});

Deno.test("guardFetch() allows the upstream and public hosts, refuses private ones before connecting", async () => {
  const calls: string[] = [];
  const base = (req: Request) => {
    calls.push(req.url);
    return Promise.resolve(new Response("ok"));
  };
  const guarded = guardFetch(base, new URL("http://127.0.0.1:5000"), ["10.0.0.5"]);
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
  const guarded = guardFetch(base, new URL("https://registry-1.docker.io"), []);
  const off = await guarded(new Request("https://registry-1.docker.io/v2/x/manifests/1"));
  assertEquals(off.headers.get("www-authenticate"), null);
  realm = "https://auth.docker.io/token";
  const on = await guarded(new Request("https://registry-1.docker.io/v2/x/manifests/1"));
  assertEquals(on.headers.get("www-authenticate"), `Bearer realm="${realm}"`);
});
