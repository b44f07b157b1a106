// This module is browser compatible.
/**
 * Test blobs for store suites: the store contract and the browser page that runs it (and the IndexedDB
 * cases) in Chromium use the same deterministic bytes, digests and chunked writes.
 *
 * @module
 */

import type { Store } from "./types.ts";

/** Deterministic test bytes, different per `seed` (so a reloaded page can regenerate what it wrote). */
function bytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    // xorshift32: cheap, and no two blocks of a blob look alike.
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 255;
  }
  return out;
}

/** The `sha256:` digest of `data` (WebCrypto: test blobs are small enough to hash whole). */
async function sha256(data: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** {@linkcode bytes} of `length` with their digest. */
export async function blob(length: number, seed = 1): Promise<{ data: Uint8Array; digest: string }> {
  const data = bytes(length, seed);
  return { data, digest: await sha256(data) };
}

/** Writes `data` to `store` as `digest` in writes of `chunk` bytes, then commits. */
export async function put(store: Store, data: Uint8Array, digest: string, chunk = 65536): Promise<void> {
  const writer = await store.blobs.writer({ digest, size: data.length });
  for (let at = 0; at < data.length; at += chunk) await writer.write(data.subarray(at, at + chunk));
  await writer.commit();
}
