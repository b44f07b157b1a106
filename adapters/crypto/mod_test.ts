import { assertEquals } from "../../test/_assert.ts";
import { bestHasher, nodeHasher } from "./mod.ts";

Deno.test("bestHasher is nodeHasher and hashes natively", async () => {
  assertEquals(bestHasher, nodeHasher);
  const hasher = await bestHasher("sha256");
  hasher.update(new TextEncoder().encode("abc"));
  assertEquals(hasher.digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});
