/**
 * Runs the store contract (src/store/store_contract.ts, through src/store/testing/mod.ts) under `deno test`: one test per store, one step per
 * case, each step on a fresh store that is cleaned up afterwards.
 *
 * @module
 */

import { storeContractTests } from "../src/store/testing/mod.ts";
import type { Store } from "../src/store/types.ts";

/**
 * A fresh store for one contract case, and how to remove it afterwards.
 *
 * @example
 * ```ts
 * import type { ContractStore } from "./store_contract.ts";
 * import { MemoryStore } from "../src/store/memory_store.ts";
 *
 * const made: ContractStore = { store: new MemoryStore(), cleanup: () => Promise.resolve() };
 * await made.cleanup();
 * ```
 */
export interface ContractStore {
  /** The store under test. */
  store: Store;
  /** Removes whatever the store left (a directory, a database). */
  cleanup(): Promise<void>;
}

/**
 * Registers a Deno test named `<label> passes the store contract` with one step per contract case.
 *
 * @example
 * ```ts
 * import { runStoreContract } from "./store_contract.ts";
 * import { MemoryStore } from "../src/store/memory_store.ts";
 *
 * // In a *_test.ts file, at the top level:
 * export function registerMemoryStoreContract(): void {
 *   runStoreContract("MemoryStore", () =>
 *     Promise.resolve({ store: new MemoryStore(), cleanup: () => Promise.resolve() }));
 * }
 * ```
 */
export function runStoreContract(label: string, makeStore: () => Promise<ContractStore>): void {
  Deno.test(`${label} passes the store contract`, async (t) => {
    // The same runner a third party gets from `@tug/tug/store/testing`: a fresh store per case, cleaned up.
    for (const { name, fn } of storeContractTests(makeStore)) await t.step(name, fn);
  });
}
