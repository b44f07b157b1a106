// This module is browser compatible.
/**
 * A pass-through stream that verifies a blob while it flows, so nothing unverified reaches the end of a pipe
 * without the pipe failing.
 *
 * @module
 */

import type { DigestVerifier } from "./digest_verifier.ts";

/**
 * A `TransformStream` that feeds every chunk to `verifier` and passes it on unchanged (same object, no copy).
 * It errors with `SIZE_MISMATCH` on the first chunk past the expected size (that chunk is not passed on),
 * and when the input ends, with `SIZE_MISMATCH` or `DIGEST_MISMATCH` if the blob is short or wrong.
 *
 * The verifier may already have seen bytes (a resumed partial download): the stream continues from there.
 *
 * @param verifier The verifier to update; its {@linkcode DigestVerifier.verify} is called on flush.
 * @returns The verifying stream.
 *
 * @example Verify a body while piping it
 * ```ts
 * import { DigestVerifier } from "./digest_verifier.ts";
 * import { verifyingStream } from "./verifying_stream.ts";
 *
 * const verifier = await DigestVerifier.create({
 *   digest: "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 *   size: 3,
 * });
 * const body = new Response("abc").body!;
 * const text = await new Response(body.pipeThrough(verifyingStream(verifier))).text();
 * console.assert(text === "abc");
 * ```
 */
export function verifyingStream(verifier: DigestVerifier): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      verifier.update(chunk);
      controller.enqueue(chunk);
    },
    flush() {
      verifier.verify();
    },
  });
}
