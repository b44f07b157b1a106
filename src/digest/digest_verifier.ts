// This module is browser compatible.
/**
 * In-flight verification of a blob against its descriptor's size and digest (OCI image spec, "Descriptor":
 * content must be verified against `digest` and `size` before it is trusted).
 *
 * @module
 */

import { TugError } from "../errors.ts";
import type { Hasher, HasherFactory } from "./hasher.ts";
import { type Digest, parseDigest } from "./parse_digest.ts";
import { wasmHasher } from "./wasm_hasher.ts";

/** What a {@linkcode DigestVerifier} checks the bytes against (a descriptor's `digest` and `size`). */
export interface ExpectedBlob {
  /** The expected digest, e.g. `sha256:…` (validated by {@linkcode parseDigest}). */
  digest: string;
  /** The expected length in bytes. */
  size: number;
}

/** Options for {@linkcode DigestVerifier.create}. */
export interface DigestVerifierOptions {
  /** The hasher to use (default: {@linkcode wasmHasher}; pass node:crypto's where available). */
  hasher?: HasherFactory;
  /** What error messages call the content (default: `blob "<digest>"`). */
  name?: string;
}

/**
 * Counts and hashes a blob's bytes as they arrive, refusing the first byte past the expected size at once
 * and checking the digest at the end. Feed it directly with {@linkcode DigestVerifier.update} (e.g. the
 * bytes of a partial download on disk), then through `verifyingStream()` for the network body.
 *
 * @example Verify bytes as they arrive
 * ```ts
 * import { DigestVerifier } from "./digest_verifier.ts";
 *
 * const verifier = await DigestVerifier.create({
 *   digest: "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 *   size: 3,
 * });
 * verifier.update(new TextEncoder().encode("ab"));
 * verifier.update(new TextEncoder().encode("c"));
 * console.assert(verifier.bytes === 3);
 * verifier.verify();
 * ```
 */
export class DigestVerifier {
  readonly #digest: Digest;
  readonly #size: number;
  readonly #name: string;
  readonly #hasher: Hasher;
  #bytes = 0;
  #overflow = 0;
  #actual: string | undefined;

  private constructor(digest: Digest, size: number, name: string, hasher: Hasher) {
    this.#digest = digest;
    this.#size = size;
    this.#name = name;
    this.#hasher = hasher;
  }

  /**
   * Creates a verifier for one blob.
   *
   * @param expected The descriptor's `digest` and `size`.
   * @param options The hasher and the name used in error messages.
   * @returns A verifier that has seen no bytes yet.
   * @throws {RangeError} If `size` is not a non-negative safe integer.
   * @throws {TugError} `DIGEST_INVALID_FORMAT` or `DIGEST_UNSUPPORTED` if `digest` is not acceptable.
   *
   * @example
   * ```ts
   * import { DigestVerifier } from "./digest_verifier.ts";
   *
   * const empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
   * const verifier = await DigestVerifier.create({ digest: empty, size: 0 }, { name: "empty layer" });
   * verifier.verify();
   * ```
   */
  static async create(expected: ExpectedBlob, options: DigestVerifierOptions = {}): Promise<DigestVerifier> {
    const digest = parseDigest(expected.digest);
    const size = expected.size;
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(
        `Cannot verify blob ${
          JSON.stringify(expected.digest)
        }: size must be a non-negative integer, got ${size}`,
      );
    }
    const hasher = await (options.hasher ?? wasmHasher)(digest.algorithm);
    const name = options.name ?? `blob ${JSON.stringify(expected.digest)}`;
    return new DigestVerifier(digest, size, name, hasher);
  }

  /** How many bytes have been accepted so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The expected size in bytes. */
  get size(): number {
    return this.#size;
  }

  /** The expected digest, e.g. `sha256:…`. */
  get digest(): string {
    return this.#digest.toString();
  }

  /**
   * Hashes the next bytes.
   *
   * @param chunk The next bytes of the blob (not copied, not kept).
   * @throws {TugError} `SIZE_MISMATCH` as soon as the bytes exceed the expected size; the excess is not
   * hashed and every later call throws too.
   * @throws {TypeError} If called after {@linkcode DigestVerifier.verify}.
   *
   * @example
   * ```ts
   * import { DigestVerifier } from "./digest_verifier.ts";
   *
   * const verifier = await DigestVerifier.create({
   *   digest: "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
   *   size: 3,
   * });
   * verifier.update(new TextEncoder().encode("abc"));
   * try {
   *   verifier.update(new Uint8Array(1));
   *   throw new Error("unreachable");
   * } catch (err) {
   *   console.assert((err as { code?: string }).code === "SIZE_MISMATCH");
   * }
   * ```
   */
  update(chunk: Uint8Array): void {
    if (this.#actual !== undefined) throw this.#finished();
    const next = this.#bytes + chunk.byteLength;
    if (next > this.#size || this.#overflow > 0) {
      this.#overflow = Math.max(this.#overflow, next);
      throw this.#tooLong();
    }
    this.#hasher.update(chunk);
    this.#bytes = next;
  }

  /**
   * Checks the size and the digest of everything fed so far. Calling it again repeats the verdict.
   *
   * @returns The verified digest (`algorithm:hex`).
   * @throws {TugError} `SIZE_MISMATCH` if fewer (or more) bytes than expected arrived; `DIGEST_MISMATCH` if
   * the content hashes to another digest.
   *
   * @example
   * ```ts
   * import { DigestVerifier } from "./digest_verifier.ts";
   *
   * const verifier = await DigestVerifier.create({
   *   digest: "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
   *   size: 3,
   * });
   * verifier.update(new TextEncoder().encode("abd"));
   * try {
   *   verifier.verify();
   *   throw new Error("unreachable");
   * } catch (err) {
   *   console.assert((err as { code?: string }).code === "DIGEST_MISMATCH");
   * }
   * ```
   */
  verify(): string {
    if (this.#overflow > 0) throw this.#tooLong();
    if (this.#bytes < this.#size) {
      throw new TugError(
        "SIZE_MISMATCH",
        `Cannot verify ${this.#name}: it ended early, expected ${this.#size} bytes, got ${this.#bytes}`,
        { detail: { digest: this.digest, expected: this.#size, actual: this.#bytes } },
      );
    }
    // Hasher.digest() may be called once only; keep the result so a second verify() repeats the verdict.
    this.#actual ??= `${this.#digest.algorithm}:${this.#hasher.digest()}`;
    const expected = this.digest;
    if (this.#actual !== expected) {
      throw new TugError(
        "DIGEST_MISMATCH",
        `Cannot verify ${this.#name}: content does not match its digest, expected ${expected}, got ${this.#actual}`,
        { detail: { digest: expected, expected, actual: this.#actual } },
      );
    }
    return expected;
  }

  #tooLong(): TugError {
    return new TugError(
      "SIZE_MISMATCH",
      `Cannot verify ${this.#name}: more bytes arrived than expected, expected ${this.#size} bytes, ` +
        `got at least ${this.#overflow}`,
      { detail: { digest: this.digest, expected: this.#size, actual: this.#overflow } },
    );
  }

  #finished(): TypeError {
    return new TypeError(`Cannot update the verifier of ${this.#name}: verify() was already called`);
  }
}
