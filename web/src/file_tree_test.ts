import { assertEquals } from "../../test/_assert.ts";
import type { TarHeader } from "../../src/mod.ts";
import { searchAll, searchIndexBuildCount, searchTree, sortedChildren, treeOfLayer } from "./file_tree.ts";
import { tarHeader } from "../../test/_tar_headers.ts";

function file(name: string, size = 1): TarHeader {
  return tarHeader(name, { type: "file", size });
}

Deno.test("searchAll() narrowed from the last keystroke finds what a full search finds", () => {
  const tree = treeOfLayer(
    Array.from({ length: 3000 }, (_, i) => file(`d${i % 7}/F${String(i).padStart(4, "0")}.TXT`)),
  );
  let previous = undefined;
  for (const text of ["f", "f0", "f01", "f012", "f0123"]) {
    const narrowed = searchAll(tree.root, text, previous);
    const full = searchAll(tree.root, text);
    assertEquals(narrowed.nodes.map((n) => n.path), full.nodes.map((n) => n.path));
    assertEquals(narrowed.nodes.length, searchTree(tree.root, text, Infinity).total);
    previous = narrowed;
  }
  assertEquals(previous!.nodes.map((n) => n.path), ["d4/F0123.TXT"]);
  // A filter that does not contain the last one (backspace, a new word) searches the whole index again.
  assertEquals(searchAll(tree.root, "d3/", previous).nodes.length, 429);
});

Deno.test("searchAll() builds a tree's index once and reuses it for every search", () => {
  const tree = treeOfLayer([file("a/b"), file("a/c")]);
  const before = searchIndexBuildCount();
  for (const text of ["a", "a/", "a/b", "c", ""]) searchAll(tree.root, text);
  assertEquals(searchIndexBuildCount(), before + 1);
});

Deno.test("sortedChildren() sorts a folder once: the same array comes back", () => {
  const tree = treeOfLayer([file("z"), file("a"), file("d/x")]);
  const first = sortedChildren(tree.root);
  assertEquals(first.map((n) => n.name), ["d", "a", "z"]);
  assertEquals(sortedChildren(tree.root) === first, true);
});
