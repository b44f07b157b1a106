// This module is browser compatible.
/**
 * The streaming hasher seam: the core hashes through a {@linkcode HasherFactory} that runtimes inject
 * (node:crypto on Deno and Node, WebAssembly in browsers).
 *
 * @module
 */

/** Digest algorithms tug accepts (OCI image spec, "Digests": sha256 and sha512 are registered). */
export type DigestAlgorithm = "sha256" | "sha512";

/** An incremental hash of one byte stream. */
export interface Hasher {
  /** Feeds the next bytes. */
  update(chunk: Uint8Array): void;
  /** Finishes and returns the lowercase hex digest. The hasher must not be used afterwards. */
  digest(): string;
}

/** Creates a fresh {@linkcode Hasher} for an algorithm (may be async: WebAssembly needs to load). */
export type HasherFactory = (algorithm: DigestAlgorithm) => Hasher | Promise<Hasher>;
