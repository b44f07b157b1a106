// This module is browser compatible.
/**
 * The store contract for your own {@linkcode Store}: the one behaviour suite tug runs against its memory
 * store, its OCI layout store on disk and its IndexedDB store in Chromium. Write a store (an object store,
 * a database, a cache in front of another store), hand the contract a function that makes a fresh, empty
 * one, and it tells you which cases your store breaks.
 *
 * A store that cannot resume a cut write or read back a blob still being written (an object store keeps
 * only committed blobs) declares so in `capabilities` (`{ resume: false, readWhileWriting: false }`, see
 * `StoreCapabilities`); the contract then checks that it behaves that way (a resumed writer starts at 0)
 * instead of failing it.
 *
 * It uses only web APIs (no Deno or Node module), so it runs under any test runner: `deno test`,
 * `node:test`, vitest, or a script in a browser page. {@linkcode checkStore} runs every case and reports;
 * {@linkcode storeContractTests} hands you the cases as `{ name, fn }` so your runner shows one test each.
 *
 * @example Check a store of your own in a script
 * ```ts
 * import { checkStore } from "./mod.ts";
 * import { MemoryStore } from "../memory_store.ts";
 *
 * // Your store: here a MemoryStore under another name; any object with `blobs` and `references` works.
 * class MyStore extends MemoryStore {}
 *
 * const report = await checkStore(() => new MyStore());
 * for (const { name, error } of report.failed) console.error(`${name}: ${String(error)}`);
 * console.assert(report.ok && report.passed.length > 0);
 * ```
 *
 * @example One Deno test per case, each on a fresh directory that is removed afterwards
 * ```ts
 * import { storeContractTests } from "./mod.ts";
 * import { MemoryStore } from "../memory_store.ts";
 *
 * // Stand-in for your store's opener (say `await MyDiskStore.open(dir)`).
 * async function openMyStore(_dir: string) {
 *   return await Promise.resolve(new MemoryStore());
 * }
 *
 * // In a *_test.ts file, at the top level:
 * export function registerMyStoreContract(): void {
 *   for (const test of storeContractTests(async () => {
 *     const dir = await Deno.makeTempDir();
 *     return { store: await openMyStore(dir), cleanup: () => Deno.remove(dir, { recursive: true }) };
 *   })) {
 *     Deno.test(`MyStore: ${test.name}`, test.fn);
 *   }
 * }
 * ```
 *
 * @module
 */

import { storeContract } from "../store_contract.ts";
import type { Store } from "../types.ts";

export { storeContract, type StoreContractCase } from "../store_contract.ts";

/**
 * A store made for one contract case, with how to remove what it left (a directory, a database, a
 * bucket prefix). The contract calls `cleanup` once the case ends, passed or failed.
 *
 * @example
 * ```ts
 * import type { StoreUnderTest } from "./mod.ts";
 * import { MemoryStore } from "../memory_store.ts";
 *
 * const made: StoreUnderTest = { store: new MemoryStore(), cleanup: () => Promise.resolve() };
 * await made.cleanup?.();
 * ```
 */
export interface StoreUnderTest {
  /** The store, fresh and empty. */
  readonly store: Store;
  /** Removes whatever the store left; called once after the case, passed or failed. */
  cleanup?(): Promise<void>;
}

/**
 * Makes a fresh, empty store for one case: the store itself, or a {@linkcode StoreUnderTest} when
 * something must be cleaned up afterwards. Called once per case.
 */
export type MakeStore = () => Store | StoreUnderTest | Promise<Store | StoreUnderTest>;

/** One contract case bound to a store maker: `fn` makes a store, runs the case on it and cleans up. */
export interface StoreContractTest {
  /** The case's name (it names the method and the behaviour). */
  readonly name: string;
  /** Runs the case on a fresh store; rejects when the store breaks the contract (or cleanup fails). */
  readonly fn: () => Promise<void>;
}

/** What {@linkcode checkStore} found. */
export interface StoreContractReport {
  /** True when no case failed. */
  readonly ok: boolean;
  /** The names of the cases that passed. */
  readonly passed: readonly string[];
  /** The cases that failed and why. */
  readonly failed: ReadonlyArray<{ readonly name: string; readonly error: unknown }>;
}

function isStoreUnderTest(made: Store | StoreUnderTest): made is StoreUnderTest {
  return "store" in made && !("blobs" in made);
}

/**
 * The contract's cases, each bound to `makeStore`: register them with your test runner, one test per case.
 *
 * @param makeStore Makes a fresh, empty store per case (see {@linkcode MakeStore}).
 * @returns One `{ name, fn }` per contract case, in the contract's order.
 *
 * @example With node:test (Node) or `Deno.test`
 * ```ts
 * import { storeContractTests } from "./mod.ts";
 * import { MemoryStore } from "../memory_store.ts";
 *
 * const tests = storeContractTests(() => new MemoryStore());
 * // Node: for (const t of tests) test(t.name, t.fn);   Deno: for (const t of tests) Deno.test(t.name, t.fn);
 * await tests[0].fn();
 * console.assert(tests.length > 20);
 * ```
 */
export function storeContractTests(makeStore: MakeStore): StoreContractTest[] {
  if (typeof makeStore !== "function") {
    throw new TypeError("storeContractTests() needs a function that makes a store");
  }
  return storeContract.map(({ name, fn }) => ({
    name,
    fn: async () => {
      const made = await makeStore();
      const { store, cleanup } = isStoreUnderTest(made) ? made : { store: made, cleanup: undefined };
      try {
        await fn(store);
      } finally {
        await cleanup?.();
      }
    },
  }));
}

/**
 * Runs every contract case, one after another, each on a fresh store from `makeStore`, and reports which
 * passed and which failed. It does not throw when a case fails: read `ok` and `failed`.
 *
 * @param makeStore Makes a fresh, empty store per case (see {@linkcode MakeStore}).
 * @param options `filter`: run only the cases whose name it accepts.
 * @returns The names of the cases that passed, and the failures with their errors.
 *
 * @example Fail a script when a store breaks the contract
 * ```ts
 * import { checkStore } from "./mod.ts";
 * import { MemoryStore } from "../memory_store.ts";
 *
 * const report = await checkStore(() => new MemoryStore(), { filter: (name) => name.startsWith("references:") });
 * if (!report.ok) throw new Error(`store contract: ${report.failed.map((f) => f.name).join(", ")} failed`);
 * ```
 */
export async function checkStore(
  makeStore: MakeStore,
  options: { filter?: (name: string) => boolean } = {},
): Promise<StoreContractReport> {
  const passed: string[] = [];
  const failed: Array<{ name: string; error: unknown }> = [];
  for (const { name, fn } of storeContractTests(makeStore)) {
    if (options.filter && !options.filter(name)) continue;
    try {
      await fn();
      passed.push(name);
    } catch (error) {
      failed.push({ name, error });
    }
  }
  return { ok: failed.length === 0, passed, failed };
}

// The types this entry's signatures name (and the types those name), so that its documentation is complete
// on its own (`deno doc --lint` of this entry alone); each is documented with its own module too.
export type { Descriptor, Platform } from "../../manifest/types.ts";
export type {
  BlobInfo,
  BlobLeaseOutcome,
  BlobLeaseRecord,
  BlobLeases,
  BlobStore,
  BlobWriter,
  DiffIdStore,
  HeldBlobLease,
  ReferenceRecord,
  ReferenceStore,
  Store,
  StoreCapabilities,
} from "../types.ts";
