// This module is browser compatible.
/**
 * The one behaviour suite every {@linkcode Store} must pass (memory, OCI layout on disk, IndexedDB). It uses
 * only web APIs and a tiny local assert, so the same cases run under `deno test`, in Node and in a browser:
 * each runner hands every case a fresh, empty store.
 *
 * Decisions the suite pins down for every store:
 * - Ranges: `start` must lie in [0, size] (else RangeError); `end` is exclusive, must be ≥ `start`, and is
 *   clamped to the size, like an HTTP Range whose last byte lies beyond the end.
 * - `commit()` checks the byte count only (callers hash): too few or too many bytes throw TugError
 *   SIZE_MISMATCH and nothing becomes visible.
 * - A resumed writer (`{ resume: true }`) takes over the partial bytes an `abort({ keepPartial: true })` left,
 *   in a store with the capability `resume` (the default); one that declares `resume: false` starts every
 *   writer at offset 0 instead.
 * - `readWritten()` reads a write back while it goes on, in a store with the capability `readWhileWriting`;
 *   one that declares it false has writers without `readable` and `readWritten`.
 * - Digests are validated before they reach a path: TypeError or TugError DIGEST_INVALID_FORMAT.
 *
 * Not exported from the package barrel: store implementers import it, with runners around it, from
 * `@tug/tug/store/testing` (src/store/testing/mod.ts).
 *
 * @module
 */

import { TugError } from "../errors.ts";
import type { Descriptor } from "../manifest/types.ts";
import type { Store } from "./types.ts";
import { concatBytes } from "../streams/bytes.ts";
import { blob, put } from "./_contract_blobs.ts";
import { storeCapabilities } from "./capabilities.ts";

/**
 * One case of the store contract.
 *
 * @example Run one case by name
 * ```ts
 * import { storeContract, type StoreContractCase } from "./store_contract.ts";
 * import { MemoryStore } from "./memory_store.ts";
 *
 * const found: StoreContractCase | undefined = storeContract.find((c) => c.name.startsWith("delete()"));
 * await found?.fn(new MemoryStore());
 * ```
 */
export interface StoreContractCase {
  /** What the case shows, naming the method and the behaviour. */
  readonly name: string;
  /** Runs the case against a fresh, empty store; rejects when the store breaks the contract. */
  readonly fn: (store: Store) => Promise<void>;
}

class ContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContractError";
  }
}

function ok(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ContractError(message);
}

function same(actual: unknown, expected: unknown, what: string): void {
  const a = canonical(actual);
  const e = canonical(expected);
  if (a !== e) throw new ContractError(`${what}: expected ${e}, got ${a}`);
}

// JSON with sorted keys: deep equality for the plain data stores hold.
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
  }) ?? "undefined";
}

function sameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  if (actual.length !== expected.length) {
    throw new ContractError(`${what}: expected ${expected.length} bytes, got ${actual.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) throw new ContractError(`${what}: bytes differ at offset ${i}`);
  }
}

async function rejects(
  promise: Promise<unknown> | (() => Promise<unknown>),
  check: (err: unknown) => boolean,
  what: string,
): Promise<unknown> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (err) {
    if (!check(err)) throw new ContractError(`${what}: rejected with an unexpected error: ${String(err)}`);
    return err;
  }
  throw new ContractError(`${what}: expected a rejection`);
}

const isCode = (code: string) => (err: unknown) => err instanceof TugError && err.code === code;

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  // A store under test may never end its stream: the contract bounds what it reads.
  for (let i = 0;; i++) {
    if (i > 1_000_000) throw new ContractError("a blob stream yielded more than a million chunks");
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  return concatBytes(chunks);
}

async function listBlobs(store: Store): Promise<Array<{ digest: string; size: number }>> {
  const out: Array<{ digest: string; size: number }> = [];
  for await (const info of store.blobs.list()) {
    out.push({ digest: info.digest, size: info.size });
    if (out.length > 100_000) throw new ContractError("list() yielded more than 100000 blobs");
  }
  return out.sort((a, b) => a.digest < b.digest ? -1 : 1);
}

const MiB = 1 << 20;
const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const BAD_DIGESTS = [
  "sha256:../../x",
  "sha256:../../../../etc/passwd",
  "../../x",
  "sha256:" + "A".repeat(64),
  "sha256:" + "a".repeat(63),
  "sha256:" + "a".repeat(63) + "/",
  "sha256/" + "a".repeat(64),
  "",
];
const isDigestRefusal = (err: unknown) =>
  err instanceof TypeError || (err instanceof TugError && err.code === "DIGEST_INVALID_FORMAT");

/**
 * A store that declares `resume: false`: after `abort({ keepPartial })` of `cut` bytes, a resumed writer
 * starts at offset 0 with nothing to re-read, and writing the whole blob from there commits it.
 */
async function startsOver(store: Store, data: Uint8Array, digest: string, cut: number): Promise<void> {
  const expected = { digest, size: data.length };
  const first = await store.blobs.writer(expected);
  await first.write(data.subarray(0, cut));
  await first.abort({ keepPartial: true });
  same(await store.blobs.stat(digest), undefined, "stat() after abort({ keepPartial })");
  same(await listBlobs(store), [], "list() after abort({ keepPartial })");
  const second = await store.blobs.writer(expected, { resume: true });
  same(second.offset, 0, "offset of a resumed writer in a store without resume");
  sameBytes(
    await readAll(second.readPartial()),
    new Uint8Array(0),
    "readPartial() in a store without resume",
  );
  await second.write(data);
  await second.commit();
  same(await store.blobs.stat(digest), expected, "stat() after the commit");
  sameBytes(await readAll(await store.blobs.get(digest)), data, "get() after the commit");
}

/**
 * The cases every store must pass. Each case gets a fresh, empty store.
 *
 * @example Run the contract against the memory store
 * ```ts
 * import { storeContract } from "./store_contract.ts";
 * import { MemoryStore } from "./memory_store.ts";
 *
 * for (const { name, fn } of storeContract) {
 *   try {
 *     await fn(new MemoryStore());
 *   } catch (err) {
 *     throw new Error(`store contract case "${name}" failed`, { cause: err });
 *   }
 * }
 * ```
 */
export const storeContract: readonly StoreContractCase[] = [
  {
    name: "writer() + commit() make a blob visible to stat() and get()",
    fn: async (store) => {
      const { data, digest } = await blob(200_000);
      const writer = await store.blobs.writer({ digest, size: data.length });
      same(writer.offset, 0, "offset of a fresh writer");
      await writer.write(data.subarray(0, 10));
      await writer.write(new Uint8Array(0));
      await writer.write(data.subarray(10, 150_000));
      await writer.write(data.subarray(150_000));
      same(await store.blobs.stat(digest), undefined, "stat() before commit()");
      await writer.commit();
      same(await store.blobs.stat(digest), { digest, size: data.length }, "stat() after commit()");
      sameBytes(await readAll(await store.blobs.get(digest)), data, "get() after commit()");
      sameBytes(await readAll(await store.blobs.get(digest)), data, "a second get()");
    },
  },
  {
    name: "writer() + commit() store a zero-byte blob",
    fn: async (store) => {
      const { data, digest } = await blob(0);
      const writer = await store.blobs.writer({ digest, size: 0 });
      await writer.commit();
      same(await store.blobs.stat(digest), { digest, size: 0 }, "stat()");
      sameBytes(await readAll(await store.blobs.get(digest)), data, "get()");
      sameBytes(await readAll(await store.blobs.get(digest, { start: 0 })), data, "get() from 0");
    },
  },
  {
    name: "write() copies: changing a chunk after write() does not change the stored blob",
    fn: async (store) => {
      const { data, digest } = await blob(4096, 7);
      const writer = await store.blobs.writer({ digest, size: data.length });
      const chunk = data.slice(0, 1000);
      await writer.write(chunk);
      chunk.fill(0);
      await writer.write(data.subarray(1000));
      await writer.commit();
      sameBytes(await readAll(await store.blobs.get(digest)), data, "get()");
      const read = await readAll(await store.blobs.get(digest));
      read.fill(0);
      sameBytes(await readAll(await store.blobs.get(digest)), data, "get() after changing what was read");
    },
  },
  {
    name: "get() reads byte ranges: start only, start + end, end beyond the size clamped",
    fn: async (store) => {
      // Larger than the 1 MiB blocks and buffers stores use, so ranges cross their edges.
      const { data, digest } = await blob(2 * MiB + 12345, 3);
      await put(store, data, digest, 100_000);
      const cases: Array<[number, number | undefined]> = [
        [0, undefined],
        [1, undefined],
        [MiB - 1, undefined],
        [MiB, undefined],
        [data.length - 1, undefined],
        [data.length, undefined],
        [10, 20],
        [MiB - 5, MiB + 5],
        [MiB - 5, 2 * MiB + 7],
        [7, 7],
        [data.length - 3, data.length],
        [data.length - 3, data.length + 1000],
        [0, Number.MAX_SAFE_INTEGER],
      ];
      for (const [start, end] of cases) {
        const range = end === undefined ? { start } : { start, end };
        const got = await readAll(await store.blobs.get(digest, range));
        sameBytes(got, data.subarray(start, end), `get(${JSON.stringify(range)})`);
      }
    },
  },
  {
    name: "get() refuses a range outside the blob with RangeError",
    fn: async (store) => {
      const { data, digest } = await blob(1000, 4);
      await put(store, data, digest);
      const bad = [{ start: 1001 }, { start: -1 }, { start: 1.5 }, { start: 10, end: 5 }, {
        start: 0,
        end: -1,
      }];
      for (const range of bad) {
        await rejects(
          () => store.blobs.get(digest, range),
          (err) => err instanceof RangeError,
          `get(${JSON.stringify(range)})`,
        );
      }
    },
  },
  {
    name: "get() stream can be cancelled part way",
    fn: async (store) => {
      const { data, digest } = await blob(3 * MiB, 5);
      await put(store, data, digest, MiB);
      const reader = (await store.blobs.get(digest)).getReader();
      const first = await reader.read();
      ok(!first.done && first.value.length > 0, "the first read yields bytes");
      sameBytes(first.value, data.subarray(0, first.value.length), "the first chunk");
      await reader.cancel();
      sameBytes(await readAll(await store.blobs.get(digest)), data, "a full read after the cancel");
    },
  },
  {
    name: "commit() with fewer bytes than expected throws SIZE_MISMATCH and makes nothing visible",
    fn: async (store) => {
      const { data, digest } = await blob(5000, 6);
      const writer = await store.blobs.writer({ digest, size: data.length });
      await writer.write(data.subarray(0, 4999));
      await rejects(writer.commit(), isCode("SIZE_MISMATCH"), "commit()");
      await writer.abort();
      same(await store.blobs.stat(digest), undefined, "stat()");
      same(await listBlobs(store), [], "list()");
      await rejects(store.blobs.get(digest), isCode("NOT_FOUND"), "get()");
    },
  },
  {
    name: "commit() with more bytes than expected throws SIZE_MISMATCH and makes nothing visible",
    fn: async (store) => {
      const { data, digest } = await blob(5000, 8);
      const writer = await store.blobs.writer({ digest, size: data.length });
      await writer.write(data);
      await writer.write(new Uint8Array([1]));
      await rejects(writer.commit(), isCode("SIZE_MISMATCH"), "commit()");
      same(await store.blobs.stat(digest), undefined, "stat()");
      same(await listBlobs(store), [], "list()");
      const resumed = await store.blobs.writer({ digest, size: data.length }, { resume: true });
      same(resumed.offset, 0, "offset of a resume after the failed commit");
      await resumed.abort();
    },
  },
  {
    name:
      "readWritten() (capability readWhileWriting) reads a write's bytes back while it goes on and after commit()",
    fn: async (store) => {
      const { data, digest } = await blob(3 * MiB + 1234, 21);
      const writer = await store.blobs.writer({ digest, size: data.length });
      // Declared, or else found on the writer (a store that declares no capabilities).
      const declared = storeCapabilities(store).readWhileWriting ?? writer.readWritten !== undefined;
      if (!declared) {
        // Without the capability a store has neither half of it.
        same(
          typeof writer.readWritten,
          "undefined",
          "readWritten of a writer in a store without readWhileWriting",
        );
        same(writer.readable, undefined, "readable of a writer without readWritten()");
        await writer.abort();
        return;
      }
      ok(
        typeof writer.readWritten === "function",
        "a store that declares readWhileWriting has readWritten()",
      );
      ok(typeof writer.readable === "number", "a writer with readWritten() has a numeric readable");
      same(writer.readable, 0, "readable of a fresh writer");
      let readable = 0;
      for (let at = 0; at < data.length; at += 65536) {
        await writer.write(data.subarray(at, at + 65536));
        const now = writer.readable!;
        const written = Math.min(data.length, at + 65536);
        ok(now >= readable && now <= written, `readable ${now} after ${written} bytes (was ${readable})`);
        readable = now;
      }
      ok(readable > 0, "readable advanced while 3 MiB were written");
      ok(data.length - readable <= 4 * MiB, `readable ${readable} lags the write by at most 4 MiB`);
      sameBytes(await readAll(writer.readWritten!(0, readable)), data.subarray(0, readable), "[0, readable)");
      const mid = Math.min(readable, 700_000);
      sameBytes(await readAll(writer.readWritten!(1000, mid)), data.subarray(1000, mid), "a middle range");
      sameBytes(await readAll(writer.readWritten!(mid, mid)), new Uint8Array(0), "an empty range");
      await rejects(
        // Past every byte written (`readable` itself may grow meanwhile where a store writes in the background).
        async () => await readAll(writer.readWritten!(0, data.length + 1)),
        (err) => err instanceof RangeError,
        "readWritten() past readable",
      );
      // Opened before the commit, read after it: the same bytes.
      const early = writer.readWritten!(0, readable);
      await writer.commit();
      same(writer.readable, data.length, "readable after commit()");
      sameBytes(await readAll(early), data.subarray(0, readable), "a read-back opened before commit()");
      sameBytes(await readAll(writer.readWritten!(0, data.length)), data, "a read-back after commit()");
      sameBytes(await readAll(await store.blobs.get(digest)), data, "get() after commit()");
    },
  },
  {
    name: "abort() leaves nothing behind",
    fn: async (store) => {
      const { data, digest } = await blob(3000, 9);
      const writer = await store.blobs.writer({ digest, size: data.length });
      await writer.write(data.subarray(0, 2000));
      await writer.abort();
      same(await store.blobs.stat(digest), undefined, "stat()");
      same(await listBlobs(store), [], "list()");
      const resumed = await store.blobs.writer({ digest, size: data.length }, { resume: true });
      same(resumed.offset, 0, "offset of a resume after a plain abort()");
      await resumed.abort();
      await rejects(() => writer.write(data), (err) => err instanceof Error, "write() after abort()");
    },
  },
  {
    name:
      "abort({ keepPartial }) then writer({ resume }) continues where the write stopped (or at 0 without resume)",
    fn: async (store) => {
      const { data, digest } = await blob(MiB + 777, 10);
      if (!storeCapabilities(store).resume) return await startsOver(store, data, digest, 600_001);
      const expected = { digest, size: data.length };
      const first = await store.blobs.writer(expected);
      const cut = 600_001;
      await first.write(data.subarray(0, 300_000));
      await first.write(data.subarray(300_000, cut));
      await first.abort({ keepPartial: true });
      same(await store.blobs.stat(digest), undefined, "stat() of a partial blob");
      same(await listBlobs(store), [], "list() with only a partial blob");

      const second = await store.blobs.writer(expected, { resume: true });
      same(second.offset, cut, "offset of the resumed writer");
      sameBytes(await readAll(second.readPartial()), data.subarray(0, cut), "readPartial()");
      await second.write(data.subarray(cut));
      await second.commit();
      same(await store.blobs.stat(digest), expected, "stat() after the resumed commit");
      sameBytes(await readAll(await store.blobs.get(digest)), data, "get() after the resumed commit");
    },
  },
  {
    name:
      "abort({ keepPartial }) twice: a resumed write can be cut and resumed again (or starts over without resume)",
    fn: async (store) => {
      const { data, digest } = await blob(10_000, 11);
      if (!storeCapabilities(store).resume) {
        await startsOver(store, data, digest, 1000);
        // Cut again after the commit of another writer: still nothing to resume from.
        const again = await store.blobs.writer({ digest, size: data.length }, { resume: true });
        same(again.offset, 0, "offset of a second resume in a store without resume");
        await again.abort();
        return;
      }
      const expected = { digest, size: data.length };
      const a = await store.blobs.writer(expected, { resume: true });
      await a.write(data.subarray(0, 1000));
      await a.abort({ keepPartial: true });
      const b = await store.blobs.writer(expected, { resume: true });
      same(b.offset, 1000, "offset after the first cut");
      await b.write(data.subarray(1000, 4000));
      await b.abort({ keepPartial: true });
      const c = await store.blobs.writer(expected, { resume: true });
      same(c.offset, 4000, "offset after the second cut");
      sameBytes(await readAll(c.readPartial()), data.subarray(0, 4000), "readPartial()");
      await c.write(data.subarray(4000));
      await c.commit();
      sameBytes(await readAll(await store.blobs.get(digest)), data, "get()");
    },
  },
  {
    name: "writer({ resume }) with nothing partial starts at offset 0",
    fn: async (store) => {
      const { data, digest } = await blob(100, 12);
      const writer = await store.blobs.writer({ digest, size: data.length }, { resume: true });
      same(writer.offset, 0, "offset");
      sameBytes(await readAll(writer.readPartial()), new Uint8Array(0), "readPartial()");
      await writer.write(data);
      await writer.commit();
      sameBytes(await readAll(await store.blobs.get(digest)), data, "get()");
    },
  },
  {
    name: "writer() without resume starts at offset 0 even when a partial write exists",
    fn: async (store) => {
      const { data, digest } = await blob(100, 13);
      const expected = { digest, size: data.length };
      const first = await store.blobs.writer(expected);
      await first.write(data.subarray(0, 50));
      await first.abort({ keepPartial: true });
      const fresh = await store.blobs.writer(expected);
      same(fresh.offset, 0, "offset");
      await fresh.write(data);
      await fresh.commit();
      sameBytes(await readAll(await store.blobs.get(digest)), data, "get()");
    },
  },
  {
    name: "two writers for the same digest at once both commit, leaving one blob",
    fn: async (store) => {
      const { data, digest } = await blob(300_000, 14);
      const expected = { digest, size: data.length };
      const a = await store.blobs.writer(expected);
      const b = await store.blobs.writer(expected);
      for (let at = 0; at < data.length; at += 50_000) {
        await Promise.all([a.write(data.subarray(at, at + 50_000)), b.write(data.subarray(at, at + 50_000))]);
      }
      await a.commit();
      sameBytes(await readAll(await store.blobs.get(digest)), data, "get() after the first commit");
      await b.commit();
      same(await listBlobs(store), [expected], "list()");
      sameBytes(await readAll(await store.blobs.get(digest)), data, "get() after both commits");
    },
  },
  {
    name: "delete() removes a blob and tells whether it existed",
    fn: async (store) => {
      const one = await blob(1000, 15);
      const two = await blob(2000, 16);
      await put(store, one.data, one.digest);
      await put(store, two.data, two.digest);
      same(await store.blobs.delete(one.digest), true, "delete() of a stored blob");
      same(await store.blobs.delete(one.digest), false, "a second delete()");
      same(await store.blobs.stat(one.digest), undefined, "stat() after delete()");
      await rejects(store.blobs.get(one.digest), isCode("NOT_FOUND"), "get() after delete()");
      same(await listBlobs(store), [{ digest: two.digest, size: 2000 }], "list() after delete()");
      sameBytes(await readAll(await store.blobs.get(two.digest)), two.data, "the other blob");
    },
  },
  {
    name: "list() yields every committed blob with its size, and no open or partial write",
    fn: async (store) => {
      same(await listBlobs(store), [], "list() of an empty store");
      const blobs = await Promise.all([blob(10, 17), blob(0, 18), blob(70_000, 19)]);
      for (const b of blobs) await put(store, b.data, b.digest);
      const open = await blob(500, 20);
      const writer = await store.blobs.writer({ digest: open.digest, size: 500 });
      await writer.write(open.data.subarray(0, 100));
      const partial = await blob(500, 21);
      const cut = await store.blobs.writer({ digest: partial.digest, size: 500 });
      await cut.write(partial.data.subarray(0, 100));
      await cut.abort({ keepPartial: true });
      same(
        await listBlobs(store),
        blobs.map((b) => ({ digest: b.digest, size: b.data.length })).sort((a, b) =>
          a.digest < b.digest ? -1 : 1
        ),
        "list()",
      );
      await writer.abort();
    },
  },
  {
    name: "stat(), get() and delete() of a missing blob: undefined, NOT_FOUND, false",
    fn: async (store) => {
      const { digest } = await blob(10, 22);
      same(await store.blobs.stat(digest), undefined, "stat()");
      const err = await rejects(store.blobs.get(digest), isCode("NOT_FOUND"), "get()");
      ok(String((err as Error).message).includes(digest), "the NOT_FOUND message names the digest");
      await rejects(store.blobs.get(digest, { start: 0, end: 1 }), isCode("NOT_FOUND"), "get() with a range");
      same(await store.blobs.delete(digest), false, "delete()");
    },
  },
  {
    name: "malformed digests are refused before they reach a path",
    fn: async (store) => {
      for (const digest of BAD_DIGESTS) {
        const what = JSON.stringify(digest);
        await rejects(() => store.blobs.stat(digest), isDigestRefusal, `stat(${what})`);
        await rejects(() => store.blobs.get(digest), isDigestRefusal, `get(${what})`);
        await rejects(() => store.blobs.delete(digest), isDigestRefusal, `delete(${what})`);
        await rejects(() => store.blobs.writer({ digest, size: 1 }), isDigestRefusal, `writer(${what})`);
        await rejects(
          () => store.blobs.writer({ digest, size: 1 }, { resume: true }),
          isDigestRefusal,
          `writer(${what}, { resume })`,
        );
        await rejects(
          () => store.references.set("example.com/x:1", { mediaType: MANIFEST, digest, size: 1 }),
          isDigestRefusal,
          `references.set() with digest ${what}`,
        );
      }
      same(await listBlobs(store), [], "list()");
      same(await store.references.list(), [], "references.list()");
    },
  },
  {
    name: "writer() refuses a size that is not a non-negative integer",
    fn: async (store) => {
      const { digest } = await blob(10, 23);
      for (const size of [-1, 1.5, NaN, Infinity]) {
        await rejects(
          () => store.blobs.writer({ digest, size }),
          (err) => err instanceof TypeError || err instanceof RangeError,
          `writer() with size ${size}`,
        );
      }
    },
  },
  {
    name: "references: set(), get(), overwrite, delete() and list() keep descriptors exactly",
    fn: async (store) => {
      same(await store.references.list(), [], "list() of an empty store");
      same(await store.references.get("docker.io/library/alpine:3.20"), undefined, "get() of a missing name");
      same(
        await store.references.delete("docker.io/library/alpine:3.20"),
        false,
        "delete() of a missing name",
      );
      const index: Descriptor = {
        mediaType: "application/vnd.oci.image.index.v1+json",
        digest: (await blob(100, 24)).digest,
        size: 100,
        annotations: {
          "org.opencontainers.image.created": "2024-05-22T00:00:00Z",
          "com.example.note": "ünï",
        },
      };
      const manifest: Descriptor = {
        mediaType: MANIFEST,
        digest: (await blob(200, 25)).digest,
        size: 200,
        platform: { architecture: "arm64", os: "linux", variant: "v8", "os.features": ["x"] },
        artifactType: "application/vnd.example+type",
        urls: ["https://example.com/blob"],
      };
      const docker: Descriptor = {
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        digest: (await blob(300, 26)).digest,
        size: 300,
      };
      const byDigest = `docker.io/library/alpine@${index.digest}`;
      await store.references.set("docker.io/library/alpine:3.20", index);
      await store.references.set("127.0.0.1:5000/small:v1", manifest);
      await store.references.set(byDigest, index);
      same(await store.references.get("docker.io/library/alpine:3.20"), index, "get() of a tag");
      same(await store.references.get("127.0.0.1:5000/small:v1"), manifest, "get() keeps platform and urls");
      same(await store.references.get(byDigest), index, "get() of a digest reference");

      await store.references.set("docker.io/library/alpine:3.20", docker);
      same(await store.references.get("docker.io/library/alpine:3.20"), docker, "get() after an overwrite");
      const sorted = (records: Array<{ name: string; descriptor: Descriptor }>) =>
        records.map((r) => ({ name: r.name, descriptor: r.descriptor })).sort((a, b) =>
          a.name < b.name ? -1 : 1
        );
      same(
        sorted(await store.references.list()),
        sorted([
          { name: "127.0.0.1:5000/small:v1", descriptor: manifest },
          { name: byDigest, descriptor: index },
          { name: "docker.io/library/alpine:3.20", descriptor: docker },
        ]),
        "list()",
      );

      same(await store.references.delete("127.0.0.1:5000/small:v1"), true, "delete()");
      same(await store.references.delete("127.0.0.1:5000/small:v1"), false, "a second delete()");
      same(await store.references.get("127.0.0.1:5000/small:v1"), undefined, "get() after delete()");
      same((await store.references.list()).length, 2, "list() length after delete()");
    },
  },
  {
    name: "references: a descriptor changed by the caller after set() or get() does not change the store",
    fn: async (store) => {
      const descriptor: Descriptor = {
        mediaType: MANIFEST,
        digest: (await blob(10, 27)).digest,
        size: 10,
        annotations: { a: "1" },
      };
      await store.references.set("example.com/x:1", descriptor);
      descriptor.annotations!.a = "2";
      const got = await store.references.get("example.com/x:1");
      same(got?.annotations, { a: "1" }, "annotations after changing the set() argument");
      got!.annotations!.a = "3";
      same((await store.references.get("example.com/x:1"))?.annotations, { a: "1" }, "after changing get()");
    },
  },
  {
    name: "references: set() refuses an empty name",
    fn: async (store) => {
      const digest = (await blob(10, 28)).digest;
      await rejects(
        () => store.references.set("", { mediaType: MANIFEST, digest, size: 10 }),
        (err) => err instanceof TypeError,
        'set("")',
      );
      same(await store.references.list(), [], "list()");
    },
  },
];
