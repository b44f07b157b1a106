/// <reference lib="dom" />
/**
 * Page script for test/browser_store_test.ts: runs the store contract and the IndexedDB-specific cases in
 * Chromium against {@linkcode IdbStore} (and {@linkcode MemoryStore} for comparison), and reports each case
 * as data. Every case gets a store under a database name of its own.
 *
 * @module
 */

import { createStore, getMany, keys } from "npm:idb-keyval@^6.3.0";
import { IdbStore } from "../../adapters/idb/mod.ts";
import { TugError } from "../../src/errors.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";
import { storeContractTests } from "../../src/store/testing/mod.ts";
import { blob, put as putBlob } from "../../src/store/_contract_blobs.ts";
import type { Store } from "../../src/store/types.ts";
import { type PageCaseResult, runCases } from "./page_cases.ts";

const MiB = 1 << 20;
const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
let made = 0;

function freshName(label: string): string {
  return `test-${label}-${Date.now().toString(36)}-${made++}`;
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function equal(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

function sameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  check(
    actual.length === expected.length,
    `${what}: expected ${expected.length} bytes, got ${actual.length}`,
  );
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) throw new Error(`${what}: bytes differ at offset ${i}`);
  }
}

// Writes of 300 000 bytes by default: not a multiple of any chunk size an IdbStore is given.
function put(store: Store, data: Uint8Array, digest: string, chunk = 300_000): Promise<void> {
  return putBlob(store, data, digest, chunk);
}

async function readChunks(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  for (let i = 0; i < 100_000; i++) {
    const { done, value } = await reader.read();
    if (done) return chunks;
    chunks.push(value);
  }
  throw new Error("a blob stream yielded more than 100000 chunks");
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Blob(await readChunks(stream) as BlobPart[]).arrayBuffer());
}

function chunkKeys(name: string): Promise<IDBValidKey[]> {
  return keys(createStore(`${name}-chunks`, "chunks"));
}

/**
 * Runs every case of the store contract against a fresh store of `kind` (`chunkSize` for IdbStore).
 *
 * @example
 * ```ts ignore
 * const results = await runContract({ kind: "idb" });
 * ```
 */
export function runContract(
  options: { kind: "idb" | "memory"; chunkSize?: number },
): Promise<PageCaseResult[]> {
  const make = (): Store =>
    options.kind === "idb"
      ? new IdbStore({ name: freshName("contract"), chunkSize: options.chunkSize })
      : new MemoryStore();
  return runCases(storeContractTests(make));
}

/** The IndexedDB-specific cases. */
const idbCases = [
  {
    name: "IdbStore stores a 5 MiB blob as 5 chunk values of at most 1 MiB and reads ranges across them",
    fn: async () => {
      const name = freshName("chunks");
      const store = new IdbStore({ name });
      const { data, digest } = await blob(5 * MiB, 31);
      await put(store, data, digest);
      const stored = await chunkKeys(name);
      equal(stored.length, 5, "chunk values");
      const values = await getMany<Uint8Array>(stored, createStore(`${name}-chunks`, "chunks"));
      check(values.every((v) => v instanceof Uint8Array && v.length <= MiB), "every chunk is ≤ 1 MiB");
      const read = await readChunks(await store.blobs.get(digest));
      check(read.length >= 5 && read.every((c) => c.length <= MiB), "get() yields chunks of at most 1 MiB");
      const ranges: Array<[number, number | undefined]> = [
        [0, undefined],
        [MiB - 1, MiB + 1],
        [2 * MiB - 10, 4 * MiB + 10],
        [3 * MiB, 4 * MiB],
        [4 * MiB + 5, undefined],
        [5 * MiB - 1, undefined],
        [5 * MiB, undefined],
      ];
      for (const [start, end] of ranges) {
        const range = end === undefined ? { start } : { start, end };
        sameBytes(
          await readAll(await store.blobs.get(digest, range)),
          data.subarray(start, end),
          `get(${JSON.stringify(range)})`,
        );
      }
    },
  },
  {
    name: "IdbStore stores one 5 MiB write() as 5 chunks too, and an odd chunkSize reads back exactly",
    fn: async () => {
      const name = freshName("onewrite");
      const store = new IdbStore({ name });
      const { data, digest } = await blob(5 * MiB + 3, 32);
      await put(store, data, digest, data.length);
      equal((await chunkKeys(name)).length, 6, "chunk values of 5 MiB + 3 bytes");
      sameBytes(await readAll(await store.blobs.get(digest)), data, "get()");

      const oddName = freshName("odd");
      const odd = new IdbStore({ name: oddName, chunkSize: 4099 });
      const small = await blob(100_000, 33);
      await put(odd, small.data, small.digest, 7000);
      equal((await chunkKeys(oddName)).length, Math.ceil(100_000 / 4099), "chunk values of 4099 bytes");
      sameBytes(
        await readAll(await odd.blobs.get(small.digest, { start: 4098, end: 8200 })),
        small.data.subarray(4098, 8200),
        "a range over two chunk edges",
      );
    },
  },
  {
    name: "IdbStore keeps one set of chunks when two writers commit the same digest",
    fn: async () => {
      const name = freshName("twice");
      const store = new IdbStore({ name });
      const { data, digest } = await blob(2 * MiB + 1, 34);
      await put(store, data, digest);
      await put(store, data, digest, MiB);
      equal((await chunkKeys(name)).length, 3, "chunk values");
      sameBytes(await readAll(await store.blobs.get(digest)), data, "get()");
    },
  },
  {
    name: "IdbStore with maxBytes deletes the least recently used blobs and their chunks",
    fn: async () => {
      const name = freshName("lru");
      const store = new IdbStore({ name, maxBytes: 25 });
      const a = await blob(10, 41);
      const b = await blob(10, 42);
      const c = await blob(10, 43);
      await put(store, a.data, a.digest);
      await put(store, b.data, b.digest);
      await store.blobs.stat(a.digest); // a is now more recently used than b
      await put(store, c.data, c.digest);
      equal((await store.usage()).bytes, 20, "bytes kept");
      equal(await store.blobs.stat(b.digest), undefined, "stat() of the evicted blob");
      check(await store.blobs.stat(a.digest), "a stays");
      check(await store.blobs.stat(c.digest), "c stays");
      equal((await chunkKeys(name)).length, 2, "chunk values left");
      // The order survives a second store object over the same databases (another tab, a reload).
      // Use times are wall-clock milliseconds (kept strictly increasing within one store object): let the
      // clock pass the first object's last use before the second object reads.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const again = new IdbStore({ name, maxBytes: 25 });
      await again.blobs.get(c.digest).then((s) => s.cancel());
      const d = await blob(10, 44);
      await put(again, d.data, d.digest);
      equal(await again.blobs.stat(a.digest), undefined, "the least recently used blob goes next");
      check(await again.blobs.stat(c.digest), "c, read last, stays");
    },
  },
  {
    name: "IdbStore with maxBytes keeps the blob just committed and blobs a reference points at",
    fn: async () => {
      const store = new IdbStore({ name: freshName("pinned"), maxBytes: 15 });
      const manifest = await blob(10, 45);
      await put(store, manifest.data, manifest.digest);
      await store.references.set("example.com/x:1", {
        mediaType: MANIFEST,
        digest: manifest.digest,
        size: 10,
      });
      const big = await blob(40, 46);
      await put(store, big.data, big.digest);
      check(await store.blobs.stat(manifest.digest), "the referenced manifest stays");
      check(await store.blobs.stat(big.digest), "the blob just committed stays, even over the cap");
      equal((await store.usage()).bytes, 50, "bytes over the cap");
      const next = await blob(5, 47);
      await put(store, next.data, next.digest);
      equal(await store.blobs.stat(big.digest), undefined, "the oversized blob goes at the next commit");
      check(await store.blobs.stat(next.digest), "the newest blob stays");
      equal((await store.usage()).bytes, 15, "bytes at the cap");
    },
  },
  {
    name: "IdbStore.sweep() removes chunks of abandoned writes and keeps blobs, partials and recent writes",
    fn: async () => {
      const name = freshName("sweep");
      const store = new IdbStore({ name, chunkSize: 1000 });
      const kept = await blob(2500, 51);
      await put(store, kept.data, kept.digest);
      const partial = await blob(5000, 52);
      const cut = await store.blobs.writer({ digest: partial.digest, size: 5000 });
      await cut.write(partial.data.subarray(0, 2000));
      await cut.abort({ keepPartial: true });
      const abandoned = await blob(5000, 53);
      const open = await store.blobs.writer({ digest: abandoned.digest, size: 5000 });
      await open.write(abandoned.data.subarray(0, 3000)); // never committed nor aborted: a closed tab
      equal((await chunkKeys(name)).length, 3 + 2 + 3, "chunk values before the sweep");
      equal(await store.sweep(), 0, "sweep() spares writes younger than an hour");
      await new Promise((resolve) => setTimeout(resolve, 5));
      equal(await store.sweep({ olderThanMs: 0 }), 1, "abandoned writes removed");
      equal((await chunkKeys(name)).length, 3 + 2, "chunk values after the sweep");
      sameBytes(await readAll(await store.blobs.get(kept.digest)), kept.data, "the committed blob");
      const resumed = await store.blobs.writer({ digest: partial.digest, size: 5000 }, { resume: true });
      equal(resumed.offset, 2000, "the partial write");
      await resumed.abort();
    },
  },
  {
    name: "IdbStore.clear() removes blobs, chunks, partial writes and references",
    fn: async () => {
      const name = freshName("clear");
      const store = new IdbStore({ name });
      const one = await blob(MiB + 5, 61);
      await put(store, one.data, one.digest);
      await store.references.set("example.com/x:1", {
        mediaType: MANIFEST,
        digest: one.digest,
        size: one.data.length,
      });
      const partial = await blob(5000, 62);
      const cut = await store.blobs.writer({ digest: partial.digest, size: 5000 });
      await cut.write(partial.data.subarray(0, 100));
      await cut.abort({ keepPartial: true });
      equal(await store.usage(), { blobs: 1, bytes: MiB + 5, partials: 1, partialBytes: 100 }, "usage()");
      await store.clear();
      equal(
        await store.usage(),
        { blobs: 0, bytes: 0, partials: 0, partialBytes: 0 },
        "usage() after clear()",
      );
      equal(await store.references.list(), [], "references after clear()");
      equal((await chunkKeys(name)).length, 0, "chunk values after clear()");
      equal(await store.blobs.stat(one.digest), undefined, "stat() after clear()");
      const resumed = await store.blobs.writer({ digest: partial.digest, size: 5000 }, { resume: true });
      equal(resumed.offset, 0, "resume offset after clear()");
      await resumed.abort();
      await put(store, one.data, one.digest);
      sameBytes(await readAll(await store.blobs.get(one.digest)), one.data, "the store works after clear()");
    },
  },
  {
    name: "IdbStore reports a blob deleted while it is read as NOT_FOUND",
    fn: async () => {
      const store = new IdbStore({ name: freshName("gone") });
      const { data, digest } = await blob(3 * MiB, 63);
      await put(store, data, digest);
      const reader = (await store.blobs.get(digest)).getReader();
      await reader.read();
      await store.blobs.delete(digest);
      let caught: unknown;
      try {
        for (let i = 0; i < 10; i++) if ((await reader.read()).done) break;
      } catch (err) {
        caught = err;
      }
      check(
        caught instanceof TugError && caught.code === "NOT_FOUND",
        `read after delete(): ${String(caught)}`,
      );
    },
  },
];

/**
 * Runs the IndexedDB-specific cases.
 *
 * @example
 * ```ts ignore
 * const results = await runIdbCases();
 * ```
 */
export function runIdbCases(): Promise<PageCaseResult[]> {
  return runCases(idbCases);
}

const PERSIST = { blob: [2 * MiB + 99, 71], partial: [3 * MiB, 72], cut: 1_500_000 } as const;

/**
 * First half of the reload case: stores a blob, a reference and a partial write under `name`.
 *
 * @example
 * ```ts ignore
 * await persistWrite("test-persist");
 * ```
 */
export async function persistWrite(name: string): Promise<void> {
  const store = new IdbStore({ name });
  const one = await blob(...PERSIST.blob);
  await put(store, one.data, one.digest);
  await store.references.set("127.0.0.1:5000/tug/small:v1", {
    mediaType: MANIFEST,
    digest: one.digest,
    size: one.data.length,
    annotations: { "org.example": "kept" },
  });
  const partial = await blob(...PERSIST.partial);
  const cut = await store.blobs.writer({ digest: partial.digest, size: partial.data.length });
  await cut.write(partial.data.subarray(0, PERSIST.cut));
  await cut.abort({ keepPartial: true });
}

/**
 * Second half, after the page reloaded: everything written by {@linkcode persistWrite} is still there.
 *
 * @example
 * ```ts ignore
 * const results = await persistRead("test-persist");
 * ```
 */
export function persistRead(name: string): Promise<PageCaseResult[]> {
  const store = new IdbStore({ name });
  return runCases([
    {
      name: "IdbStore keeps blobs across a page reload",
      fn: async () => {
        const one = await blob(...PERSIST.blob);
        equal(await store.blobs.stat(one.digest), { digest: one.digest, size: one.data.length }, "stat()");
        sameBytes(await readAll(await store.blobs.get(one.digest)), one.data, "get()");
      },
    },
    {
      name: "IdbStore keeps references across a page reload",
      fn: async () => {
        const one = await blob(...PERSIST.blob);
        equal(await store.references.list(), [{
          name: "127.0.0.1:5000/tug/small:v1",
          descriptor: {
            mediaType: MANIFEST,
            digest: one.digest,
            size: one.data.length,
            annotations: { "org.example": "kept" },
          },
        }], "references.list()");
      },
    },
    {
      name: "IdbStore resumes a partial write after a page reload",
      fn: async () => {
        const partial = await blob(...PERSIST.partial);
        const writer = await store.blobs.writer({ digest: partial.digest, size: partial.data.length }, {
          resume: true,
        });
        equal(writer.offset, PERSIST.cut, "offset");
        sameBytes(
          await readAll(writer.readPartial()),
          partial.data.subarray(0, PERSIST.cut),
          "readPartial()",
        );
        await writer.write(partial.data.subarray(PERSIST.cut));
        await writer.commit();
        sameBytes(await readAll(await store.blobs.get(partial.digest)), partial.data, "get()");
      },
    },
  ]);
}
