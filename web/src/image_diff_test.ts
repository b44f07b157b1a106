import { assertEquals } from "../../test/_assert.ts";
import type { TarHeader } from "../../src/mod.ts";
import { diffImages } from "./image_diff.ts";
import { tarHeader } from "../../test/_tar_headers.ts";

function entry(name: string, options: Partial<TarHeader> = {}): TarHeader {
  return tarHeader(name, { type: "file", mode: 0o644, ...options });
}

Deno.test("diffImages() lists added, removed and changed paths with what changed", () => {
  const base = [entry("etc/"), entry("etc/keep", { size: 4 }), entry("etc/gone", { size: 9 })];
  const diff = diffImages(
    {
      layers: [base, [
        entry("app/run", { size: 10 }),
        entry("app/mode", { size: 1 }),
        entry("app/link", { type: "symlink", linkname: "run" }),
        entry("app/owner", { size: 1 }),
      ]],
      digests: ["sha256:base", "sha256:a"],
    },
    {
      layers: [base, [
        entry("etc/.wh.gone"),
        entry("app/run", { size: 12 }),
        entry("app/mode", { size: 1, mode: 0o4755 }),
        entry("app/link", { type: "symlink", linkname: "run2" }),
        entry("app/owner", { size: 1, uid: 1000 }),
        entry("app/new", { size: 3 }),
      ]],
      digests: ["sha256:base", "sha256:b"],
    },
  );
  assertEquals(
    diff.entries.map((e) => [e.kind, e.path, e.reasons.join(",")]),
    [
      ["changed", "app/link", "link"],
      ["changed", "app/mode", "mode"],
      ["added", "app/new", ""],
      ["changed", "app/owner", "owner"],
      ["changed", "app/run", "size"],
      ["removed", "etc/gone", ""],
    ],
  );
  assertEquals(diff.counts, { added: 1, removed: 1, changed: 4 });
  assertEquals(diff.sizes, { before: 4 + 9 + 10 + 1 + 1, after: 4 + 12 + 1 + 1 + 3 });
  // etc and etc/keep come from the shared base layer: known identical.
  assertEquals(diff.identical, 2);
  assertEquals(diff.unverified, 0);
});

Deno.test("diffImages() counts same-header files from different layer blobs as unverified, not as the same", () => {
  const diff = diffImages(
    { layers: [[entry("a", { size: 5, mtime: 1 })]], digests: ["sha256:1"] },
    { layers: [[entry("a", { size: 5, mtime: 2 })]], digests: ["sha256:2"] },
  );
  assertEquals(diff.entries, []);
  assertEquals(diff.unverified, 1);
  assertEquals(diff.identical, 0);
});

Deno.test("diffImages() of an image with itself finds nothing", () => {
  const side = { layers: [[entry("x/"), entry("x/y", { size: 2 })]], digests: ["sha256:1"] };
  const diff = diffImages(side, side);
  assertEquals(diff.entries, []);
  assertEquals(diff.identical, 2);
});
