// tug as its users get it, each way tried from a folder outside the repository (no deno.json of ours):
// the Deno module by path, the npm tarball in a fresh Node project, and `deno install -g`.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { tempDir } from "./_cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const DENO = Deno.execPath();
const decoder = new TextDecoder();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd` in `cwd` (bounded: 100 s) and returns its exit code and output. */
async function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(100_000),
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Copies the package's sources (src/, adapters/) to `dir/tug`, the way a user vendors or downloads them. */
async function copyPackage(dir: string): Promise<string> {
  const target = `${dir}/tug`;
  await Deno.mkdir(target);
  const cp = await run("cp", ["-r", `${ROOT}src`, `${ROOT}adapters`, target], dir);
  assertEquals(cp.code, 0, cp.stderr);
  return target;
}

/** deno.json's `exports`: subpath → file. */
async function packageExports(): Promise<Record<string, string>> {
  return JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).exports;
}

Deno.test("the Deno module imported by path outside the repository pulls an image and lists a layer's files", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-by-path-");
  const pkg = await copyPackage(tmp.dir);
  const exports = await packageExports();
  const script = `${tmp.dir}/script.ts`;
  await Deno.writeTextFile(
    script,
    `import { listLayerFiles, pull } from "./tug/src/mod.ts";
import { OciLayoutStore } from "./tug/adapters/fs/mod.ts";

// Every entry point of the package loads without an import map.
for (const file of ${JSON.stringify(Object.values(exports))}) await import("./tug/" + file.slice(2));
const store = await OciLayoutStore.open(Deno.args[1]);
const result = await pull(Deno.args[0], { store });
const manifest = JSON.parse(new TextDecoder().decode(
  await new Response(await store.blobs.get(result.digest)).arrayBuffer(),
));
const layer = manifest.layers[0];
const files = await listLayerFiles(await store.blobs.get(layer.digest), layer.mediaType);
console.log(JSON.stringify({ digest: result.digest, files: files.map((f) => f.name) }));
`,
  );
  // --no-config: nothing above the temporary folder may lend the script an import map.
  const out = await run(DENO, [
    "run",
    "-A",
    "--no-config",
    script,
    images.small.reference,
    `${tmp.dir}/store`,
  ], tmp.dir);
  assertEquals(out.code, 0, out.stderr);
  const result = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
  assertEquals(result.digest, images.small.manifestDigest);
  const expected = images.small.layers[0].files.map((f) => f.path);
  assertEquals(result.files.map((name: string) => name.replace(/^\.\//, "").replace(/\/$/, "")), expected);
  assert(pkg.startsWith(tmp.dir));
});

Deno.test("deno install -g -A -n tug installs a tug command that pulls, from outside the repository", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-deno-install-");
  const pkg = await copyPackage(tmp.dir);
  const root = `${tmp.dir}/root`;
  const install = await run(
    DENO,
    ["install", "-g", "-A", "-n", "tug", "--root", root, `${pkg}/adapters/cli/main.ts`],
    tmp.dir,
  );
  assertEquals(install.code, 0, install.stderr);
  const pulled = await run(
    `${root}/bin/tug`,
    ["pull", "--store", `${tmp.dir}/store`, images.small.reference],
    tmp.dir,
  );
  assertEquals(pulled.code, 0, pulled.stderr);
  assertStringIncludes(pulled.stdout, `Digest: ${images.small.manifestDigest}\n`);
  assertEquals(pulled.stdout.trimEnd().split("\n").at(-1), images.small.reference);
  const version = await run(`${root}/bin/tug`, ["version"], tmp.dir);
  assertEquals([version.code, version.stdout], [0, "tug 0.1.0\n"]);
});

Deno.test("the npm tarball installs into a fresh Node project: import { pull }, npx tug pull, npx tug serve", async () => {
  const { registry, images } = await sharedRegistry();
  await using tmp = await tempDir("tug-npm-");
  const build = await run(DENO, ["run", "-A", `${ROOT}build/npm_package.ts`, `${tmp.dir}/package`], ROOT);
  assertEquals(build.code, 0, build.stderr);
  const pack = await run("npm", ["pack", "--silent", "--pack-destination", tmp.dir], `${tmp.dir}/package`);
  assertEquals(pack.code, 0, pack.stderr);
  const tarball = `${tmp.dir}/${pack.stdout.trim().split("\n").at(-1)}`;

  const project = `${tmp.dir}/project`;
  await Deno.mkdir(project);
  await Deno.writeTextFile(
    `${project}/package.json`,
    JSON.stringify({ name: "p", private: true, type: "module" }),
  );
  const install = await run("npm", ["install", "--no-audit", "--no-fund", tarball], project);
  assertEquals(install.code, 0, install.stderr);
  const manifest = JSON.parse(await Deno.readTextFile(`${project}/node_modules/@tug/tug/package.json`));
  assertEquals(Object.keys(manifest.exports), Object.keys(await packageExports()));
  assertEquals(manifest.engines, { node: ">=20" });

  // The library: every entry point imports on Node, and pull() stores the image.
  await Deno.writeTextFile(
    `${project}/script.mjs`,
    `import { pull } from "@tug/tug";
import { OciLayoutStore } from "@tug/tug/fs";
for (const subpath of ${JSON.stringify(Object.keys(manifest.exports))}) {
  await import(subpath === "." ? "@tug/tug" : "@tug/tug/" + subpath.slice(2));
}
const result = await pull(process.argv[2], { store: await OciLayoutStore.open(process.argv[3]) });
console.log(result.digest);
`,
  );
  const library = await run("node", ["script.mjs", images.small.reference, `${tmp.dir}/lib-store`], project);
  assertEquals(library.code, 0, library.stderr);
  assertEquals(library.stdout.trim(), images.small.manifestDigest);

  // The command.
  const pulled = await run("npx", [
    "tug",
    "pull",
    "-q",
    "--store",
    `${tmp.dir}/cli-store`,
    images.zstd.reference,
  ], project);
  assertEquals(pulled.code, 0, pulled.stderr);
  assertEquals(pulled.stdout, `${images.zstd.reference}\n`);

  // npx tug serve: the registry API through it, and the inspection page at /.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  // setsid: npx starts tug as a child and does not pass SIGTERM on, so the test stops the process group.
  const server = new Deno.Command("setsid", {
    args: [
      "npx",
      "tug",
      "serve",
      "--listen",
      `127.0.0.1:${port}`,
      "--store",
      `${tmp.dir}/serve-store`,
      "--upstream",
      `local=${registry.url}`,
    ],
    cwd: project,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0;; i++) {
      const res = await fetch(`${base}/healthz`).catch(() => undefined);
      await res?.body?.cancel();
      if (res?.ok) break;
      assert(i < 300, "npx tug serve did not start within 30 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    const name = images.small.reference.slice(images.small.reference.indexOf("/") + 1).replace(/:v1$/, "");
    const res = await fetch(`${base}/v2/${name}/manifests/v1`, {
      headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    assertEquals(res.status, 200);
    assertEquals(new Uint8Array(await res.arrayBuffer()), images.small.manifestBytes);
    const page = await fetch(`${base}/`);
    assertEquals(page.status, 200);
    assertStringIncludes(await page.text(), "<script");
  } finally {
    const kill = await new Deno.Command("kill", { args: ["-TERM", "--", `-${server.pid}`] }).output();
    assertEquals(kill.code, 0, decoder.decode(kill.stderr));
    await server.status;
    await server.stderr.cancel();
  }
});

Deno.test("the browser core bundle is one ES module under 60 KiB gzip whose pull() stores an image with its SHA-256 WebAssembly hasher", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-browser-core-");
  const outfile = `${tmp.dir}/tug.browser.js`;
  const build = await run(DENO, ["run", "-A", `${ROOT}build/browser_core.ts`, outfile], ROOT);
  assertEquals(build.code, 0, build.stderr);
  const [, kib, gzipKib] = /: ([\d.]+) KiB, ([\d.]+) KiB gzip/.exec(build.stdout) ?? [];
  assert(Number(gzipKib) > 0 && Number(gzipKib) <= 60, `gzip size ${gzipKib} KiB, bundle ${kib} KiB`);
  const code = await Deno.readTextFile(outfile);
  // None of hash-wasm's other algorithms is in it.
  for (const absent of ["createBLAKE3", "createArgon2", "createBcrypt"]) {
    assert(!code.includes(absent), `${absent} is in the bundle`);
  }
  // The bundle alone, in a Deno process with no config: pull() with the default (WebAssembly) hasher.
  await Deno.writeTextFile(
    `${tmp.dir}/use.mjs`,
    `import { MemoryStore, pull } from "./tug.browser.js";
const store = new MemoryStore();
const result = await pull(Deno.args[0], { store });
console.log(result.digest, (await Array.fromAsync(store.blobs.list())).length);
`,
  );
  const used = await run(DENO, ["run", "-A", "--no-config", "use.mjs", images.small.reference], tmp.dir);
  assertEquals(used.code, 0, used.stderr);
  assertEquals(used.stdout.trim(), `${images.small.manifestDigest} ${2 + images.small.layers.length}`);
});

Deno.test("a first tug pull or library import loads no npm package but the pull's (no Hono, esbuild, workerd, playwright-core)", async () => {
  // What Deno fetches before the program starts: the module graph with its npm packages (dynamic imports
  // with a literal specifier included), read without our deno.json as `deno task pull` runs it.
  const packagesOf = async (entry: string): Promise<string[]> => {
    const out = await run(DENO, ["info", "--no-config", "--json", entry], ROOT);
    assertEquals(out.code, 0, out.stderr);
    return Object.keys(JSON.parse(out.stdout).npmPackages).map((p) => p.replace(/@[^@]+$/, "")).sort();
  };
  // aws4fetch (64 KB, no dependencies) comes with `tug prune --store s3://…`, which the CLI links statically.
  assertEquals(await packagesOf("adapters/cli/main.ts"), ["aws4fetch", "fflate", "fzstd", "hash-wasm"]);
  assertEquals(await packagesOf("src/pull/mod.ts"), ["fflate", "fzstd", "hash-wasm"]);
  // deno task installs every npm package of deno.json's import map and lock file before any task runs.
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  assertEquals([config.imports, config.lock, config.nodeModulesDir], [undefined, false, undefined]);
  assertStringIncludes(config.tasks.pull, "--no-config");
});
