// The shape of src/pull/ (issue I): no import cycles among its modules, and `_private.ts` files imported
// only from their own folder and the folders below it (Deno std's convention), so legacy/_*.ts stay
// legacy/'s own. Read from the sources, so a new file is covered
// without being listed here.
import { assertEquals } from "../../test/_assert.ts";

const ROOT = new URL("./", import.meta.url);

async function* sources(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) yield* sources(new URL(`${entry.name}/`, dir));
    else if (entry.name.endsWith(".ts")) yield new URL(entry.name, dir);
  }
}

/** Every module under src/pull/ (by path relative to it) and the src/pull/ modules it imports. */
async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for await (const file of sources(ROOT)) {
    const text = await Deno.readTextFile(file);
    const deps: string[] = [];
    // Static imports and re-exports, type-only ones included: a type cycle is still a cycle to read.
    for (const match of text.matchAll(/^(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/gms)) {
      const target = new URL(match[1], file).href;
      if (target.startsWith(ROOT.href)) deps.push(target.slice(ROOT.href.length));
    }
    graph.set(file.href.slice(ROOT.href.length), deps);
  }
  return graph;
}

/** The import cycles in `graph`, each as the chain of modules that closes it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    path.push(node);
    for (const dep of graph.get(node) ?? []) {
      if (state.get(dep) === "open") found.push([...path.slice(path.indexOf(dep)), dep]);
      else if (!state.has(dep)) visit(dep);
    }
    path.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

const folder = (path: string) => path.slice(0, path.lastIndexOf("/") + 1);
const base = (path: string) => path.slice(path.lastIndexOf("/") + 1);

Deno.test("src/pull/ modules import each other without a cycle", async () => {
  const graph = await importGraph();
  for (const module of ["types.ts", "pull.ts", "legacy/v1_puller.ts", "legacy/_legacy_image.ts"]) {
    assertEquals(graph.has(module), true, module);
  }
  assertEquals(cycles(graph), []);
});

Deno.test("src/pull/ _private modules are imported only from their own folder or below it", async () => {
  const strays: string[] = [];
  for (const [importer, deps] of await importGraph()) {
    for (const dep of deps) {
      if (base(dep).startsWith("_") && !importer.startsWith(folder(dep))) strays.push(`${importer} → ${dep}`);
    }
  }
  assertEquals(strays, []);
});

Deno.test("cycles() finds a cycle through type imports, and none in a chain", () => {
  assertEquals(cycles(new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", ["a.ts"]]])), [[
    "a.ts",
    "b.ts",
    "c.ts",
    "a.ts",
  ]]);
  assertEquals(cycles(new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", []]])), []);
});
