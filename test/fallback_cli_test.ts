// `tug pull` as a real subprocess against the harness registry: the attempt log (--verbose), the registry
// config file, and --all-tags / -a.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { fixtureImages, pushImage, sharedRegistry } from "./harness/mod.ts";
import { OciLayoutStore } from "../adapters/fs/oci_layout_store.ts";

const MAIN = new URL("../adapters/cli/main.ts", import.meta.url).pathname;

async function tug(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: "/nonexistent-tug-home",
      DOCKER_CONFIG: "/nonexistent-tug-docker-config",
      TUG_CONFIG: "/nonexistent-tug-config.json",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

async function tempDir(): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "tug-fallback-cli-" });
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("tug pull --verbose prints every endpoint attempt to stderr", async () => {
  const { registry, images } = await sharedRegistry();
  await using tmp = await tempDir();
  const run = await tug(["pull", "--verbose", "--store", `${tmp.dir}/store`, images.small.reference]);
  assertEquals(run.code, 0, run.stderr);
  const lines = run.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 2, run.stderr);
  assert(lines[0].startsWith(`attempt: https://${registry.host} (v2): fallback: `), lines[0]);
  assertEquals(lines[1], `attempt: http://${registry.host} (v2): pulled: pulled`);
  // Without --verbose, nothing on stderr.
  const quiet = await tug(["pull", "--store", `${tmp.dir}/store`, images.small.reference]);
  assertEquals([quiet.code, quiet.stderr], [0, ""]);
});

Deno.test("tug pull reads registries from the config file and prints the attempts of a failed pull", async () => {
  const { registry } = await sharedRegistry();
  await using tmp = await tempDir();
  const config = `${tmp.dir}/config.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({ "enable-legacy-registry": true, "insecure-registries": [] }),
  );
  const run = await tug(["pull", "-v", "--store", `${tmp.dir}/store`, `${registry.host}/tug/small:nope`], {
    TUG_CONFIG: config,
  });
  assertEquals(run.code, 1);
  assertStringIncludes(run.stderr, `attempt: http://${registry.host} (v2): fallback: `);
  // The legacy endpoints come from the config file.
  assertStringIncludes(run.stderr, `attempt: https://${registry.host} (v1): `);
  assertStringIncludes(run.stderr, `attempt: http://${registry.host} (v1): `);

  // The file is checked as Docker checks daemon.json: a mirror must be an http(s) URL.
  await Deno.writeTextFile(config, JSON.stringify({ "registry-mirrors": ["mirror.example.com"] }));
  const bad = await tug(["pull", "--store", `${tmp.dir}/store`, "alpine"], { TUG_CONFIG: config });
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, `config file ${config}: Invalid registry mirror "mirror.example.com"`);
});

Deno.test("tug pull -a pulls every tag and refuses a tag or digest as docker pull -a", async () => {
  const { registry } = await sharedRegistry();
  const fixtures = await fixtureImages();
  const repo = `allcli/app${crypto.randomUUID().slice(0, 8)}`;
  for (const tag of ["one", "two"]) await pushImage(registry, repo, fixtures.small, tag);
  await using tmp = await tempDir();
  const withTag = await tug(["pull", "-a", "--store", `${tmp.dir}/store`, `${registry.host}/${repo}:one`]);
  assertEquals(withTag.code, 2);
  assertEquals(withTag.stderr, "tug: tag can't be used with --all-tags/-a\n");

  const run = await tug(["pull", "--all-tags", "--store", `${tmp.dir}/store`, `${registry.host}/${repo}`]);
  assertEquals(run.code, 0, run.stderr);
  assertStringIncludes(run.stdout, `Status: Downloaded newer image for ${registry.host}/${repo}\n`);
  const store = await OciLayoutStore.open(`${tmp.dir}/store`);
  for (const tag of ["one", "two"]) {
    assertEquals(
      (await store.references.get(`${registry.host}/${repo}:${tag}`))?.digest,
      fixtures.small.manifestDigest,
    );
  }
});
