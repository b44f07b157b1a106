import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { UsageError } from "./_args.ts";
import { sizeFlag } from "./_size.ts";

Deno.test("sizeFlag() reads sizes as Docker's RAMInBytes does: bytes, k/m/g/t/p with optional i and b, powers of 1024", () => {
  assertEquals(sizeFlag("cache-max-bytes", undefined), undefined);
  assertEquals(sizeFlag("cache-max-bytes", "0"), 0);
  assertEquals(sizeFlag("cache-max-bytes", "1073741824"), 1073741824);
  assertEquals(sizeFlag("cache-max-bytes", "100b"), 100);
  assertEquals(sizeFlag("cache-max-bytes", "10GB"), 10 * 1024 ** 3);
  assertEquals(sizeFlag("cache-max-bytes", "10g"), 10 * 1024 ** 3);
  assertEquals(sizeFlag("cache-max-bytes", "512m"), 512 * 1024 ** 2);
  assertEquals(sizeFlag("cache-max-bytes", "1.5GiB"), 1.5 * 1024 ** 3);
  assertEquals(sizeFlag("cache-max-bytes", "100 kb"), 100 * 1024);
  assertEquals(sizeFlag("cache-max-bytes", "2T"), 2 * 1024 ** 4);
});

Deno.test("sizeFlag() refuses what is not a size, naming the flag and the forms", () => {
  for (const bad of ["", "ten", "-1", "10XB", "1e9", "5i", "10 G B", "1.5.2g", "99999999p"]) {
    assertThrows(
      () => sizeFlag("cache-max-bytes", bad),
      UsageError,
      "--cache-max-bytes must be a size such as 10GB",
    );
  }
});
