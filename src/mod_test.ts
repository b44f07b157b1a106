import { assert, assertEquals } from "../test/_assert.ts";
import config from "../deno.json" with { type: "json" };
import * as root from "./mod.ts";

const exportsMap: Record<string, string> = config.exports;

async function loadEntry(path: string): Promise<Record<string, unknown>> {
  return await import(new URL(`../${path.replace(/^\.\//, "")}`, import.meta.url).href);
}

Deno.test("src/mod.ts exports only the script author's values (pull, inspect, references, store, layer, proxy)", () => {
  // Types are not visible at run time; `deno doc --json src/mod.ts` counts them (46 symbols in all). The
  // types its signatures name are documented with their own entries (deno task doc:lint lints them together).
  assertEquals(Object.keys(root).sort(), [
    "MemoryStore",
    "TugError",
    "createProxy",
    "decompressLayer",
    "digestBytes",
    "formatPlatform",
    "inspectRemote",
    "isTugError",
    "listLayerFiles",
    "parsePlatform",
    "parseReference",
    "pull",
    "pullAllTags",
    "wasmHasher",
    "withDefaultTag",
    "withDigest",
    "withTag",
  ]);
});

Deno.test("deno.json exports: every entry loads and every value of a src/ folder's mod.ts is reachable", async () => {
  const reachable = new Set<unknown>();
  for (const [name, path] of Object.entries(exportsMap)) {
    const mod = await loadEntry(path);
    assert(Object.keys(mod).length > 0, `export "${name}" (${path}) exports no values`);
    for (const value of Object.values(mod)) reachable.add(value);
  }
  const folders = [
    "reference",
    "digest",
    "manifest",
    "registry",
    "store",
    "pull",
    "image",
    "open_image",
    "proxy",
  ];
  for (const folder of folders) {
    const mod = await loadEntry(`src/${folder}/mod.ts`);
    for (const [key, value] of Object.entries(mod)) {
      assert(reachable.has(value), `src/${folder}/mod.ts exports ${key}, which no deno.json entry exports`);
    }
  }
  // The internals issue I named stay out of the root but are still importable from their subpath.
  for (const internal of ["FallbackError", "continueOnError", "withAuth", "scopeForRequest", "TokenCache"]) {
    assert(!(internal in root), `${internal} is exported from the root`);
  }
});
