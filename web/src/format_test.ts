import { assertEquals } from "../../test/_assert.ts";
import { countOf, formatMode } from "./format.ts";

Deno.test("formatMode() shows a hard link as the regular file it is (ls -l prints -), not h", () => {
  assertEquals(formatMode("hardlink", 0o755), "-rwxr-xr-x");
  assertEquals(formatMode("symlink", 0o777), "lrwxrwxrwx");
  assertEquals(formatMode("directory", 0o1777), "drwxrwxrwt");
});

Deno.test("countOf() says 1 entry and 2 entries", () => {
  assertEquals([
    countOf(0, "entry", "entries"),
    countOf(1, "entry", "entries"),
    countOf(2, "entry", "entries"),
  ], [
    "0 entries",
    "1 entry",
    "2 entries",
  ]);
  assertEquals(countOf(12345, "match", "matches"), "12,345 matches");
});
