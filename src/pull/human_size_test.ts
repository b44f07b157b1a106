import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { humanSize } from "./human_size.ts";

Deno.test("humanSize() prints Docker's decimal units with four significant digits and no space", () => {
  assertEquals(humanSize(0), "0B");
  assertEquals(humanSize(999), "999B");
  assertEquals(humanSize(1_000), "1kB");
  assertEquals(humanSize(1_230), "1.23kB");
  assertEquals(humanSize(1_234), "1.234kB");
  assertEquals(humanSize(45_600_000), "45.6MB");
  assertEquals(humanSize(1_200_000_000), "1.2GB");
  assertEquals(humanSize(2_500_000_000_000), "2.5TB");
});

Deno.test("humanSize() matches sizes from a real `docker pull` stream", () => {
  // Values and texts as dockerd streamed them for an image pull.
  assertEquals(humanSize(49_152), "49.15kB");
  assertEquals(humanSize(4_335_400), "4.335MB");
  assertEquals(humanSize(113_798), "113.8kB");
  assertEquals(humanSize(11_107_850), "11.11MB");
  assertEquals(humanSize(821_033), "821kB");
  assertEquals(humanSize(1_378_626), "1.379MB");
});

Deno.test("humanSize() rounds like Go's %.4g, up to 1000 of a unit, with an exponent past yottabytes", () => {
  assertEquals(humanSize(999_999), "1000kB");
  assertEquals(humanSize(999_949), "999.9kB");
  assertEquals(humanSize(1e24), "1YB");
  assertEquals(humanSize(1e28), "1e+04YB");
});

Deno.test("humanSize() takes another precision, as `docker images` uses 3", () => {
  assertEquals(humanSize(7_812_345, { precision: 3 }), "7.81MB");
  assertEquals(humanSize(1_234, { precision: 2 }), "1.2kB");
});

Deno.test("humanSize() refuses negative, non-finite sizes and impossible precisions with RangeError", () => {
  assertThrows(() => humanSize(-1), RangeError, "Cannot format size -1");
  assertThrows(() => humanSize(Number.NaN), RangeError, "NaN");
  assertThrows(() => humanSize(Infinity), RangeError, "Infinity");
  assertThrows(() => humanSize(1, { precision: 0 }), RangeError, "precision 0");
});
