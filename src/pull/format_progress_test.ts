import { assertEquals } from "../../test/_assert.ts";
import { formatProgress } from "./format_progress.ts";

Deno.test("formatProgress() reproduces the bars of a real `docker pull` stream", () => {
  // The texts dockerd sent for these counts (its JSON shows ">" as \u003e).
  assertEquals(formatProgress(49_152, 4_335_400), `[>${" ".repeat(50)}]  49.15kB/4.335MB`);
  assertEquals(
    formatProgress(1_378_626, 4_335_400),
    `[${"=".repeat(15)}>${" ".repeat(35)}]  1.379MB/4.335MB`,
  );
  assertEquals(formatProgress(821_033, 11_107_850), `[===>${" ".repeat(47)}]    821kB/11.11MB`);
  assertEquals(
    formatProgress(3_218_530, 4_335_400),
    `[${"=".repeat(37)}>${" ".repeat(13)}]  3.219MB/4.335MB`,
  );
});

Deno.test("formatProgress() keeps the bar 53 cells wide from empty to full", () => {
  for (const current of [0, 1, 2_500, 49_999, 50_000, 99_999, 100_000]) {
    const text = formatProgress(current, 100_000);
    assertEquals(text.indexOf("] "), 52, `bar for ${current}`);
  }
  assertEquals(formatProgress(100_000, 100_000), `[${"=".repeat(50)}>]    100kB/100kB`);
  assertEquals(formatProgress(99_999, 100_000), `[${"=".repeat(49)}> ]    100kB/100kB`);
  assertEquals(formatProgress(0, 5_678), `[>${" ".repeat(50)}]       0B/5.678kB`);
});

Deno.test("formatProgress() drops the bar at 110 columns or fewer, as Docker does", () => {
  assertEquals(formatProgress(12_345_678, 45_678_901, { columns: 110 }), " 12.35MB/45.68MB");
  assertEquals(formatProgress(12_345_678, 45_678_901, { columns: 111 }).startsWith("[=============>"), true);
});

Deno.test("formatProgress() shows only the current count without a total or past the total", () => {
  assertEquals(formatProgress(999, undefined), "    999B");
  assertEquals(formatProgress(999, 0), "    999B");
  assertEquals(formatProgress(2_000, 1_000), `[${"=".repeat(50)}>]      2kB`);
  assertEquals(formatProgress(undefined, undefined), "");
  assertEquals(formatProgress(0, 0), "");
});
