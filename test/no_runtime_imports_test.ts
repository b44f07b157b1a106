// The core under src/ must run in a browser: no node:* imports, no Deno.* calls, nothing from adapters/.
import { assertEquals } from "./_assert.ts";

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) yield path;
  }
}

const root = new URL("../src", import.meta.url).pathname;

Deno.test("src/ imports no runtime module, uses no Deno.* and nothing from adapters/", async () => {
  const offences: string[] = [];
  let files = 0;
  for await (const file of walk(root)) {
    files++;
    const text = await Deno.readTextFile(file);
    // Strip comments so a sentence about Deno.serve in a comment does not count.
    const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
    if (/(from\s+|import\s*\(\s*)["']node:/.test(code)) offences.push(`${file}: imports node:*`);
    if (/(from\s+|import\s*\(\s*)["'](\.\.\/)+adapters\//.test(code)) {
      offences.push(`${file}: imports adapters/`);
    }
    if (/\bDeno\s*\.\s*[A-Za-z]/.test(code)) offences.push(`${file}: uses Deno.*`);
    if (/\bprocess\s*\.\s*(env|argv|exit|stdout|stderr)\b/.test(code)) {
      offences.push(`${file}: uses process.*`);
    }
    if (!text.startsWith("// This module is browser compatible.")) {
      offences.push(`${file}: lacks the "// This module is browser compatible." header`);
    }
  }
  assertEquals(offences, []);
  if (files < 5) throw new Error(`expected the core's files under ${root}, found ${files}`);
});
