// The `tug` command as a new user meets it: real subprocesses against the harness's real registry, with the
// real podman and skopeo reading what it writes, and Docker's exact strings where Docker prints them.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { fixtureImages, pushImage, sharedRegistry, startRegistry } from "./harness/mod.ts";
import { MAIN, openStore, runTool, runTug, tempDir } from "./_cli.ts";
import { humanSize } from "../adapters/cli/progress/mod.ts";
import { hostPlatform } from "../adapters/cli/host.ts";

const ISOLATED_ENV = {
  DOCKER_CONFIG: "/nonexistent/tug-test-docker-config",
  TUG_CONFIG: "/nonexistent/tug-test-config.json",
};

/** Every file and folder under `dir` (relative paths), sorted: to show a command wrote nothing there. */
async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const entry of Deno.readDir(`${dir}/${rel}`)) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      out.push(path);
      if (entry.isDirectory) await walk(path);
    }
  };
  await walk("");
  return out.sort();
}

/** The shared registry with one extra image pushed under `repository:tag` (pushed once per process). */
const pushed = new Map<string, Promise<string>>();
function pushOnce(
  repository: string,
  tag: string,
  which: "small" | "multiAmd64" | "multiArm64",
): Promise<string> {
  const key = `${repository}:${tag}`;
  let p = pushed.get(key);
  if (!p) {
    p = (async () => {
      const { registry } = await sharedRegistry();
      await pushImage(registry, repository, (await fixtureImages())[which], tag);
      return `${registry.host}/${repository}`;
    })();
    pushed.set(key, p);
  }
  return p;
}

Deno.test("tug save NAME without a tag writes NAME:latest: podman load names it, the oci-archive keeps ref.name", async () => {
  const name = await pushOnce("tug/newuser-latest", "latest", "small");
  await using tmp = await tempDir("tug-save-latest-");
  const store = `${tmp.dir}/store`;
  const pulled = await runTug(["pull", "-q", "--store", store, name]);
  assertEquals(pulled.code, 0, pulled.stderr);
  const docker = `${tmp.dir}/docker.tar`;
  const saved = await runTug(["save", "--store", store, "-o", docker, name]);
  assertEquals(saved.code, 0, saved.stderr);
  const podman = (...args: string[]) =>
    runTool("podman", [
      "--root",
      `${tmp.dir}/root`,
      "--runroot",
      `${tmp.dir}/run`,
      "--storage-driver",
      "vfs",
      ...args,
    ]);
  const said = await podman("load", "-i", docker);
  assertStringIncludes(said, `Loaded image: ${name}:latest`);
  const small = (await fixtureImages()).small;
  assertEquals(
    JSON.parse(await podman("image", "inspect", `${name}:latest`))[0].Id,
    small.config.digest.slice(7),
  );

  // skopeo finds an image in an OCI layout by its ref.name annotation (`oci-archive:FILE:latest`), and only
  // among OCI media types: an OCI image for this part.
  const ociName = await pushOnce("tug/newuser-latest-oci", "latest", "multiAmd64");
  assertEquals((await runTug(["pull", "-q", "--store", store, ociName])).code, 0);
  const oci = `${tmp.dir}/oci.tar`;
  const savedOci = await runTug(["save", "--store", store, "--format", "oci-archive", "-o", oci, ociName]);
  assertEquals(savedOci.code, 0, savedOci.stderr);
  const inspected = JSON.parse(await runTool("skopeo", ["inspect", `oci-archive:${oci}:latest`]));
  assertEquals(inspected.Digest, (await fixtureImages()).multiAmd64.manifestDigest);
});

Deno.test("tug commands other than pull and serve refuse a folder that is not a store, name it, and create nothing", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-not-a-store-");
  const dir = `${tmp.dir}/etc`;
  await Deno.mkdir(dir);
  await Deno.writeTextFile(`${dir}/hosts`, "127.0.0.1 localhost\n");
  const missing = `${tmp.dir}/missing`;
  const ref = images.small.reference;
  const commands = [
    ["images"],
    ["images", "--digests"],
    ["inspect", ref],
    ["verify"],
    ["verify", "--repair"],
    ["save", "-o", `${tmp.dir}/out.tar`, ref],
    ["unpack", ref, `${tmp.dir}/rootfs`],
    ["rmi", ref],
    ["prune"],
    ["image", "ls"],
  ];
  for (const folder of [dir, missing]) {
    for (const command of commands) {
      const run = await runTug([command[0], ...command.slice(1), "--store", folder]);
      const what = `tug ${command.join(" ")} --store ${folder}`;
      assertEquals(run.code, 1, `${what}: ${run.stderr}`);
      assertEquals(
        run.stderr,
        `Error: ${folder} is not a tug store: it has no oci-layout file ('tug pull' creates a store; ` +
          `--store or $TUG_STORE names one)\n`,
        what,
      );
      assertEquals(run.stdout, "", what);
    }
  }
  assertEquals(await listing(dir), ["hosts"]);
  assertEquals(await listing(tmp.dir), ["etc", "etc/hosts"]);
  // $TUG_STORE is refused the same way.
  const env = await runTug(["images"], { env: { TUG_STORE: dir } });
  assertEquals(env.code, 1);
  assertStringIncludes(env.stderr, `${dir} is not a tug store`);
  assertEquals(await listing(dir), ["hosts"]);
});

Deno.test("tug images, verify and inspect read an OCI layout another tool wrote without writing into it", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-foreign-layout-");
  const layout = `${tmp.dir}/layout`;
  await runTool("skopeo", [
    "copy",
    "--src-tls-verify=false",
    `docker://${images.zstd.reference}`,
    `oci:${layout}:v1`,
  ]);
  const before = await listing(layout);
  const list = await runTug(["images", "--store", layout]);
  assertEquals(list.code, 0, list.stderr);
  const verify = await runTug(["verify", "--store", layout]);
  assertEquals(verify.code, 0, verify.stderr);
  assertStringIncludes(verify.stdout, "The store is sound.");
  assertEquals(await listing(layout), before);
  // A command that changes the store may add the store's own .tug/ (locks, leases) to such a layout.
  const prune = await runTug(["prune", "--store", layout]);
  assertEquals(prune.code, 0, prune.stderr);
});

Deno.test("tug serve on an address in use prints one line naming it and exits 1 (Deno and Node)", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const address = `127.0.0.1:${taken.addr.port}`;
  await using tmp = await tempDir("tug-serve-busy-");
  const bundle = await buildBundle(tmp.dir);
  for (const runtime of ["deno", "node"] as const) {
    const run = await runTug(["serve", "--no-web", "--listen", address, "--store", `${tmp.dir}/store`], {
      runtime,
      bundle,
    });
    assertEquals(run.code, 1, `${runtime}: ${run.stderr}`);
    // The wording of Go's net.Listen, as the distribution registry prints it.
    assertEquals(run.stderr, `Error: listen tcp ${address}: bind: address already in use\n`, runtime);
    assertEquals(run.stdout, "");
  }
});

Deno.test("tug pull takes combined short flags (-qv) as docker does", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir();
  const run = await runTug(["pull", "-qv", "--store", tmp.dir, images.small.reference]);
  assertEquals(run.code, 0, run.stderr);
  assertEquals(run.stdout, `${images.small.reference}\n`);
  assertMatch(run.stderr, /^attempt: http:\/\/\S+ \(v2\): pulled: /m);
  // -a and -q together: the all-tags check sees -a (docker/cli's message).
  const both = await runTug(["pull", "-qa", "--store", tmp.dir, images.small.reference]);
  assertEquals(both.code, 2);
  assertEquals(both.stderr, "tug: tag can't be used with --all-tags/-a\n");
  const images2 = await runTug(["images", "-q", "--store", tmp.dir]);
  assertEquals(images2.stdout, `${images.small.reference}\n`);
});

Deno.test("tug pull --platform is checked before the registry is contacted (exit 2, usage error)", async () => {
  await using tmp = await tempDir();
  // Nothing listens on port 1: a check made after contacting the registry would fail on the connection.
  for (const platform of ["foo", "linux/amd64/v3/x", "linux//arm"]) {
    const run = await runTug([
      "pull",
      "--platform",
      platform,
      "--store",
      tmp.dir,
      "127.0.0.1:1/tug/small:v1",
    ]);
    assertEquals(run.code, 2, `${platform}: ${run.stderr}`);
    assertMatch(run.stderr, new RegExp(`^tug: Invalid platform "${platform}": `));
  }
  for (const command of [["save", "-o", `${tmp.dir}/x.tar`], ["unpack"], ["inspect"]]) {
    const args = command[0] === "unpack" ? ["x", `${tmp.dir}/rootfs`] : ["x"];
    const run = await runTug([command[0], ...command.slice(1), "--platform", "foo", ...args]);
    assertEquals(run.code, 2, `${command[0]}: ${run.stderr}`);
    assertMatch(run.stderr, /^tug: Invalid platform "foo": /);
  }
  assertEquals(await listing(tmp.dir), []);
});

Deno.test("tug pull of a single-platform image for another platform warns with Docker's words", async () => {
  const name = `${await pushOnce("tug/newuser-arm", "v1", "multiArm64")}:v1`;
  await using tmp = await tempDir();
  // --platform names another platform: moby's warning for a single-platform image that does not match.
  const plain = await runTug(["pull", "--store", tmp.dir, "--platform", "linux/amd64", name]);
  assertEquals(plain.code, 0, plain.stderr);
  assertEquals(
    plain.stderr,
    `WARNING: image with reference ${name} was found but does not match the specified platform: ` +
      `wanted linux/amd64, actual: linux/arm64/v8\n`,
  );
  const host = await runTug(["pull", "--store", tmp.dir, name]);
  assertEquals(host.code, 0, host.stderr);
  assertEquals(
    host.stderr,
    hostPlatform() === "linux/arm64/v8"
      ? ""
      : `WARNING: The requested image's platform (linux/arm64/v8) does not match ` +
        `the detected host platform (${hostPlatform()}) and no specific platform was requested\n`,
  );
  // The image's own platform: no warning.
  const same = await runTug(["pull", "--store", tmp.dir, "--platform", "linux/arm64", name]);
  assertEquals(same.code, 0, same.stderr);
  assertEquals(same.stderr, "");
});

/**
 * Runs `tug ARGS…` with its stdout a pipe whose reading end is closed before tug starts (as `| head -1`
 * leaves it once head has its line): `sh` waits for a line on stdin before it execs tug, and that line is
 * sent only after the reader is cancelled.
 */
async function runIntoClosedPipe(
  args: string[],
  runtime: "deno" | "node",
  bundle: string,
): Promise<{ code: number; stderr: string }> {
  const tug = runtime === "deno" ? [Deno.execPath(), "run", "-A", MAIN] : ["node", bundle];
  const child = new Deno.Command("sh", {
    args: ["-c", 'IFS= read -r _; exec "$@"', "sh", ...tug, ...args],
    env: ISOLATED_ENV,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).spawn();
  await child.stdout.cancel();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("go\n"));
  await writer.close();
  const out = await child.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("tug pull, images, inspect and save into a closed pipe (| head -1) exit quietly (Deno and Node)", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-epipe-");
  const bundle = await buildBundle(tmp.dir);
  for (const runtime of ["deno", "node"] as const) {
    const store = `${tmp.dir}/${runtime}`;
    const pulled = await runIntoClosedPipe(
      ["pull", "--store", store, images.small.reference],
      runtime,
      bundle,
    );
    assertEquals(pulled, { code: 0, stderr: "" }, runtime);
    // The pull went on to the end: the image is in the store.
    const opened = await openStore(store);
    assertEquals((await opened.references.get(images.small.reference))?.digest, images.small.manifestDigest);
    const others = [["images", "--store", store], ["inspect", "--store", store, images.small.reference], [
      "version",
    ], [
      "--help",
    ]];
    for (const args of others) {
      const run = await runIntoClosedPipe(args, runtime, bundle);
      assertEquals(run, { code: 0, stderr: "" }, `${runtime} ${args.join(" ")}`);
    }
    // An archive cut short is a failure, said in one line without a stack trace.
    const saved = await runIntoClosedPipe(
      ["save", "--store", store, images.small.reference],
      runtime,
      bundle,
    );
    assertEquals(saved.code, 1, `${runtime} save: ${saved.stderr}`);
    assertEquals(saved.stderr, "Error: Cannot write to the output: its reader went away (broken pipe)\n");
  }
});

Deno.test("tug images REPO[:TAG] lists that repository only; --digests adds no duplicate <none> rows; SIZE is labelled", async () => {
  const { images, registry } = await sharedRegistry();
  await using tmp = await tempDir();
  for (const image of [images.small, images.zstd]) {
    assertEquals((await runTug(["pull", "-q", "--store", tmp.dir, image.reference])).code, 0);
  }
  const byDigest = `${registry.host}/${images.small.repository}@${images.small.manifestDigest}`;
  assertEquals((await runTug(["pull", "-q", "--store", tmp.dir, byDigest])).code, 0);
  const repo = `${registry.host}/${images.small.repository}`;
  for (const filter of [repo, images.small.reference]) {
    const run = await runTug(["images", "--store", tmp.dir, filter]);
    assertEquals(run.code, 0, run.stderr);
    const rows = run.stdout.trimEnd().split("\n");
    assertEquals(rows.length, 2, run.stdout);
    assertMatch(rows[0], /^REPOSITORY +TAG +DIGEST +IMAGE ID +CONTENT SIZE$/);
    assertMatch(rows[1], new RegExp(`^${repo} +v1 +${images.small.manifestDigest.slice(0, 19)} `));
    const content = images.small.config.size + images.small.layers.reduce((n, l) => n + l.size, 0);
    assert(rows[1].endsWith(` ${humanSize(content)}`), rows[1]);
    const quiet = await runTug(["images", "-q", "--store", tmp.dir, filter]);
    assertEquals(quiet.stdout, `${images.small.reference}\n`);
  }
  const other = await runTug(["images", "-q", "--store", tmp.dir, `${repo}:v2`]);
  assertEquals([other.code, other.stdout], [0, ""]);
  // The digest reference names the same image as the tag: one row, not a second <none> one.
  const digests = await runTug(["images", "--digests", "--store", tmp.dir, repo]);
  assertEquals(digests.stdout.trimEnd().split("\n").length, 2, digests.stdout);
  assert(!digests.stdout.includes("<none>"), digests.stdout);
  const all = await runTug(["images", "--digests", "-q", "--store", tmp.dir]);
  assertEquals(all.stdout, `${images.small.reference}\n${images.zstd.reference}\n`);
});

Deno.test("tug -v and --version print the version as tug version does", async () => {
  const version = await runTug(["version"]);
  assertMatch(version.stdout, /^tug \d+\.\d+\.\d+/);
  for (const flag of ["-v", "--version"]) {
    const run = await runTug([flag]);
    assertEquals([run.code, run.stdout, run.stderr], [0, version.stdout, ""], flag);
  }
});

Deno.test("tug unpack progress says Extracting for each layer", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir();
  const store = `${tmp.dir}/store`;
  assertEquals((await runTug(["pull", "-q", "--store", store, images.small.reference])).code, 0);
  const run = await runTug(["unpack", "--store", store, images.small.reference, `${tmp.dir}/rootfs`]);
  assertEquals(run.code, 0, run.stderr);
  const lines = run.stdout.trimEnd().split("\n");
  for (const layer of images.small.layers) {
    const id = layer.digest.slice(7, 19);
    assertEquals(lines.filter((l) => l.startsWith(`${id}: `)), [
      `${id}: Extracting`,
      `${id}: Extract complete`,
    ]);
  }
  assertEquals(lines.at(-1), `Unpacked ${images.small.reference} into ${tmp.dir}/rootfs`);
});

Deno.test("tug pull's errors: a refused connection is spelled out; a 401 suggests tug login HOST", async () => {
  await using tmp = await tempDir();
  using closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = closed.addr.port;
  closed.close();
  const bundle = await buildBundle(tmp.dir);
  for (const runtime of ["deno", "node"] as const) {
    const refused = await runTug(["pull", "--store", `${tmp.dir}/s`, `127.0.0.1:${port}/tug/small:v1`], {
      runtime,
      bundle,
    });
    assertEquals(refused.code, 1, runtime);
    assertStringIncludes(refused.stderr, `127.0.0.1:${port}`);
    assertStringIncludes(refused.stderr, "connection refused", runtime);
    assert(!refused.stderr.includes("fetch failed"), refused.stderr);
  }
  // A registry that wants credentials the user has not given: docker's hint to log in, with the host.
  await using registry = await startRegistry({ auth: { htpasswd: { users: { alice: "s3cret" } } } });
  for (const runtime of ["deno", "node"] as const) {
    const denied = await runTug(["pull", "--store", `${tmp.dir}/s`, `${registry.host}/tug/small:v1`], {
      runtime,
      bundle,
    });
    assertEquals(denied.code, 1, runtime);
    assertEquals(denied.stdout, "");
    assert(
      denied.stderr.endsWith(`\nRun 'tug login ${registry.host}' if the registry needs credentials.\n`),
      denied.stderr,
    );
  }
});

/** Builds the Node bundle into `dir` once per test (as node_test.ts does) and returns its path. */
async function buildBundle(dir: string): Promise<string> {
  const bundle = `${dir}/tug.mjs`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../adapters/cli/build_node.ts", import.meta.url).pathname, bundle],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return bundle;
}

/** Reads `stream` into `text.value` until `wanted` shows up (or the stream ends); bounded by the caller's signal. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  text: { value: string },
  wanted: string,
): Promise<void> {
  const decoder = new TextDecoder();
  while (!text.value.includes(wanted)) {
    const { value, done } = await reader.read();
    if (done) return;
    text.value += decoder.decode(value, { stream: true });
  }
}

Deno.test("tug login on a terminal shows Username: and Password:, echoes no password, and logs in (Deno and Node)", async () => {
  await using registry = await startRegistry({ auth: { htpasswd: { users: { alice: "s3cret" } } } });
  await using tmp = await tempDir("tug-login-tty-");
  const bundle = await buildBundle(tmp.dir);
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  for (const runtime of ["deno", "node"] as const) {
    const configDir = `${tmp.dir}/${runtime}`;
    const tug = runtime === "deno" ? [Deno.execPath(), "run", "-A", MAIN] : ["node", bundle];
    const command = [...tug, "login", registry.host].map(quote).join(" ");
    // util-linux `script` runs the command on a pseudo-terminal and relays our stdin to it.
    const child = new Deno.Command("script", {
      args: ["-qfec", command, "/dev/null"],
      env: { ...ISOLATED_ENV, DOCKER_CONFIG: configDir },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).spawn();
    const reader = child.stdout.getReader();
    const writer = child.stdin.getWriter();
    const text = { value: "" };
    await readUntil(reader, text, "Username: ");
    await writer.write(new TextEncoder().encode("alice\r"));
    await readUntil(reader, text, "Password: ");
    assertStringIncludes(text.value, "Password: ", runtime);
    await writer.write(new TextEncoder().encode("s3cret\r"));
    await readUntil(reader, text, "Login Succeeded");
    await readUntil(reader, text, "\u0000never"); // to the end
    await writer.close().catch(() => {});
    const status = await child.status;
    await child.stderr.cancel();
    assertEquals(status.code, 0, `${runtime}: ${text.value}`);
    assertStringIncludes(text.value, "Login Succeeded", runtime);
    // The password is never echoed; the username is.
    assert(!text.value.includes("s3cret"), `${runtime}: ${JSON.stringify(text.value)}`);
    assertMatch(text.value, /Username: alice\r?\n/);
    // Nothing redraws over the prompt: "Password: " stays on the line until Enter ends it.
    assertMatch(text.value, /Password: \r?\n/);
    const config = JSON.parse(await Deno.readTextFile(`${configDir}/config.json`));
    assertEquals(config.auths[registry.host], { auth: btoa("alice:s3cret") });
  }
});

Deno.test("tug commands refuse a wrong number of arguments with docker's message for each (exit 2)", async () => {
  const cases: Array<[string[], string, string]> = [
    [["pull"], "requires 1 argument", "tug pull [OPTIONS] NAME[:TAG|@DIGEST]"],
    [["inspect", "a", "b"], "requires 1 argument", "tug inspect [OPTIONS] NAME[:TAG|@DIGEST]"],
    [["save"], "requires 1 argument", "tug save [OPTIONS] NAME[:TAG|@DIGEST]"],
    [["unpack", "a"], "requires 2 arguments", "tug unpack [OPTIONS] NAME[:TAG|@DIGEST] DIR"],
    [["rmi"], "requires at least 1 argument", "tug rmi [OPTIONS] NAME[:TAG|@DIGEST] [NAME…]"],
    [["verify", "x"], "accepts no arguments", "tug verify [OPTIONS]"],
    [["prune", "x"], "accepts no arguments", "tug prune [OPTIONS]"],
    [["serve", "x"], "accepts no arguments", "tug serve [OPTIONS]"],
    [["images", "a", "b"], "requires at most 1 argument", "tug images [OPTIONS] [REPOSITORY[:TAG]]"],
    [["login", "a", "b"], "requires at most 1 argument", "tug login [OPTIONS] [SERVER]"],
    [["logout", "a", "b"], "requires at most 1 argument", "tug logout [SERVER]"],
  ];
  for (const [argv, problem, use] of cases) {
    const run = await runTug(argv);
    const path = `tug ${argv[0]}`;
    assertEquals(run.code, 2, argv.join(" "));
    assertEquals(
      run.stderr,
      `tug: '${path}' ${problem}\n\nUsage:  ${use}\n\n` +
        `${problem.startsWith("requires at least") ? "See" : "Run"} '${path} --help' for more information\n`,
    );
  }
});
