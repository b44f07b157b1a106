/**
 * Deno std's rule for the page's code: a `_`-prefixed module is private to its folder, so nothing under
 * web/ imports one from another folder (web/ once imported src/image/_header_of.ts).
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
    else if (entry.isFile && entry.name.endsWith(".ts")) yield path;
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
      const sameFolder = new URL(".", to).href === new URL(".", from).href;
      if (name.startsWith("_") && !sameFolder) {
        out.push(`${path} → ${to.pathname.slice(ROOT.pathname.length)}`);
      }
    }
  }
  return out;
}

Deno.test("web/ imports no `_` module of another folder", async () => {
  assertEquals(await privateImports("web"), []);
});

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
