/**
 * Hashing throughput: the core's WebAssembly hasher, node:crypto, and WebCrypto's one-shot digest, each
 * over the same 64 MiB buffer (the streaming hashers fed 1 MiB at a time, as a download would). Run with
 * `deno task bench:hash`; MB/s = 64 MiB / the average time per iteration.
 *
 * @module
 */

import { wasmHasher } from "../src/digest/wasm_hasher.ts";
import { digestBytes } from "../src/digest/digest_bytes.ts";
import type { DigestAlgorithm, HasherFactory } from "../src/digest/hasher.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";

const SIZE = 64 * 1024 * 1024;
const CHUNK = 1024 * 1024;
const data = new Uint8Array(SIZE);
// Not all zeros, so no implementation can take a shortcut on a trivial input.
for (let i = 0; i < SIZE; i += 4096) crypto.getRandomValues(data.subarray(i, i + 4096));
const chunks = Array.from({ length: SIZE / CHUNK }, (_, i) => data.subarray(i * CHUNK, (i + 1) * CHUNK));

async function stream(factory: HasherFactory, algorithm: DigestAlgorithm): Promise<string> {
  const hasher = await factory(algorithm);
  for (const chunk of chunks) hasher.update(chunk);
  return hasher.digest();
}

// Every implementation must agree before anything is timed.
for (const algorithm of ["sha256", "sha512"] as const) {
  const want = await digestBytes(data, algorithm);
  for (const [name, factory] of [["wasmHasher", wasmHasher], ["nodeHasher", nodeHasher]] as const) {
    const got = `${algorithm}:${await stream(factory, algorithm)}`;
    if (got !== want) throw new Error(`${name} ${algorithm} disagrees with WebCrypto: ${got} != ${want}`);
  }
}

for (const algorithm of ["sha256", "sha512"] as const) {
  const group = `${algorithm}, 64 MiB`;
  const options = { group, n: 8, warmup: 1 };
  Deno.bench(
    `wasmHasher (hash-wasm), ${algorithm}, 1 MiB chunks`,
    { ...options, baseline: true },
    async () => {
      await stream(wasmHasher, algorithm);
    },
  );
  Deno.bench(`nodeHasher (node:crypto), ${algorithm}, 1 MiB chunks`, options, async () => {
    await stream(nodeHasher, algorithm);
  });
  Deno.bench(`digestBytes (WebCrypto), ${algorithm}, buffered`, options, async () => {
    await digestBytes(data, algorithm);
  });
}
