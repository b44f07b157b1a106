// `deno task compile`'s binary pulls from outside the repository. Not yet in the suite (its name does not end
// in _test.ts): `deno compile` downloads the `denort` runtime from dl.deno.land, which this machine cannot
// reach; with DENORT_BIN naming a denort binary of this Deno version (or with the network), run it with
// `deno test -A test/compiled_binary_check.ts`, then rename it to compiled_binary_test.ts. The suite's one-binary
// test is test/sea_binary_test.ts (`deno task compile:node`, a Node single executable application, offline).
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { tempDir } from "./_cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

Deno.test("deno task compile builds one tug binary that pulls from outside the repository", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-compile-");
  const binary = `${tmp.dir}/tug`;
  // deno.json's compile task, writing to the temporary folder instead of dist/.
  const task: string = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks.compile;
  const [, ...args] = task.replace("-o dist/tug", `-o ${binary}`).split(" ");
  const compile = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(100_000),
  }).output();
  const stderr = decoder.decode(compile.stderr);
  if (compile.code !== 0) {
    throw new Error(
      `deno compile failed${
        /dl\.deno\.land|dns error|denort/i.test(stderr)
          ? ": it needs the denort runtime from dl.deno.land (unreachable here); set DENORT_BIN to a denort binary"
          : ""
      }\n${stderr}`,
    );
  }
  const pulled = await new Deno.Command(binary, {
    args: ["pull", "--store", `${tmp.dir}/store`, images.small.reference],
    cwd: tmp.dir,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  assertEquals(pulled.code, 0, decoder.decode(pulled.stderr));
  assertStringIncludes(decoder.decode(pulled.stdout), `Digest: ${images.small.manifestDigest}\n`);
});
