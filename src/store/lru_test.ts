import { assert, assertEquals } from "../../test/_assert.ts";
import { LruIndex } from "./lru.ts";

Deno.test("LruIndex.evict() drops the least recently used keys until the total fits, passing over kept ones", () => {
  const lru = new LruIndex(30);
  lru.add("a", 10);
  lru.add("b", 10);
  lru.add("c", 10);
  assert(lru.touch("a"));
  assert(!lru.touch("missing"));
  lru.add("d", 15);
  assertEquals(lru.total, 45);
  assert(lru.over);
  // b is the least recently used but kept: c goes, then a (touched before d was added).
  assertEquals(lru.evict((key) => key === "b" || key === "d"), ["c", "a"]);
  assertEquals([...lru.keys()], ["b", "d"]);
  assertEquals(lru.total, 25);
  assert(!lru.over);
  assertEquals(lru.evict(() => false), []);
});

Deno.test("LruIndex.evict() stops over the cap when only kept keys are left", () => {
  const lru = new LruIndex(5);
  lru.add("a", 10);
  lru.add("b", 10);
  assertEquals(lru.evict(() => true), []);
  assertEquals(lru.total, 20);
  assertEquals(lru.evict((key) => key === "b"), ["a"]);
  assertEquals(lru.total, 10);
});

Deno.test("LruIndex.add() replaces an entry and remove() forgets it, keeping the total", () => {
  const lru = new LruIndex(Infinity);
  lru.add("a", 10);
  lru.add("b", 5);
  lru.add("a", 10);
  assertEquals(lru.total, 15);
  assertEquals([...lru.keys()], ["b", "a"]);
  assertEquals(lru.remove("a"), 10);
  assertEquals(lru.remove("a"), undefined);
  assertEquals(lru.total, 5);
  assert(!lru.has("a") && lru.has("b"));
  lru.add("c", 1e12);
  assertEquals(lru.evict(() => false), []);
});
