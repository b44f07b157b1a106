/**
 * Hashers for runtimes with `node:crypto` (Deno, Node, Bun): pass {@linkcode bestHasher} wherever tug takes
 * a `hasher` option to verify blobs at native speed instead of the core's WebAssembly default.
 *
 * @example Verify a blob with the native hasher
 * ```ts
 * import { bestHasher } from "./mod.ts";
 * import { DigestVerifier } from "../../src/digest/digest_verifier.ts";
 *
 * const verifier = await DigestVerifier.create(
 *   { digest: "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", size: 3 },
 *   { hasher: bestHasher },
 * );
 * verifier.update(new TextEncoder().encode("abc"));
 * verifier.verify();
 * ```
 *
 * @module
 */

import type { HasherFactory } from "../../src/digest/hasher.ts";
import { nodeHasher } from "./node_hasher.ts";

export * from "./node_hasher.ts";

/**
 * The fastest hasher this adapter offers; today {@linkcode nodeHasher}. Core code cannot probe for
 * `node:crypto` (it must load in browsers), so the choice is made here, where importing it is allowed.
 *
 * @example
 * ```ts
 * import { bestHasher } from "./mod.ts";
 *
 * const hasher = await bestHasher("sha256");
 * console.assert(hasher.digest() === "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
 * ```
 */
export const bestHasher: HasherFactory = nodeHasher;

// The types this entry's signatures name (and the types those name), so that its documentation is complete
// on its own (`deno doc --lint` of this entry alone); each is documented with its own module too.
export type { DigestAlgorithm, Hasher, HasherFactory } from "../../src/digest/hasher.ts";
