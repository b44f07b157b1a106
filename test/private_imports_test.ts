/**
 * Deno std's rule: a `_`-prefixed module is private to its folder (and the folders below it), so no module of
 * src/, adapters/ or web/ imports one from elsewhere (web/ once imported src/image/_header_of.ts; the pullers,
 * the proxy and the stores imported registry/ and store/ internals). Tests and their utilities
 * (`*_test.ts`, `*_test_util.ts`) may use test/'s helpers; bench/ is tooling and uses the test rigs.
 *
 * @module
 */

import { assertEquals } from "./_assert.ts";

const ROOT = new URL("../", import.meta.url);

/** Every .ts file under `dir` (relative to the repository root). */
async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory && entry.name !== "node_modules") yield* tsFiles(path);
    else if (entry.isFile && /(?<!_test|_test_util)\.ts$/.test(entry.name)) yield path;
  }
}

/** The relative module specifiers of a file: static imports and re-exports, and `import("…")`. */
function specifiers(text: string): string[] {
  const found = text.matchAll(
    /\bfrom\s+"(\.[^"]+)"|\bimport\s*\(\s*"(\.[^"]+)"\s*\)|\bimport\s+"(\.[^"]+)"/g,
  );
  return [...found].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** `from → to` for each import of a `_` module of another folder than the importer's. */
async function privateImports(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const path of tsFiles(dir)) {
    const from = new URL(path, ROOT);
    for (const spec of specifiers(await Deno.readTextFile(from))) {
      const to = new URL(spec, from);
      const name = to.pathname.slice(to.pathname.lastIndexOf("/") + 1);
      // Its own folder, or one below it (src/pull/legacy/ may use src/pull/_small_blob.ts).
      const inside = new URL(".", from).href.startsWith(new URL(".", to).href);
      if (name.startsWith("_") && !inside) {
        out.push(`${path} → ${to.pathname.slice(ROOT.pathname.length)}`);
      }
    }
  }
  return out;
}

for (const dir of ["src", "adapters", "web"]) {
  Deno.test(`${dir}/ imports no \`_\` module of another folder`, async () => {
    assertEquals(await privateImports(dir), []);
  });
}

Deno.test("privateImports() sees static, side-effect and dynamic imports of a `_` module elsewhere", async () => {
  const dir = await Deno.makeTempDir({ dir: ROOT.pathname, prefix: ".web-private-imports-" });
  try {
    await Deno.mkdir(`${dir}/a`);
    await Deno.writeTextFile(
      `${dir}/a/page.ts`,
      [
        'import { x } from "../b/_x.ts";',
        'export * from "./_own.ts";',
        'import "../b/_side.ts";',
        'const m = await import("../b/_lazy.ts");',
        'import { y } from "../b/public.ts";',
      ].join("\n"),
    );
    // A folder below may use its parent's private modules; a test file is not checked.
    await Deno.mkdir(`${dir}/a/sub`);
    await Deno.writeTextFile(`${dir}/a/sub/child.ts`, 'import { p } from "../_parent.ts";');
    await Deno.writeTextFile(`${dir}/a/page_test.ts`, 'import { t } from "../b/_test_helper.ts";');
    const rel = dir.slice(ROOT.pathname.length);
    assertEquals(await privateImports(rel), [
      `${rel}/a/page.ts → ${rel}/b/_x.ts`,
      `${rel}/a/page.ts → ${rel}/b/_side.ts`,
      `${rel}/a/page.ts → ${rel}/b/_lazy.ts`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
