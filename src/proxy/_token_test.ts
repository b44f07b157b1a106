import { assert, assertEquals } from "../../test/_assert.ts";
import { TokenSealer } from "./_token.ts";

Deno.test("TokenSealer.open() refuses any malformed token without throwing", async () => {
  const sealer = new TokenSealer(() => 1000, 60_000);
  for (
    const token of [
      "A",
      "",
      "!!!",
      "A=B",
      "AAAAA",
      "A".repeat(40),
      "_".repeat(4001),
      "abc.def.ghi",
      "é",
    ]
  ) {
    assertEquals(await sealer.open(token), undefined, JSON.stringify(token));
  }
});

Deno.test("TokenSealer.open() gives back what seal() put in, until it expires", async () => {
  let now = 1000;
  const sealer = new TokenSealer(() => now, 60_000);
  const alice = await sealer.seal({ username: "alice", password: "pw" });
  assertEquals(await sealer.open(alice), { username: "alice", password: "pw" });
  assertEquals(await sealer.open(await sealer.seal(undefined)), null);
  // Another instance's key opens nothing.
  assertEquals(await new TokenSealer(() => now, 60_000).open(alice), undefined);
  now += 60_000;
  assert((await sealer.open(alice)) === undefined, "an expired token opened");
});
