import { assertEquals, assertRejects } from "../../test/_assert.ts";
import { checkRangeAnswer, exactLength, parseOpenRange, parseRange } from "./_range.ts";

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

Deno.test("parseOpenRange() ignores offsets that are not safe integers", () => {
  assertEquals(parseOpenRange("bytes=99999999999999999999-"), undefined);
  assertEquals(parseOpenRange("bytes=5-99999999999999999999"), undefined);
});

Deno.test("checkRangeAnswer() takes only the Content-Range and Content-Length asked for", () => {
  assertEquals(checkRangeAnswer({ start: 10, last: 19 }, "bytes 10-19/100", "10"), {
    start: 10,
    end: 20,
    size: 100,
  });
  assertEquals(checkRangeAnswer({ start: 10 }, "bytes 10-99/100", null), { start: 10, end: 100, size: 100 });
  assertEquals(checkRangeAnswer({ start: 90, last: 200 }, "bytes 90-99/100", null), {
    start: 90,
    end: 100,
    size: 100,
  });
  for (
    const [range, length] of [
      ["bytes 0-9/100", "10"], // another start
      ["bytes 10-18/100", "9"], // another end
      ["bytes 10-19/*", "10"], // unknown size
      ["bytes 10-19/15", "10"], // past the blob
      ["bytes 10-19/100", "11"], // a Content-Length that is not the range's
      [null, "10"],
      ["bytes=10-19/100", "10"],
    ] as const
  ) {
    assertEquals(
      typeof checkRangeAnswer({ start: 10, last: 19 }, range, length),
      "string",
      `${range} ${length}`,
    );
  }
});

Deno.test("exactLength() errors on more and on fewer bytes than promised", async () => {
  const through = (chunks: number[]) =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          for (const n of chunks) c.enqueue(new Uint8Array(n));
          c.close();
        },
      }).pipeThrough(exactLength(10, "test")),
    ).arrayBuffer();
  assertEquals((await through([4, 6])).byteLength, 10);
  await assertRejects(() => through([4, 7]), TypeError, "more than");
  await assertRejects(() => through([4, 5]), TypeError, "9 of the 10");
});
