import { assert, assertEquals } from "../../test/_assert.ts";
import type { TarHeader } from "../../src/mod.ts";
import { analyzeLayers } from "./analysis.ts";
import { tarHeader } from "../../test/_tar_headers.ts";

function entry(name: string, size = 0, type: TarHeader["type"] = "file", mode = 0o644): TarHeader {
  return tarHeader(name, { type, size: type === "file" ? size : 0, mode });
}
function assertAlmostEquals(actual: number, expected: number): void {
  assert(Math.abs(actual - expected) < 1e-9, `expected ${expected}, got ${actual}`);
}
const dir = (name: string, mode = 0o755) => entry(name, 0, "directory", mode);

Deno.test("analyzeLayers() gives each layer's uncompressed size and its added / modified / removed paths", () => {
  const result = analyzeLayers([
    [dir("etc/"), entry("etc/motd", 19), entry("etc/hostname", 10), entry("bin/sh", 100)],
    [dir("etc/"), entry("etc/.wh.motd"), entry("etc/hostname", 12), entry("app/x", 5)],
    [dir("etc/", 0o700)],
  ]);
  assertEquals(result.layers.map((l) => l.size), [129, 17, 0]);
  assertEquals(result.layers[1].changes, [
    { path: "etc/motd", kind: "removed", size: 19 },
    { path: "etc/hostname", kind: "modified", size: 12 },
    { path: "app/x", kind: "added", size: 5 },
  ]);
  // A folder shipped again unchanged is no change; with a new mode it is.
  assertEquals(result.layers[1].counts, { added: 1, modified: 1, removed: 1 });
  assertEquals(result.layers[2].changes, [{ path: "etc", kind: "modified", size: 0 }]);
  assertEquals(result.totalSize, 146);
  assertEquals(result.finalSize, 117);
});

Deno.test("analyzeLayers() counts deleted and overwritten copies as wasted, per shipping layer", () => {
  const result = analyzeLayers([
    [entry("a", 10), entry("b", 20), entry("keep", 1)],
    [entry("a", 12), entry(".wh.b")],
    [entry("a", 3)],
  ]);
  assertEquals(result.layers.map((l) => l.wasted), [30, 12, 0]);
  assertEquals(result.wastedBytes, 42);
  // dive: a is seen 3 times (10+12+3, smallest 3), b twice (20+0, smallest 0), keep once.
  assertAlmostEquals(result.efficiency, (3 + 0 + 1) / (25 + 20 + 1));
  assertEquals(result.inefficiencies, [
    { path: "a", count: 3, cumulative: 25, wasted: 22 },
    { path: "b", count: 2, cumulative: 20, wasted: 20 },
  ]);
  assertEquals(result.diveWastedBytes, 45);
  assertAlmostEquals(result.diveUserWastedPercent, 45 / 15);
  assertEquals(result.largestFiles, [{ path: "a", size: 3, layer: 2 }, { path: "keep", size: 1, layer: 0 }]);
});

Deno.test("analyzeLayers() follows dive for a deleted folder (its size, not 0) and handles opaque folders", () => {
  const result = analyzeLayers([
    [dir("d/"), entry("d/x", 5), entry("d/y", 7), dir("o/"), entry("o/old", 4)],
    [entry(".wh.d"), entry("o/.wh..wh..opq"), entry("o/new", 2)],
  ]);
  assertEquals(result.layers[1].changes, [
    { path: "d", kind: "removed", size: 12 },
    { path: "o/old", kind: "removed", size: 4 },
    { path: "o/new", kind: "added", size: 2 },
  ]);
  assertEquals(result.wastedBytes, 16);
  // dive's score does not see the folder's files again (d was no leaf in the first layer): only the opaque
  // folder's file counts, which dive itself would not see either (it keeps the marker as a file).
  assertAlmostEquals(result.efficiency, 1);
  assertEquals(result.largestFiles.map((f) => f.path), ["o/new"]);
});

Deno.test("analyzeLayers() of an image without files is fully efficient", () => {
  const result = analyzeLayers([[], [dir("empty/")]]);
  assertEquals(result.efficiency, 1);
  assertEquals(result.wastedBytes, 0);
  assertEquals(result.layers[1].changes, [{ path: "empty", kind: "added", size: 0 }]);
});
