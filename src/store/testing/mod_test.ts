import { assert, assertEquals } from "../../../test/_assert.ts";
import { MemoryStore } from "../memory_store.ts";
import type { BlobWriter, Store, StoreCapabilities } from "../types.ts";
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

/**
 * A stand-in for an object store (S3, R2): a MemoryStore whose writers never resume (`resume` and
 * `keepPartial` are ignored) and cannot read back, declaring `capabilities`.
 */
function objectStore(capabilities: StoreCapabilities): Store {
  const inner = new MemoryStore();
  return {
    capabilities,
    references: inner.references,
    blobs: {
      stat: (digest) => inner.blobs.stat(digest),
      get: (digest, range) => inner.blobs.get(digest, range),
      writer: async (expected): Promise<BlobWriter> => {
        const writer = await inner.blobs.writer(expected);
        return {
          offset: 0,
          readPartial: () => new ReadableStream({ start: (c) => c.close() }),
          write: (chunk) => writer.write(chunk),
          commit: () => writer.commit(),
          abort: () => writer.abort(),
        };
      },
      delete: (digest) => inner.blobs.delete(digest),
      list: () => inner.blobs.list(),
    },
  };
}

const RESUME_CASES = [
  "abort({ keepPartial }) then writer({ resume }) continues where the write stopped",
  "abort({ keepPartial }) twice: a resumed write can be cut and resumed again",
];
const READ_BACK_CASE = "readWritten() (capability readWhileWriting)";

Deno.test("checkStore() passes a store that declares neither resume nor readWhileWriting and has neither", async () => {
  const report = await checkStore(() => objectStore({ resume: false, readWhileWriting: false }));
  assertEquals(report.failed, []);
  assertEquals(report.passed.length, storeContract.length);
});

Deno.test("checkStore() fails a store that declares resume but starts every resumed writer at 0", async () => {
  const report = await checkStore(() => objectStore({ resume: true, readWhileWriting: false }));
  const failed = report.failed.map((f) => f.name);
  for (const name of RESUME_CASES) assert(failed.some((f) => f.startsWith(name)), `${name} in ${failed}`);
  assertEquals(failed.length, RESUME_CASES.length);
});

Deno.test("checkStore() fails a store that declares readWhileWriting but whose writers cannot read back", async () => {
  const report = await checkStore(() => objectStore({ resume: false, readWhileWriting: true }));
  assertEquals(report.failed.map((f) => f.name.startsWith(READ_BACK_CASE)), [true]);
});

Deno.test("checkStore() fails a store that declares resume: false but resumes anyway", async () => {
  // A MemoryStore resumes; declaring otherwise is a broken promise the contract catches.
  const report = await checkStore(() => {
    const memory = new MemoryStore();
    return {
      blobs: memory.blobs,
      references: memory.references,
      capabilities: { resume: false, readWhileWriting: true },
    };
  });
  const failed = report.failed.map((f) => f.name);
  for (const name of RESUME_CASES) assert(failed.some((f) => f.startsWith(name)), `${name} in ${failed}`);
  assert(String(report.failed[0].error).includes("store without resume"), String(report.failed[0].error));
});
