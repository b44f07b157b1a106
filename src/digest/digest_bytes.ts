// This module is browser compatible.
/**
 * One-shot digests of small, buffered content (manifests, configs), where WebCrypto is the fastest path.
 *
 * @module
 */

import type { DigestAlgorithm } from "./hasher.ts";
import { wasmHasher } from "./wasm_hasher.ts";

const WEB_CRYPTO_NAME: Readonly<Record<DigestAlgorithm, string>> = { sha256: "SHA-256", sha512: "SHA-512" };
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * Digests buffered bytes with WebCrypto and returns the canonical `algorithm:hex` string. Meant for content
 * that is capped and buffered anyway (manifests, configs); stream blobs through a `DigestVerifier` instead.
 * Where `crypto.subtle` is missing (browser pages served over plain http), it falls back to WebAssembly.
 *
 * @param bytes The content.
 * @param algorithm `sha256` (default) or `sha512`.
 * @returns The digest, e.g. `sha256:ba7816bf…`.
 * @throws {TypeError} If `algorithm` is not `sha256` or `sha512`.
 *
 * @example Digest a manifest
 * ```ts
 * import { digestBytes } from "./digest_bytes.ts";
 *
 * const digest = await digestBytes(new TextEncoder().encode("abc"));
 * console.assert(digest === "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * ```
 */
export async function digestBytes(bytes: Uint8Array, algorithm: DigestAlgorithm = "sha256"): Promise<string> {
  if (!Object.hasOwn(WEB_CRYPTO_NAME, algorithm)) {
    throw new TypeError(`Cannot digest with ${JSON.stringify(algorithm)}: expected "sha256" or "sha512"`);
  }
  // crypto.subtle exists only in secure contexts (https, localhost); a page on plain http has none.
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) {
    const hasher = await wasmHasher(algorithm);
    hasher.update(bytes);
    return `${algorithm}:${hasher.digest()}`;
  }
  const hash = new Uint8Array(
    await subtle.digest(WEB_CRYPTO_NAME[algorithm], bytes as Uint8Array<ArrayBuffer>),
  );
  let hex = "";
  for (let i = 0; i < hash.length; i++) hex += HEX[hash[i]];
  return `${algorithm}:${hex}`;
}
