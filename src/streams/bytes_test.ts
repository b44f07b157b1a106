import { assert, assertEquals } from "../../test/_assert.ts";
import { concatBytes, readAllBytes } from "./bytes.ts";

Deno.test("concatBytes() joins chunks in order and returns a lone chunk of the right length uncopied", () => {
  assertEquals(
    concatBytes([new Uint8Array([1]), new Uint8Array([]), new Uint8Array([2, 3])]),
    new Uint8Array([1, 2, 3]),
  );
  const one = new Uint8Array([9, 9]);
  assert(concatBytes([one]) === one);
  assert(concatBytes([one], 2) === one);
  // A length past the chunks leaves zeros.
  assertEquals(concatBytes([one], 3), new Uint8Array([9, 9, 0]));
  assertEquals(concatBytes([]), new Uint8Array());
});

Deno.test("readAllBytes() reads a stream of many and empty chunks to its end", async () => {
  const parts = [[1, 2], [], [3], [], [4, 5, 6]].map((p) => new Uint8Array(p));
  const stream = ReadableStream.from(parts);
  assertEquals(await readAllBytes(stream), new Uint8Array([1, 2, 3, 4, 5, 6]));
  assertEquals(await readAllBytes(ReadableStream.from<Uint8Array>([])), new Uint8Array());
});
