import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { isOpaqueWhiteout, isWhiteout, mergeLayers, parseWhiteout, whiteoutTarget } from "./whiteouts.ts";
import { normalizeTarPath } from "./normalize_tar_path.ts";
import type { TarEntryType, TarHeader } from "./tar_reader.ts";
import { tarHeader } from "../../test/_tar_headers.ts";

function entry(name: string, type: TarEntryType = name.endsWith("/") ? "directory" : "file"): TarHeader {
  return tarHeader(name, { type, mode: 0o644 });
}

function merged(layers: string[][]): Record<string, number> {
  const merge = mergeLayers();
  layers.forEach((names, layer) => names.forEach((name) => merge.add(layer, entry(name))));
  return Object.fromEntries([...merge.files()].map(([path, f]) => [path, f.layer]));
}

Deno.test("isWhiteout(), isOpaqueWhiteout() and whiteoutTarget() read AUFS whiteout names", () => {
  assertEquals(isWhiteout("a/.wh.b"), true);
  assertEquals(isWhiteout(".wh.b"), true);
  assertEquals(isWhiteout("a/b.wh.c"), false);
  assertEquals(isWhiteout("a/.wh..wh..opq"), true);
  assertEquals(isOpaqueWhiteout("./a/.wh..wh..opq"), true);
  assertEquals(isOpaqueWhiteout("a/.wh.x"), false);
  assertEquals(whiteoutTarget("a/.wh.b"), "a/b");
  assertEquals(whiteoutTarget(".wh.b"), "b");
  assertEquals(whiteoutTarget("a/.wh..wh..opq"), undefined);
  assertEquals(whiteoutTarget("a/.wh..wh.plnk"), undefined);
  assertEquals(whiteoutTarget("a/.wh."), undefined);
  assertEquals(whiteoutTarget("a/b"), undefined);
});

Deno.test("normalizeTarPath() strips ./ and /, collapses // and flags climbing out", () => {
  assertEquals(normalizeTarPath("./usr//bin/"), { path: "usr/bin", safe: true });
  assertEquals(normalizeTarPath("/etc/passwd"), { path: "etc/passwd", safe: true });
  assertEquals(normalizeTarPath("a/./b/../c"), { path: "a/c", safe: true });
  assertEquals(normalizeTarPath("./"), { path: "", safe: true });
  assertEquals(normalizeTarPath("../x"), { path: "x", safe: false });
  assertEquals(normalizeTarPath("a/../../x"), { path: "x", safe: false });
});

Deno.test("mergeLayers() deletes a lower file with a whiteout", () => {
  assertEquals(merged([["etc/", "etc/motd", "etc/hostname"], ["etc/.wh.motd"]]), {
    "etc": 0,
    "etc/hostname": 0,
  });
});

Deno.test("mergeLayers() deletes a lower directory and everything under it", () => {
  assertEquals(merged([["var/", "var/lib/", "var/lib/a", "var/log"], ["./var/.wh.lib"]]), {
    "var": 0,
    "var/log": 0,
  });
});

Deno.test("mergeLayers() hides a lower directory's contents behind an opaque marker, keeping its own layer's", () => {
  assertEquals(
    merged([["d/", "d/old", "d/sub/", "d/sub/x"], ["d/new", "d/.wh..wh..opq", "d/sub/"]]),
    { "d": 0, "d/new": 1, "d/sub": 1 },
  );
});

Deno.test("mergeLayers() lets a later layer re-add a whited-out path", () => {
  assertEquals(merged([["a/", "a/f"], ["a/.wh.f"], ["a/f"]]), { "a": 0, "a/f": 2 });
  // A whiteout never hides an entry of its own layer, whatever the order.
  assertEquals(merged([["f"], ["f", ".wh.f"]]), { "f": 1 });
});

Deno.test("mergeLayers() replaces entries: a file over a directory hides its contents, directories merge", () => {
  assertEquals(merged([["x/", "x/a"], ["x"]]), { "x": 1 });
  assertEquals(merged([["x/", "x/a"], ["x/", "x/b"]]), { "x": 1, "x/a": 0, "x/b": 1 });
  assertEquals(merged([["x"], ["x/y"]]), { "x/y": 1 });
});

Deno.test("mergeLayers() skips AUFS metadata, root entries and reports names climbing out", () => {
  const merge = mergeLayers();
  merge.add(0, entry("./"));
  merge.add(0, entry(".wh..wh.plnk/"));
  merge.add(0, entry("../evil"));
  merge.add(0, entry("ok"));
  assertEquals([...merge.files().keys()], ["ok"]);
  assertEquals(merge.unsafe, [{ name: "../evil", layer: 0 }]);
  assertEquals(merge.files().get("ok")!.entry.name, "ok");
});

Deno.test("mergeLayers() refuses layers out of order", () => {
  const merge = mergeLayers();
  merge.add(1, entry("a"));
  assertThrows(() => merge.add(0, entry("b")), RangeError, "in order");
  assertThrows(() => merge.add(-1, entry("b")), RangeError);
});

Deno.test("parseWhiteout() refuses whiteouts of '', '.' and '..' (containerd's invalid whiteout name)", () => {
  for (const path of [".wh.", ".wh..", ".wh...", "d/.wh.", "d/.wh..", "d/.wh...", "a/b/.wh..."]) {
    const parsed = parseWhiteout(path);
    assertEquals(parsed?.kind, "invalid", path);
    assertEquals(whiteoutTarget(path), undefined, path);
  }
  assertEquals(parseWhiteout("d/.wh.x"), { kind: "whiteout", dir: "d", name: "x" });
  assertEquals(parseWhiteout(".wh...x"), { kind: "whiteout", dir: "", name: "..x" });
  assertEquals(parseWhiteout("d/.wh..wh..opq"), { kind: "opaque", dir: "d" });
  assertEquals(parseWhiteout(".wh..wh.plnk"), { kind: "meta", dir: "" });
  assertEquals(parseWhiteout("d/x.wh.y"), undefined);
});

Deno.test("mergeLayers() reports invalid whiteout names as unsafe and applies none of them", () => {
  const merge = mergeLayers();
  for (const name of ["d/", "d/a", "x"]) merge.add(0, entry(name));
  for (const name of [".wh..", ".wh...", "d/.wh...", "d/.wh.", "./d/.wh../"]) merge.add(1, entry(name));
  assertEquals([...merge.files().keys()], ["d", "d/a", "x"]);
  assertEquals(merge.unsafe.map((u) => u.name), [".wh..", ".wh...", "d/.wh...", "d/.wh.", "./d/.wh../"]);
});
