// The hasher conformance suite: the same tests run over every HasherFactory (wasmHasher here in the core,
// nodeHasher in adapters/crypto), the way jose runs one suite per runtime by passing it the implementation.
// This file registers no tests itself; wasm_hasher_test.ts and node_hasher_test.ts call hasherSuite().
import { assertEquals, assertRejects } from "../../test/_assert.ts";
import type { DigestAlgorithm, HasherFactory } from "./hasher.ts";
import { DigestVerifier } from "./digest_verifier.ts";

/** 1 MiB where byte i is (7i + 3) mod 256; digests below computed with `openssl dgst`. */
export function pattern(length = 1 << 20): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + 3) & 0xff;
  return bytes;
}

/** Known digests (FIPS 180-2 examples for "" and "abc"; openssl for the pattern). */
export const VECTORS: Readonly<
  Record<DigestAlgorithm, Readonly<Record<"empty" | "abc" | "pattern", string>>>
> = {
  sha256: {
    empty: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    abc: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    pattern: "172c15dc2e12b50e523d8e657cbe7fbb11c1053252bbf1e1431077d57d8128fd",
  },
  sha512: {
    empty: "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" +
      "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
    abc: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" +
      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    pattern: "5cea440e15bb870335b1b34cf0ce6d954f263d8cf5c9d24bfbf5e2d3be44928e" +
      "047d54e5595da5ed48b85326947b645e8be1dbd7bf8dcec46bf68df8678b4772",
  },
};

async function hash(
  factory: HasherFactory,
  algorithm: DigestAlgorithm,
  chunks: Uint8Array[],
): Promise<string> {
  const hasher = await factory(algorithm);
  for (const chunk of chunks) hasher.update(chunk);
  return hasher.digest();
}

/** Splits `bytes` at sizes around the SHA block sizes (64 and 128), then in 64 KiB pieces. */
function irregularChunks(bytes: Uint8Array): Uint8Array[] {
  const sizes = [0, 1, 2, 61, 63, 64, 65, 127, 128, 129, 1000, 4095, 4097];
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const size of sizes) {
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  for (; at < bytes.length; at += 65536) chunks.push(bytes.subarray(at, at + 65536));
  return chunks;
}

/** Registers the conformance tests for `factory`, named after `label` (e.g. "wasmHasher"). */
export function hasherSuite(label: string, factory: HasherFactory): void {
  const abc = new TextEncoder().encode("abc");
  const big = pattern();
  for (const algorithm of ["sha256", "sha512"] as const) {
    const want = VECTORS[algorithm];

    Deno.test(`${label}("${algorithm}") gives the known digest of the empty string`, async () => {
      assertEquals(await hash(factory, algorithm, []), want.empty);
      assertEquals(await hash(factory, algorithm, [new Uint8Array(0)]), want.empty);
    });

    Deno.test(`${label}("${algorithm}") gives the known digest of "abc", whole or byte by byte`, async () => {
      assertEquals(await hash(factory, algorithm, [abc]), want.abc);
      assertEquals(
        await hash(factory, algorithm, [abc.subarray(0, 1), abc.subarray(1, 2), abc.subarray(2)]),
        want.abc,
      );
    });

    Deno.test(`${label}("${algorithm}") gives the known digest of a 1 MiB pattern, whole or chunked`, async () => {
      assertEquals(await hash(factory, algorithm, [big]), want.pattern);
      assertEquals(await hash(factory, algorithm, irregularChunks(big)), want.pattern);
    });

    Deno.test(`${label}("${algorithm}") hashes a subarray view, not its whole buffer`, async () => {
      const padded = new Uint8Array(abc.length + 10).fill(0x58);
      padded.set(abc, 5);
      assertEquals(await hash(factory, algorithm, [padded.subarray(5, 8)]), want.abc);
    });

    Deno.test(`${label}("${algorithm}") keeps concurrent hashers apart`, async () => {
      const [a, b] = await Promise.all([factory(algorithm), factory(algorithm)]);
      a.update(abc.subarray(0, 1));
      b.update(big.subarray(0, 1000));
      a.update(abc.subarray(1));
      b.update(big.subarray(1000));
      assertEquals(a.digest(), want.abc);
      assertEquals(b.digest(), want.pattern);
    });

    Deno.test(`DigestVerifier with ${label} verifies a 1 MiB ${algorithm} blob fed in chunks`, async () => {
      const verifier = await DigestVerifier.create(
        { digest: `${algorithm}:${want.pattern}`, size: big.length },
        { hasher: factory },
      );
      for (const chunk of irregularChunks(big)) verifier.update(chunk);
      assertEquals(verifier.verify(), `${algorithm}:${want.pattern}`);
    });
  }

  Deno.test(`${label}() refuses an algorithm other than sha256 or sha512 with a TypeError`, async () => {
    // Async wrapper: a factory may throw synchronously (node) or reject (wasm); both must refuse.
    await assertRejects(async () => await factory("md5" as DigestAlgorithm), TypeError, {
      includes: '"md5"',
    });
  });
}
