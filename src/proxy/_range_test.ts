import { assertEquals } from "../../test/_assert.ts";
import { parseOpenRange, parseRange } from "./_range.ts";

Deno.test("parseRange() reads single byte ranges, suffixes, open ends, and spots unsatisfiable ones", () => {
  assertEquals(parseRange(null, 100), undefined);
  assertEquals(parseRange("bytes=0-9", 100), { start: 0, end: 10 });
  assertEquals(parseRange("bytes=90-", 100), { start: 90, end: 100 });
  assertEquals(parseRange("bytes=90-200", 100), { start: 90, end: 100 });
  assertEquals(parseRange("bytes=-10", 100), { start: 90, end: 100 });
  assertEquals(parseRange("bytes=-1000", 100), { start: 0, end: 100 });
  assertEquals(parseRange("bytes=100-", 100), "unsatisfiable");
  assertEquals(parseRange("bytes=-0", 100), "unsatisfiable");
  assertEquals(parseRange("bytes=5-1", 100), undefined);
  assertEquals(parseRange("bytes=0-1,5-6", 100), undefined);
  assertEquals(parseRange("items=0-1", 100), undefined);
});

Deno.test("parseOpenRange() reads a range before the size is known", () => {
  assertEquals(parseOpenRange("bytes=5-"), { start: 5 });
  assertEquals(parseOpenRange("bytes=5-9"), { start: 5, last: 9 });
  assertEquals(parseOpenRange("bytes=-9"), undefined);
  assertEquals(parseOpenRange(null), undefined);
});
