import { assert, assertEquals } from "../../../test/_assert.ts";
import { MemoryStore } from "../memory_store.ts";
import type { Store } from "../types.ts";
import { checkStore, storeContract, storeContractTests } from "./mod.ts";

/** A MemoryStore whose `blobs.list()` yields nothing and whose `references.delete()` never finds a name. */
function forgetfulStore(): Store {
  const inner = new MemoryStore();
  return {
    blobs: {
      stat: (digest) => inner.blobs.stat(digest),
      get: (digest, range) => inner.blobs.get(digest, range),
      writer: (expected, options) => inner.blobs.writer(expected, options),
      delete: (digest) => inner.blobs.delete(digest),
      async *list() {},
    },
    references: {
      get: (name) => inner.references.get(name),
      set: (name, descriptor) => inner.references.set(name, descriptor),
      delete: () => Promise.resolve(false),
      list: () => inner.references.list(),
    },
  };
}

Deno.test("checkStore() passes every case of the contract on a MemoryStore", async () => {
  const report = await checkStore(() => new MemoryStore());
  assertEquals(report.failed, []);
  assert(report.ok);
  assertEquals(report.passed, storeContract.map((c) => c.name));
});

Deno.test("checkStore() names the cases a store that forgets blobs and references breaks", async () => {
  const report = await checkStore(forgetfulStore);
  assert(!report.ok);
  const failed = report.failed.map((f) => f.name);
  assert(failed.includes("list() yields every committed blob with its size, and no open or partial write"));
  // Cases that neither list blobs nor delete references still pass.
  assert(report.passed.includes("writer() + commit() make a blob visible to stat() and get()"));
  assert(report.passed.includes("get() refuses a range outside the blob with RangeError"));
  assert(failed.some((name) => name.startsWith("references: set(), get(), overwrite, delete()")));
  for (const { error } of report.failed) assert(error instanceof Error, String(error));
  assertEquals(report.passed.length + report.failed.length, storeContract.length);
});

Deno.test("storeContractTests() makes a fresh store per case and cleans it up once, passed or failed", async () => {
  const made: Store[] = [];
  let cleanups = 0;
  const tests = storeContractTests(() => {
    const store = forgetfulStore();
    made.push(store);
    return { store, cleanup: () => Promise.resolve(void cleanups++) };
  });
  assertEquals(tests.map((t) => t.name), storeContract.map((c) => c.name));
  let failures = 0;
  for (const test of tests) await test.fn().catch(() => failures++);
  assertEquals(made.length, storeContract.length);
  assertEquals(new Set(made).size, made.length);
  assertEquals(cleanups, storeContract.length);
  assert(failures >= 2, `${failures} cases failed on the forgetful store`);
});

Deno.test("checkStore() runs only the cases its filter accepts", async () => {
  let made = 0;
  const report = await checkStore(() => (made++, new MemoryStore()), {
    filter: (name) => name.startsWith("references:"),
  });
  assert(report.ok);
  assert(report.passed.length >= 2 && report.passed.every((name) => name.startsWith("references:")));
  assertEquals(made, report.passed.length);
});
