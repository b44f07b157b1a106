// This module is browser compatible.
/**
 * The core's default streaming hasher: SHA-256/SHA-512 compiled to WebAssembly (npm hash-wasm), so it runs
 * wherever tug runs, browsers and edge workers included.
 *
 * @module
 */

import { createSHA256, createSHA512 } from "hash-wasm";
import type { DigestAlgorithm, Hasher, HasherFactory } from "./hasher.ts";

/**
 * A {@linkcode HasherFactory} over WebAssembly (hash-wasm): portable, about five times slower than
 * node:crypto. Runtimes with node:crypto should pass `nodeHasher` from `adapters/crypto` instead.
 *
 * @param algorithm `sha256` or `sha512`.
 * @returns A fresh hasher (the WebAssembly module is compiled once and instantiated per hasher).
 * @throws {TypeError} If `algorithm` is not `sha256` or `sha512`.
 *
 * @example Hash a stream chunk by chunk
 * ```ts
 * import { wasmHasher } from "./wasm_hasher.ts";
 *
 * const hasher = await wasmHasher("sha256");
 * hasher.update(new TextEncoder().encode("a"));
 * hasher.update(new TextEncoder().encode("bc"));
 * console.assert(hasher.digest() === "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * ```
 */
export const wasmHasher: HasherFactory = async (algorithm: DigestAlgorithm): Promise<Hasher> => {
  if (algorithm === "sha256") return wrap(await createSHA256());
  if (algorithm === "sha512") return wrap(await createSHA512());
  throw new TypeError(
    `Cannot create a hasher for ${JSON.stringify(algorithm)}: expected "sha256" or "sha512"`,
  );
};

type WasmHasher = Awaited<ReturnType<typeof createSHA256>>;

function wrap(inner: WasmHasher): Hasher {
  return {
    update(chunk: Uint8Array): void {
      inner.update(chunk);
    },
    digest(): string {
      return inner.digest("hex");
    },
  };
}
