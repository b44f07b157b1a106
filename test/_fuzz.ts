/**
 * The seeded randomness of tug's fuzz tests: `TUG_FUZZ_SEED` replays a run, `TUG_FUZZ_SCALE` multiplies
 * counts and time budgets for a soak run (`deno task soak`).
 *
 * @module
 */

/** The seed of this run (`TUG_FUZZ_SEED`, default 0x5eed). */
export const SEED = Number(Deno.env.get("TUG_FUZZ_SEED") ?? 0x5eed);
/** How much longer than in CI this run goes (`TUG_FUZZ_SCALE`, at least 1). */
export const SCALE = Math.max(1, Number(Deno.env.get("TUG_FUZZ_SCALE") ?? 1));

/** mulberry32: small, fast, good enough to drive mutations. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded choices. */
export class Fuzzer {
  readonly random: () => number;
  constructor(seed: number) {
    this.random = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.random() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
}
