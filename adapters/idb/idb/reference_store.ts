// This module is browser compatible.
/**
 * The {@linkcode ReferenceStore} of the IndexedDB store: reference name → descriptor. Internal to the
 * IndexedDB store.
 *
 * @module
 */

import { createStore, entries, get, set, type UseStore, values } from "npm:idb-keyval@^6.3.0";
import type { Descriptor } from "../../../src/manifest/types.ts";
import { checkDescriptor, checkName } from "../../../src/store/checks.ts";
import type { ReferenceRecord, ReferenceStore } from "../../../src/store/types.ts";
import { transact } from "./records.ts";

export class IdbReferenceStore implements ReferenceStore {
  readonly #store: UseStore;

  constructor(name: string) {
    this.#store = createStore(`${name}-references`, "references");
  }

  async get(name: string): Promise<Descriptor | undefined> {
    checkName(name);
    // IndexedDB hands back a fresh structured clone: the caller may change it.
    return await get<Descriptor>(name, this.#store);
  }

  async set(name: string, descriptor: Descriptor): Promise<void> {
    checkName(name);
    checkDescriptor(name, descriptor);
    await set(name, descriptor, this.#store);
  }

  async delete(name: string): Promise<boolean> {
    checkName(name);
    let found = false;
    await transact(this.#store, "readwrite", (s) => {
      const request = s.getKey(name);
      request.onsuccess = () => {
        found = request.result !== undefined;
        if (found) s.delete(name);
      };
    });
    return found;
  }

  async list(): Promise<ReferenceRecord[]> {
    const all = await entries<string, Descriptor>(this.#store);
    return all.map(([name, descriptor]) => ({ name, descriptor }));
  }

  async digests(): Promise<Set<string>> {
    return new Set((await values<Descriptor>(this.#store)).map((d) => d.digest));
  }

  clear(): Promise<void> {
    return transact(this.#store, "readwrite", (s) => void s.clear());
  }
}
