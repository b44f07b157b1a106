// IdbStore's behaviour needs IndexedDB and runs in Chromium (test/browser_store_test.ts). Deno has no
// IndexedDB; these cases only check what happens before a database is opened.
import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { IdbStore } from "./idb_store.ts";

Deno.test("IdbStore() opens no database until first used", () => {
  const store = new IdbStore({ name: "tug-unit", maxBytes: 10, chunkSize: 4096 });
  assertEquals(store.name, "tug-unit");
  assertEquals(new IdbStore().name, "tug");
});

Deno.test("IdbStore() refuses a bad name, maxBytes or chunkSize", () => {
  assertThrows(() => new IdbStore({ name: "" }), TypeError);
  assertThrows(() => new IdbStore({ maxBytes: -1 }), RangeError);
  assertThrows(() => new IdbStore({ maxBytes: NaN }), RangeError);
  assertThrows(() => new IdbStore({ chunkSize: 0 }), RangeError);
  assertThrows(() => new IdbStore({ chunkSize: 1.5 }), RangeError);
});

Deno.test("IdbStore.sweep() refuses a negative age", () => {
  assertThrows(() => new IdbStore().sweep({ olderThanMs: -1 }), RangeError);
});
