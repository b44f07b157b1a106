// This module is browser compatible.
/**
 * Content digests: parsing and validation, streaming hashers, and in-flight verification of blobs.
 *
 * @example Verify a body as it streams
 * ```ts
 * import { DigestVerifier, parseDigest, verifyingStream } from "./mod.ts";
 *
 * const digest = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
 * console.assert(parseDigest(digest).algorithm === "sha256");
 * const verifier = await DigestVerifier.create({ digest, size: 3 });
 * const text = await new Response(new Response("abc").body!.pipeThrough(verifyingStream(verifier))).text();
 * console.assert(text === "abc");
 * ```
 *
 * @module
 */

export type * from "./hasher.ts";
export * from "./parse_digest.ts";
export * from "./validate_digest.ts";
export * from "./wasm_hasher.ts";
export * from "./digest_bytes.ts";
export * from "./digest_verifier.ts";
export * from "./verifying_stream.ts";
