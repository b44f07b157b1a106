// `tug pull` with credentials from a docker config file, against real registries that require them: htpasswd
// Basic auth, and Bearer tokens from the harness's token server (the registry verifies the JWTs).
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { seedImages, startRegistry, startTokenRegistry } from "./harness/mod.ts";
import { openStore, readBlob, runTug, snapshot, tempDir } from "./_cli.ts";

/** Writes `DIR/config.json` with one `auths` entry, as `docker login` leaves it. */
async function dockerConfig(dir: string, host: string, entry: Record<string, string>): Promise<string> {
  const configDir = `${dir}/docker`;
  await Deno.mkdir(configDir, { recursive: true });
  await Deno.writeTextFile(`${configDir}/config.json`, JSON.stringify({ auths: { [host]: entry } }));
  return configDir;
}

Deno.test("tug pull authenticates with Basic auth from DOCKER_CONFIG against an htpasswd registry", async () => {
  await using registry = await startRegistry({ auth: { htpasswd: { users: { alice: "s3cret" } } } });
  const { small } = await seedImages(registry, { username: "alice", password: "s3cret", only: ["small"] });
  await using tmp = await tempDir();
  const store = `${tmp.dir}/store`;

  // Without credentials: a clear refusal, exit 1, nothing stored.
  const denied = await runTug(["pull", "--store", store, small.reference]);
  assertEquals(denied.code, 1);
  assertEquals(denied.stdout, "");
  assertMatch(denied.stderr, /^Error: .*(denied|unauthorized|authentication required)/i);
  assert(denied.stderr.includes(small.reference.slice(0, -3)), denied.stderr);

  // A wrong password is refused the same way.
  const wrongDir = await dockerConfig(`${tmp.dir}/wrong`, registry.host, { auth: btoa("alice:nope") });
  const wrong = await runTug(["pull", "--store", store, small.reference], {
    env: { DOCKER_CONFIG: wrongDir },
  });
  assertEquals(wrong.code, 1);
  assertMatch(wrong.stderr, /^Error: .*(denied|unauthorized|authentication required)/i);

  const configDir = await dockerConfig(tmp.dir, registry.host, { auth: btoa("alice:s3cret") });
  const run = await runTug(["pull", "--store", store, small.reference], {
    env: { DOCKER_CONFIG: configDir },
  });
  assertEquals(run.code, 0, run.stderr);
  assertEquals(
    run.stdout.trimEnd().split("\n").at(-2),
    `Status: Downloaded newer image for ${small.reference}`,
  );
  const opened = await openStore(store);
  assertEquals((await opened.references.get(small.reference))?.digest, small.manifestDigest);
  assertEquals(await readBlob(opened, small.manifestDigest), small.manifestBytes);
});

Deno.test("tug pull gets Bearer tokens with user/password or an identitytoken from DOCKER_CONFIG", async () => {
  await using both = await startTokenRegistry({ token: { users: { alice: "s3cret" } } });
  const { registry, tokenServer } = both;
  const { small } = await seedImages(registry, { username: "alice", password: "s3cret", only: ["small"] });
  await using tmp = await tempDir();

  // Anonymous: the token server gives an anonymous token without pull access; the registry says no.
  const anonStore = `${tmp.dir}/anon`;
  const denied = await runTug(["pull", "--store", anonStore, small.reference]);
  assertEquals(denied.code, 1);
  assertEquals(denied.stdout, "");
  assertMatch(denied.stderr, /^Error: .*(denied|unauthorized|authentication required)/i);
  assert(denied.stderr.includes(small.reference.slice(0, -3)), denied.stderr);

  // User and password.
  tokenServer.requests.length = 0;
  const basicDir = await dockerConfig(`${tmp.dir}/basic`, registry.host, { auth: btoa("alice:s3cret") });
  const basicStore = `${tmp.dir}/basic-store`;
  const basic = await runTug(["pull", "--store", basicStore, small.reference], {
    env: { DOCKER_CONFIG: basicDir },
  });
  assertEquals(basic.code, 0, basic.stderr);
  assert(tokenServer.requests.some((r) => r.user === "alice" && r.status === 200), "a token for alice");
  assertEquals(
    (await (await openStore(basicStore)).references.get(small.reference))?.digest,
    small.manifestDigest,
  );

  // An identity token (what `docker login` stores for OAuth2 registries), traded with a refresh_token POST.
  const issued = await fetch(
    `${tokenServer.realm}?service=${tokenServer.service}&offline_token=true&account=alice`,
    {
      headers: { authorization: `Basic ${btoa("alice:s3cret")}` },
    },
  );
  const refreshToken = (await issued.json()).refresh_token;
  assertEquals(typeof refreshToken, "string");
  tokenServer.requests.length = 0;
  const idDir = await dockerConfig(`${tmp.dir}/identity`, registry.host, {
    auth: btoa("alice:wrong-password-never-used"),
    identitytoken: refreshToken,
  });
  const idStore = `${tmp.dir}/identity-store`;
  const identity = await runTug(["pull", "--store", idStore, small.reference], {
    env: { DOCKER_CONFIG: idDir },
  });
  assertEquals(identity.code, 0, identity.stderr);
  assert(
    tokenServer.requests.length > 0 &&
      tokenServer.requests.every((r) => r.grantType === "refresh_token" && r.user === "alice"),
    JSON.stringify(tokenServer.requests),
  );
  const opened = await openStore(idStore);
  assertEquals(await readBlob(opened, small.config.digest), small.config.bytes);
  // The refused pull left its store empty of references.
  assertEquals((await openStore(anonStore).then((s) => s.references.list())).length, 0);
  assertEquals(Object.keys((await snapshot(anonStore)).files).sort(), ["index.json", "oci-layout"]);
});
