// This module is browser compatible.
/**
 * The one least-recently-used size index of tug's caches: `MemoryStore`'s `maxBytes` and the proxy's
 * `lruStore()` both keep their blobs' sizes here, in order of last use, and ask it which blobs to drop
 * when a commit takes the total over the cap. It holds no bytes and deletes nothing itself: the caller
 * removes what {@linkcode LruIndex.evict} names from wherever the bytes are.
 *
 * @module
 */

/**
 * Sizes by key, least recently used first, with their total.
 *
 * @example Drop the least recently used entries past 25 bytes, keeping the one just added
 * ```ts
 * import { LruIndex } from "./lru.ts";
 *
 * const lru = new LruIndex(25);
 * lru.add("a", 10);
 * lru.add("b", 10);
 * lru.touch("a"); // a was used after b
 * lru.add("c", 10);
 * const dropped = lru.evict((key) => key === "c");
 * console.assert(dropped.join() === "b" && lru.total === 20);
 * ```
 */
export class LruIndex {
  /** The most bytes to keep (Infinity: no cap). */
  readonly maxBytes: number;
  // Map iteration order is insertion order: re-inserting on use keeps the least recently used first.
  readonly #sizes = new Map<string, number>();
  #total = 0;

  /** @param maxBytes The cap {@linkcode LruIndex.evict} brings the total under. */
  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** The sum of the sizes held. */
  get total(): number {
    return this.#total;
  }

  /** Whether the total is over the cap (an eviction would drop something, unless everything is kept). */
  get over(): boolean {
    return this.#total > this.maxBytes;
  }

  /** Whether `key` is held. */
  has(key: string): boolean {
    return this.#sizes.has(key);
  }

  /** Marks `key` used now (most recent); false when it is not held. */
  touch(key: string): boolean {
    const size = this.#sizes.get(key);
    if (size === undefined) return false;
    this.#sizes.delete(key);
    this.#sizes.set(key, size);
    return true;
  }

  /** Records `key` with `size` as used now, replacing an earlier entry for it. */
  add(key: string, size: number): void {
    this.remove(key);
    this.#sizes.set(key, size);
    this.#total += size;
  }

  /** The keys held, least recently used first. */
  keys(): IterableIterator<string> {
    return this.#sizes.keys();
  }

  /** Forgets `key`; returns its size, or undefined when it was not held. */
  remove(key: string): number | undefined {
    const size = this.#sizes.get(key);
    if (size === undefined) return undefined;
    this.#sizes.delete(key);
    this.#total -= size;
    return size;
  }

  /**
   * Forgets the least recently used keys until the total is at most the cap, passing over those `keep`
   * accepts (the blob just committed, blobs a reference points at), and returns them in that order: the
   * caller deletes their bytes. Returns nothing when the total already fits; may stop over the cap when
   * only kept keys are left.
   */
  evict(keep: (key: string) => boolean): string[] {
    const dropped: string[] = [];
    if (!this.over) return dropped;
    for (const [key, size] of [...this.#sizes]) {
      if (this.#total <= this.maxBytes) break;
      if (keep(key)) continue;
      this.#sizes.delete(key);
      this.#total -= size;
      dropped.push(key);
    }
    return dropped;
  }
}
