// The renderers are runtime-neutral: bundled for Node 20 they must print exactly what they print on Deno.
import { assertEquals, assertStringIncludes } from "../../../test/_assert.ts";
import * as esbuild from "npm:esbuild@^0.28.2";
import { npmSpecifiers } from "../../../build/npm_specifiers.ts";
import { scenario } from "./_node_scenario.ts";

Deno.test("createRenderer() output on Node is byte for byte the output on Deno", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tug-progress-node-" });
  try {
    const here = new URL(".", import.meta.url).pathname;
    await esbuild.build({
      stdin: {
        contents:
          'import { scenario } from "./_node_scenario.ts";\nprocess.stdout.write(await scenario());\n',
        resolveDir: here,
        loader: "ts",
      },
      outfile: `${dir}/scenario.mjs`,
      bundle: true,
      plugins: [npmSpecifiers()],
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "error",
    });
    await esbuild.stop();
    const output = await new Deno.Command("node", {
      args: [`${dir}/scenario.mjs`],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assertEquals(output.code, 0, `node failed: ${stderr}`);
    const expected = await scenario();
    assertStringIncludes(expected, "\x1b[2Ka1b2c3d4e5f6: Extracting [");
    assertEquals(new TextDecoder().decode(output.stdout), expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
