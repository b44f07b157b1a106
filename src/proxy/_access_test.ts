import { assertEquals } from "../../test/_assert.ts";
import { AccessCache, confirmedChildren } from "./_access.ts";

const d = (c: string) => `sha256:${c.repeat(64)}`;
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const desc = (digest: string, extra: Record<string, unknown> = {}) => ({
  mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
  digest,
  size: 1,
  ...extra,
});

Deno.test("confirmedChildren() takes config and layers of an image manifest, and nothing from subject, blobs or annotations", () => {
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: desc(d("c"), { mediaType: "application/vnd.oci.image.config.v1+json" }),
    layers: [desc(d("1")), desc(d("2"), { annotations: { "org.example": d("a") } })],
    subject: desc(d("s")),
    blobs: [desc(d("b"))],
    annotations: { "org.example.digest": d("e") },
  };
  assertEquals(confirmedChildren(json(manifest)), [d("c"), d("1"), d("2")]);
  assertEquals(confirmedChildren(manifest), [d("c"), d("1"), d("2")]);
});

Deno.test("confirmedChildren() skips foreign and non-distributable layers and any descriptor with urls", () => {
  const manifest = {
    schemaVersion: 2,
    config: desc(d("c")),
    layers: [
      desc(d("1"), {
        mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        urls: ["https://x"],
      }),
      desc(d("2"), { mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" }),
      desc(d("3"), { urls: ["https://x"] }),
      desc(d("4")),
    ],
  };
  assertEquals(confirmedChildren(json(manifest)), [d("c"), d("4")]);
});

Deno.test("confirmedChildren() takes an index's manifests, schema1 fsLayers, and nothing from garbage", () => {
  const index = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [desc(d("m"), { mediaType: "application/vnd.oci.image.manifest.v1+json" })],
    subject: desc(d("s")),
  };
  assertEquals(confirmedChildren(json(index)), [d("m")]);
  const schema1 = {
    schemaVersion: 1,
    fsLayers: [{ blobSum: d("1") }, { blobSum: d("2") }],
    config: desc(d("x")),
  };
  assertEquals(confirmedChildren(json(schema1)), [d("1"), d("2")]);
  for (const bad of ["not json", "null", "[1]", '"x"', '{"layers":"x"}']) {
    assertEquals(confirmedChildren(new TextEncoder().encode(bad)), [], bad);
  }
});

Deno.test("AccessCache.mayRead() holds per caller and repository, and for the TTL only", () => {
  let clock = 0;
  const access = new AccessCache(1000, () => clock);
  const alice = { caller: "alice", repository: "up/private" };
  access.confirm(alice, d("1"));
  assertEquals(access.mayRead(alice, d("1")), true);
  assertEquals(access.mayRead({ caller: "anonymous", repository: "up/private" }, d("1")), false);
  assertEquals(access.mayRead({ caller: "alice", repository: "up/public" }, d("1")), false);
  assertEquals(access.mayRead(alice, d("2")), false);
  clock = 1000;
  assertEquals(access.mayRead(alice, d("1")), false);
  // Stale (the upstream down): the same caller still, nobody else.
  assertEquals(access.mayRead(alice, d("1"), true), true);
  assertEquals(access.mayRead({ caller: "bob", repository: "up/private" }, d("1"), true), false);
  // A new grant (another request answered 2xx) does not refresh an old confirmation.
  access.grant(alice);
  assertEquals(access.mayRead(alice, d("1")), false);
});

Deno.test("AccessCache.revoke() ends every confirmation of the caller in the repository, also for stale serving", () => {
  const access = new AccessCache(60_000, () => 0);
  const alice = { caller: "alice", repository: "up/private" };
  const elsewhere = { caller: "alice", repository: "up/other" };
  access.confirmManifest(
    alice,
    d("m"),
    json({ schemaVersion: 2, config: desc(d("c")), layers: [desc(d("1"))] }),
  );
  access.confirm(elsewhere, d("1"));
  for (const x of ["m", "c", "1"]) assertEquals(access.mayRead(alice, d(x)), true, x);
  access.revoke(alice);
  access.grant(alice);
  for (const x of ["m", "c", "1"]) {
    assertEquals(access.mayRead(alice, d(x)), false, x);
    assertEquals(access.mayRead(alice, d(x), true), false, x);
  }
  assertEquals(access.mayRead(elsewhere, d("1")), true);
  // Confirmed again after the revocation: valid.
  access.confirm(alice, d("1"));
  assertEquals(access.mayRead(alice, d("1")), true);
});

Deno.test("AccessCache.gone() ends every caller's confirmation of the digest in that repository only", () => {
  const access = new AccessCache(60_000, () => 0);
  const a = { caller: "alice", repository: "up/private" };
  const c = { caller: "carol", repository: "up/private" };
  const other = { caller: "alice", repository: "up/other" };
  for (const s of [a, c, other]) access.confirm(s, d("1"));
  access.confirm(a, d("2"));
  access.gone("up/private", d("1"));
  assertEquals(access.mayRead(a, d("1")), false);
  assertEquals(access.mayRead(c, d("1"), true), false);
  assertEquals(access.mayRead(other, d("1")), true);
  assertEquals(access.mayRead(a, d("2")), true);
  // A later upstream answer brings it back, for that caller only.
  access.confirm(c, d("1"));
  assertEquals(access.mayRead(c, d("1")), true);
  assertEquals(access.mayRead(a, d("1")), false);
});

Deno.test("AccessCache.authorize() asks only without a fresh confirmation, confirms on success, serves stale only when down", async () => {
  let clock = 0;
  const access = new AccessCache(1000, () => clock);
  const alice = { caller: "alice", repository: "up/private" };
  let asked = 0;
  const ok = () => {
    asked++;
    return Promise.resolve();
  };
  const down = new Error("down");
  const denied = new Error("denied");
  const isDown = (err: unknown) => err === down;
  assertEquals(await access.authorize(alice, d("1"), ok, isDown), { ok: true, stale: false });
  assertEquals(await access.authorize(alice, d("1"), ok, isDown), { ok: true, stale: false });
  assertEquals(asked, 1);
  clock = 5000;
  assertEquals(await access.authorize(alice, d("1"), () => Promise.reject(down), isDown), {
    ok: true,
    stale: true,
  });
  assertEquals(await access.authorize(alice, d("1"), () => Promise.reject(denied), isDown), {
    ok: false,
    error: denied,
  });
  const bob = { caller: "bob", repository: "up/private" };
  assertEquals(await access.authorize(bob, d("1"), () => Promise.reject(down), isDown), {
    ok: false,
    error: down,
  });
  // A manifest's bytes returned by the question confirm its typed children too.
  const manifest = json({
    schemaVersion: 2,
    config: desc(d("c")),
    layers: [desc(d("l"))],
    subject: desc(d("s")),
  });
  assertEquals(await access.authorize(bob, d("m"), () => Promise.resolve(manifest), isDown), {
    ok: true,
    stale: false,
  });
  assertEquals([d("m"), d("c"), d("l"), d("s")].map((x) => access.mayRead(bob, x)), [
    true,
    true,
    true,
    false,
  ]);
});

Deno.test("AccessCache.authorize() shares one question among concurrent calls of one caller for one digest, not across callers", async () => {
  const access = new AccessCache(1000, () => 0);
  const alice = { caller: "alice", repository: "up/private" };
  const bob = { caller: "bob", repository: "up/private" };
  let asked = 0;
  let answer!: () => void;
  const question = () => {
    asked++;
    return new Promise<void>((resolve) => answer = resolve);
  };
  const first = access.authorize(alice, d("1"), question, () => false);
  const second = access.authorize(alice, d("1"), question, () => false);
  assertEquals(asked, 1);
  answer();
  assertEquals(await Promise.all([first, second]), [{ ok: true, stale: false }, { ok: true, stale: false }]);
  // Another caller asks with its own credentials.
  const third = access.authorize(bob, d("1"), question, () => false);
  assertEquals(asked, 2);
  answer();
  assertEquals(await third, { ok: true, stale: false });
  // A failure reaches every joined call, each deciding with its own isDown (no confirmation: refused).
  const down = new Error("down");
  let fail!: (err: unknown) => void;
  const failing = () => {
    asked++;
    return new Promise<void>((_, reject) => fail = reject);
  };
  const a = access.authorize(alice, d("2"), failing, () => true);
  const b = access.authorize(alice, d("2"), failing, () => false);
  assertEquals(asked, 3);
  fail(down);
  assertEquals(await Promise.all([a, b]), [{ ok: false, error: down }, { ok: false, error: down }]);
  // Settled questions are not reused: the next call asks again.
  const c = access.authorize(alice, d("2"), ok, () => false);
  assertEquals(await c, { ok: true, stale: false });
  assertEquals(asked, 4);
  function ok() {
    asked++;
    return Promise.resolve();
  }
});
