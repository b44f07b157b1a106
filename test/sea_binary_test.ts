// `deno task compile:node` (adapters/cli/build_sea.ts) builds one `tug` binary, a Node single executable
// application, that runs on its own: copied to a folder outside the repository, with no `node` on PATH and no
// node_modules in that folder or above it, it pulls and unpacks from the real registry as the Deno command does.
// (`deno task compile`, Deno's own binary, has its manual check in test/compiled_binary_check.ts: it needs
// dl.deno.land.)
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { openStore, readBlob, runTug, tempDir } from "./_cli.ts";
import { dirname, join } from "node:path";
import { createHash } from "node:crypto";

const ROOT = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

Deno.test("deno task compile:node builds one tug binary that pulls with no node, node_modules or repository", async () => {
  const { registry, images } = await sharedRegistry();
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  await using run = await tempDir("tug-sea-run-");
  const binary = `${run.dir}/tug`;
  {
    await using build = await tempDir("tug-sea-build-");
    // deno.json's compile:node task, writing to the temporary folder instead of dist/.
    const task: string | undefined = config.tasks["compile:node"];
    assert(task, "deno.json has no compile:node task");
    const [, ...args] = task.split(" ");
    const built = await new Deno.Command(Deno.execPath(), {
      args: [...args, `${build.dir}/tug`],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(100_000),
    }).output();
    assertEquals(built.code, 0, decoder.decode(built.stderr));
    assertStringIncludes(decoder.decode(built.stdout), `${build.dir}/tug: `);
    // Only the binary is left: the bundle, blob and work folder are gone.
    assertEquals([...Deno.readDirSync(build.dir)].map((e) => e.name), ["tug"]);
    await Deno.copyFile(`${build.dir}/tug`, binary);
  }
  await Deno.chmod(binary, 0o755);

  // Nothing of the repository or of Node's module resolution around the binary, and no node to fall back on.
  assert(!binary.startsWith(ROOT), `${binary} is inside the repository`);
  for (let dir = run.dir;; dir = dirname(dir)) {
    assert(!(await exists(join(dir, "node_modules"))), `${dir}/node_modules exists`);
    if (dir === dirname(dir)) break;
  }
  const bin = `${run.dir}/bin`;
  await Deno.mkdir(bin);
  const env = { PATH: bin, HOME: run.dir };
  assert(!(await exists(`${bin}/node`)));
  const tug = (args: string[]) =>
    new Deno.Command("./tug", {
      args,
      cwd: run.dir,
      clearEnv: true,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();

  const version = await tug(["--version"]);
  assertEquals([version.code, decoder.decode(version.stdout)], [0, `tug ${config.version}\n`]);

  const image = images.small;
  const pulled = await tug(["pull", "--store", "store", "--unpack", "rootfs", image.reference]);
  const stdout = decoder.decode(pulled.stdout);
  assertEquals(pulled.code, 0, decoder.decode(pulled.stderr));
  assertStringIncludes(stdout, `Digest: ${image.manifestDigest}\n`);
  assertStringIncludes(stdout, `Status: Downloaded newer image for ${image.reference}\n`);

  const store = await openStore(`${run.dir}/store`);
  assertEquals((await store.references.get(image.reference))?.digest, image.manifestDigest);
  assertEquals(await readBlob(store, image.manifestDigest), image.manifestBytes);
  for (const layer of image.layers) assertEquals((await store.blobs.stat(layer.digest))?.size, layer.size);
  // The unpacked files are the top layer's bytes (decompressed and written by the binary's bundle).
  const files = image.layers.at(-1)!.files.filter((f) => f.type === "file");
  assert(files.length > 0);
  for (const file of files) {
    const bytes = await Deno.readFile(`${run.dir}/rootfs/${file.path}`);
    assertEquals(createHash("sha256").update(bytes).digest("hex"), file.sha256, file.path);
  }

  // `images` prints what the Deno command prints for the same store; `serve` is linked in.
  const listed = await tug(["images", "--store", "store"]);
  assertEquals(listed.code, 0, decoder.decode(listed.stderr));
  assertEquals(
    decoder.decode(listed.stdout),
    (await runTug(["images", "--store", `${run.dir}/store`])).stdout,
  );
  const serve = await tug(["serve", "--help"]);
  assertEquals(serve.code, 0, decoder.decode(serve.stderr));
  assertStringIncludes(decoder.decode(serve.stdout), "Usage: tug serve");

  // `tug serve` from the binary sends its page brotli-compressed and answers from its folder store: the page
  // module and the store load node:zlib and node:fs/promises on first use, which a CommonJS binary cannot do
  // with import().
  const server = new Deno.Command("./tug", {
    args: [
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--store",
      "served",
      "--upstream",
      `up=${registry.url}`,
      "--default-upstream",
      "up",
    ],
    cwd: run.dir,
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(server.stderr).text();
  const kill = setTimeout(() => server.kill("SIGKILL"), 60_000);
  try {
    const lines = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    let url: string | undefined;
    // Bounded: the process prints the line or ends (and is killed after 60 s).
    while ((url = /listening on (http:\/\/\S+)/.exec(text)?.[1]) === undefined) {
      const { done, value } = await lines.read();
      if (done) break;
      text += value;
    }
    lines.releaseLock();
    server.stdout.cancel().catch(() => {});
    assert(url !== undefined, `tug serve printed no URL: ${text}`);
    const page = await fetch(`${url}/`, { headers: { "accept-encoding": "br" } });
    await page.body?.cancel();
    assertEquals([page.status, page.headers.get("content-encoding")], [200, "br"]);
    const blob = await fetch(`${url}/v2/${images.small.repository}/blobs/${images.small.layers[0].digest}`);
    assertEquals([blob.status, (await blob.bytes()).length], [200, images.small.layers[0].size]);
  } finally {
    clearTimeout(kill);
    server.kill("SIGTERM");
    await server.status;
    await stderr;
  }
});

Deno.test("deno task compile:node with no usable node names it, and writes nothing", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const [, ...args] = (config.tasks["compile:node"] as string).split(" ");
  await using tmp = await tempDir("tug-sea-fail-");
  const built = await new Deno.Command(Deno.execPath(), {
    args: [...args, `${tmp.dir}/out/tug`],
    cwd: ROOT,
    env: { NODE: `${tmp.dir}/no-such-node` },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  assertEquals(built.code, 1);
  assertStringIncludes(
    decoder.decode(built.stderr),
    `${tmp.dir}/no-such-node not found: the one-binary build copies Node 20+ (set NODE to its path)`,
  );
  assert(!(await exists(`${tmp.dir}/out`)));
});
