// This module is browser compatible.
/**
 * The core's default streaming hasher: SHA-256/SHA-512 compiled to WebAssembly (npm hash-wasm), so it runs
 * wherever tug runs, browsers and edge workers included.
 *
 * @module
 */

import type { DigestAlgorithm, Hasher, HasherFactory } from "./hasher.ts";

type HashWasm = typeof import("npm:hash-wasm@^4.13.0");
let hashWasm: Promise<HashWasm> | undefined;

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
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    throw new TypeError(
      `Cannot create a hasher for ${JSON.stringify(algorithm)}: expected "sha256" or "sha512"`,
    );
  }
  // Loaded on first use, not at import: hash-wasm carries the WebAssembly of every algorithm it has as
  // text, which costs a Deno process ~15 MB of resident memory (measured: importing this module took a
  // bare `deno run` from 29 to 45 MB). The CLI and the proxy pass node:crypto's hasher and never load it.
  const { createSHA256, createSHA512 } = await (hashWasm ??= import("npm:hash-wasm@^4.13.0"));
  return wrap(algorithm === "sha256" ? await createSHA256() : await createSHA512());
};

type WasmHasher = Awaited<ReturnType<HashWasm["createSHA256"]>>;

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
