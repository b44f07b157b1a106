// tug rmi / prune / image / login / logout and --help, run as the real command against real registries: the
// shared registry (images under manage/*) for the store commands, an htpasswd registry for login.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { buildImage, type BuiltImage, pushImage, sharedRegistry, startRegistry } from "./harness/mod.ts";
import { MAIN, openStore, runTug, tempDir } from "./_cli.ts";

const te = new TextEncoder();

/** Runs `tug ARGS…` with `input` on stdin (runTug's stdin is closed). */
async function runTugWithStdin(args: string[], input: string, env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { TUG_CONFIG: "/nonexistent/tug-test-config.json", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(te.encode(input));
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Every blob digest in the store. */
async function blobDigests(dir: string): Promise<Set<string>> {
  const store = await openStore(dir);
  const out = new Set<string>();
  for await (const b of store.blobs.list()) out.add(b.digest);
  return out;
}

/** Makes every blob look written an hour ago (past the grace period). */
async function ageBlobs(dir: string): Promise<void> {
  const past = new Date(Date.now() - 3600_000);
  for await (const e of Deno.readDir(`${dir}/blobs/sha256`)) {
    await Deno.utime(`${dir}/blobs/sha256/${e.name}`, past, past);
  }
}

function deleted(stdout: string): string[] {
  return stdout.split("\n").filter((l) => l.startsWith("Deleted: sha256:")).map((l) => l.slice(9)).sort();
}

/** Two images sharing their bottom layer, pushed to the shared registry as manage/a:v1 and manage/b:v1. */
async function sharedLayerImages(): Promise<{ host: string; a: BuiltImage; b: BuiltImage }> {
  const { registry } = await sharedRegistry();
  const base = { entries: [{ path: "etc/os-release", content: "ID=manage\n" }] };
  const a = await buildImage({ layers: [base, { entries: [{ path: "a.txt", content: "only in a\n" }] }] });
  const b = await buildImage({ layers: [base, { entries: [{ path: "b.txt", content: "only in b\n" }] }] });
  assertEquals(a.layers[0].digest, b.layers[0].digest);
  await pushImage(registry, "manage/a", a, "v1");
  await pushImage(registry, "manage/b", b, "v1");
  return { host: registry.host, a, b };
}

Deno.test("tug rmi keeps layers another image still uses; the grace period keeps fresh blobs for tug prune", async () => {
  const { host, a, b } = await sharedLayerImages();
  await using tmp = await tempDir();
  const store = `${tmp.dir}/store`;
  for (const repo of ["manage/a", "manage/b"]) {
    const pulled = await runTug(["pull", "-q", "--store", store, `${host}/${repo}:v1`]);
    assertEquals(pulled.code, 0, pulled.stderr);
  }
  const shared = a.layers[0].digest;
  const aOnly = [a.manifestDigest, a.config.digest, a.layers[1].digest].sort();
  const bOnly = [b.manifestDigest, b.config.digest, b.layers[1].digest].sort();

  // --force: no grace period. a's own blobs go; the shared layer stays for b.
  const rmA = await runTug(["rmi", "--force", "--store", store, `${host}/manage/a:v1`]);
  assertEquals(rmA.code, 0, rmA.stderr);
  assertEquals(
    rmA.stdout.split("\n").filter((l) => l.startsWith("Untagged: ")),
    [`Untagged: ${host}/manage/a:v1`, `Untagged: ${host}/manage/a@${a.manifestDigest}`],
  );
  assertEquals(deleted(rmA.stdout), aOnly);
  let blobs = await blobDigests(store);
  assert(blobs.has(shared), "the shared layer was deleted while manage/b uses it");
  for (const d of [...bOnly, shared]) assert(blobs.has(d), `${d} of manage/b was deleted`);
  for (const d of aOnly) assert(!blobs.has(d), `${d} of manage/a is still there`);
  const verified = await runTug(["verify", "--store", store]);
  assertEquals(verified.code, 0, verified.stdout);
  assertStringIncludes(verified.stdout, "The store is sound.");

  // An unknown name: docker's message, exit 1.
  const missing = await runTug(["rmi", "--store", store, `${host}/manage/nope:v1`]);
  assertEquals(missing.code, 1);
  assertEquals(missing.stderr, `Error: No such image: ${host}/manage/nope:v1\n`);

  // Without --force, blobs written within the grace period stay (a pull elsewhere may be using them).
  const rmB = await runTug(["image", "rm", "--store", store, `${host}/manage/b:v1`]);
  assertEquals(rmB.code, 0, rmB.stderr);
  assertEquals(deleted(rmB.stdout), []);
  assertMatch(rmB.stderr, /Kept 4 blobs .* written in the last 10 minutes/);
  assertEquals((await (await openStore(store)).references.list()).length, 0);
  assertEquals((await blobDigests(store)).size, 4);
  const early = await runTug(["prune", "--store", store]);
  assertEquals(early.code, 0, early.stderr);
  assertEquals(deleted(early.stdout), []);
  assertStringIncludes(early.stdout, "Total reclaimed space: 0B");

  // Past the grace period: --dry-run lists them, prune deletes them; the store stays sound.
  await ageBlobs(store);
  const dry = await runTug(["prune", "--dry-run", "--store", store]);
  assertEquals(dry.code, 0, dry.stderr);
  assertEquals(
    dry.stdout.split("\n").filter((l) => l.startsWith("Would delete: sha256:")).map((l) => l.slice(14))
      .sort(),
    [...bOnly, shared].sort(),
  );
  assertEquals((await blobDigests(store)).size, 4);
  const pruned = await runTug(["prune", "--store", store]);
  assertEquals(pruned.code, 0, pruned.stderr);
  assertEquals(deleted(pruned.stdout), [...bOnly, shared].sort());
  assertMatch(pruned.stdout, /Total reclaimed space: \d/);
  blobs = await blobDigests(store);
  assertEquals(blobs.size, 0);
  const after = await runTug(["verify", "--store", store]);
  assertEquals(after.code, 0, after.stdout);
});

Deno.test("tug prune deletes no blob while a pull in another process holds a lease; a dead one's lease is ignored", async () => {
  const { host } = await sharedLayerImages();
  await using tmp = await tempDir();
  const store = `${tmp.dir}/store`;
  assertEquals((await runTug(["pull", "-q", "--store", store, `${host}/manage/a:v1`])).code, 0);
  // The pull's lease is gone when it ends.
  assertEquals([...Deno.readDirSync(`${store}/.tug/leases`)].length, 0);
  assertEquals((await runTug(["rmi", "--store", store, `${host}/manage/a:v1`])).code, 0);
  await ageBlobs(store);

  // A lease of a live process (this test's): nothing is deleted, and the message names the process.
  const lease = `${store}/.tug/leases/${Deno.pid}.test`;
  await Deno.writeTextFile(lease, JSON.stringify({ pid: Deno.pid, host: Deno.hostname() }));
  const blocked = await runTug(["prune", "--force", "--store", store]);
  assertEquals(blocked.code, 0, blocked.stderr);
  assertStringIncludes(blocked.stderr, `a pull is running on this store (process ${Deno.pid})`);
  assertEquals(deleted(blocked.stdout), []);
  assertEquals((await blobDigests(store)).size, 4);

  // The lease of a process that exited: removed, and the collection goes ahead.
  await Deno.remove(lease);
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  const stale = `${store}/.tug/leases/${gone.pid}.test`;
  await Deno.writeTextFile(stale, JSON.stringify({ pid: gone.pid, host: Deno.hostname() }));
  const pruned = await runTug(["prune", "--store", store]);
  assertEquals(pruned.code, 0, pruned.stderr);
  assertEquals(deleted(pruned.stdout).length, 4);
  assertEquals(await Deno.stat(stale).then(() => true, () => false), false);
});

Deno.test("tug prune --all removes untagged images (a tag that moved on) and their blobs, keeps tagged ones", async () => {
  const { registry } = await sharedRegistry();
  const old = await buildImage({
    layers: [{ entries: [{ path: "v", content: `old ${crypto.randomUUID()}\n` }] }],
  });
  const current = await buildImage({
    layers: [{ entries: [{ path: "v", content: `new ${crypto.randomUUID()}\n` }] }],
  });
  const repo = `manage/moved-${crypto.randomUUID().slice(0, 8)}`;
  await using tmp = await tempDir();
  const store = `${tmp.dir}/store`;
  await pushImage(registry, repo, old, "v1");
  assertEquals((await runTug(["pull", "-q", "--store", store, `${registry.host}/${repo}:v1`])).code, 0);
  await pushImage(registry, repo, current, "v1");
  assertEquals((await runTug(["pull", "-q", "--store", store, `${registry.host}/${repo}:v1`])).code, 0);

  // Plain prune keeps the old image: its digest reference still names it.
  await ageBlobs(store);
  assertEquals(deleted((await runTug(["prune", "--store", store])).stdout), []);

  const pruned = await runTug(["image", "prune", "--all", "--store", store]);
  assertEquals(pruned.code, 0, pruned.stderr);
  assertStringIncludes(pruned.stdout, `Untagged: ${registry.host}/${repo}@${old.manifestDigest}\n`);
  assertEquals(deleted(pruned.stdout), [old.manifestDigest, old.config.digest, old.layers[0].digest].sort());
  const names = (await (await openStore(store)).references.list()).map((r) => r.name).sort();
  assertEquals(names, [`${registry.host}/${repo}:v1`, `${registry.host}/${repo}@${current.manifestDigest}`]);
  assertEquals((await runTug(["verify", "--store", store])).code, 0);
});

Deno.test("tug login checks the credentials, writes config.json as docker login does; tug pull uses them; tug logout removes them", async () => {
  await using registry = await startRegistry({ auth: { htpasswd: { users: { alice: "s3cret" } } } });
  const image = await buildImage({ layers: [{ entries: [{ path: "hello", content: "hi\n" }] }] });
  await pushImage(registry, "private/app", image, "v1", { username: "alice", password: "s3cret" });
  await using tmp = await tempDir();
  const configDir = `${tmp.dir}/docker`;
  await Deno.mkdir(configDir);
  const configPath = `${configDir}/config.json`;
  const before = JSON.stringify({
    auths: { "other.example.com": { auth: btoa("bob:x") } },
    psFormat: "table",
  });
  await Deno.writeTextFile(configPath, before);
  const env = { DOCKER_CONFIG: configDir };
  const ref = `${registry.host}/private/app:v1`;

  // Wrong password: refused, exit 1, the file untouched.
  const bad = await runTugWithStdin(
    ["login", "--username", "alice", "--password-stdin", registry.host],
    "nope\n",
    env,
  );
  assertEquals(bad.code, 1, bad.stdout);
  assertMatch(
    bad.stderr,
    /^Error: Cannot log in to 127\.0\.0\.1:\d+: unauthorized: incorrect username or password/,
  );
  assertEquals(await Deno.readTextFile(configPath), before);

  const good = await runTugWithStdin(
    ["login", "-u", "alice", "--password-stdin", `http://${registry.host}/`],
    "s3cret\n",
    env,
  );
  assertEquals(good.code, 0, good.stderr);
  assertEquals(good.stdout, "Login Succeeded\n");
  assertStringIncludes(good.stderr, "stored unencrypted");
  const written = JSON.parse(await Deno.readTextFile(configPath));
  assertEquals(written.auths[registry.host], { auth: btoa("alice:s3cret") });
  assertEquals(written.auths["other.example.com"], { auth: btoa("bob:x") });
  assertEquals(written.psFormat, "table");
  assertEquals((await Deno.stat(configPath)).mode! & 0o777, 0o600);

  await using storeDir = await tempDir();
  const pulled = await runTug(["pull", "-q", "--store", storeDir.dir, ref], { env });
  assertEquals(pulled.code, 0, pulled.stderr);

  const out = await runTug(["logout", registry.host], { env });
  assertEquals(out.code, 0, out.stderr);
  assertEquals(out.stdout, `Removing login credentials for ${registry.host}\n`);
  const left = JSON.parse(await Deno.readTextFile(configPath));
  assertEquals(left, { auths: { "other.example.com": { auth: btoa("bob:x") } }, psFormat: "table" });
  const again = await runTug(["logout", registry.host], { env });
  assertEquals(again.stdout, `Not logged in to ${registry.host}\n`);
  const denied = await runTug(["pull", "-q", "--store", `${storeDir.dir}/2`, ref], { env });
  assertEquals(denied.code, 1);
});

Deno.test("tug login and logout go through the credsStore helper when config.json names one", async () => {
  await using registry = await startRegistry({ auth: { htpasswd: { users: { alice: "s3cret" } } } });
  const image = await buildImage({ layers: [{ entries: [{ path: "x", content: "x\n" }] }] });
  await pushImage(registry, "private/helper", image, "v1", { username: "alice", password: "s3cret" });
  await using tmp = await tempDir();
  const bin = `${tmp.dir}/bin`;
  await Deno.mkdir(bin);
  const secretFile = `${tmp.dir}/secret.json`;
  // A docker-credential-helpers program that keeps one entry in a file.
  await Deno.writeTextFile(
    `${bin}/docker-credential-tugtest`,
    `#!/bin/sh\ncase "$1" in\n  store) cat > '${secretFile}' ;;\n  get) cat > /dev/null; ` +
      `if [ -f '${secretFile}' ]; then cat '${secretFile}'; else echo "credentials not found in native keychain"; exit 1; fi ;;\n` +
      `  erase) cat > /dev/null; rm -f '${secretFile}' ;;\nesac\n`,
  );
  await Deno.chmod(`${bin}/docker-credential-tugtest`, 0o755);
  const configDir = `${tmp.dir}/docker`;
  await Deno.mkdir(configDir);
  await Deno.writeTextFile(`${configDir}/config.json`, JSON.stringify({ credsStore: "tugtest" }));
  const env = { DOCKER_CONFIG: configDir, PATH: `${bin}:${Deno.env.get("PATH")}` };

  const login = await runTugWithStdin(
    ["login", "-u", "alice", "--password-stdin", registry.host],
    "s3cret",
    env,
  );
  assertEquals(login.code, 0, login.stderr);
  assertStringIncludes(login.stdout, "Login Succeeded");
  assertEquals(JSON.parse(await Deno.readTextFile(secretFile)), {
    ServerURL: registry.host,
    Username: "alice",
    Secret: "s3cret",
  });
  const config = JSON.parse(await Deno.readTextFile(`${configDir}/config.json`));
  assertEquals(config, { credsStore: "tugtest", auths: { [registry.host]: {} } });

  await using storeDir = await tempDir();
  const pulled = await runTug(["pull", "-q", "--store", storeDir.dir, `${registry.host}/private/helper:v1`], {
    env,
  });
  assertEquals(pulled.code, 0, pulled.stderr);

  const out = await runTug(["logout", registry.host], { env });
  assertEquals(out.code, 0, out.stderr);
  assertEquals(await Deno.stat(secretFile).then(() => true, () => false), false);
  assertEquals(JSON.parse(await Deno.readTextFile(`${configDir}/config.json`)), {
    credsStore: "tugtest",
    auths: {},
  });
});

Deno.test("tug --help for every command exits 0; no arguments prints the usage; usage mistakes exit 2 with a hint", async () => {
  const commands = [
    "pull",
    "images",
    "inspect",
    "verify",
    "unpack",
    "save",
    "serve",
    "rmi",
    "prune",
    "login",
    "logout",
    "image",
  ];
  for (const command of commands) {
    for (const flag of ["--help", "-h"]) {
      const run = await runTug([command, flag]);
      assertEquals(run.code, 0, `${command} ${flag}: ${run.stderr}`);
      assertMatch(run.stdout, /^Usage: tug /, `${command} ${flag}`);
    }
  }
  const bare = await runTug([]);
  assertEquals(bare.code, 0);
  assertMatch(bare.stdout, /^Usage: tug COMMAND/);
  assertStringIncludes(bare.stdout, "  rmi NAME…");

  const flag = await runTug(["rmi", "--bogus", "x"]);
  assertEquals(flag.code, 2);
  assertEquals(flag.stderr, "tug: unknown flag: --bogus\nSee 'tug rmi --help'.\n");
  const command = await runTug(["frobnicate"]);
  assertEquals(command.code, 2);
  assertStringIncludes(command.stderr, `unknown command "frobnicate"`);
  const sub = await runTug(["image", "frob"]);
  assertEquals(sub.code, 2);
  const login = await runTug(["login", "--username", "alice", "127.0.0.1:1"]);
  assertEquals(login.code, 2);
  assertStringIncludes(login.stderr, "non TTY");
});
