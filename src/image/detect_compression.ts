// This module is browser compatible.
/**
 * Layer compression sniffing by magic bytes.
 *
 * @module
 */

import type { LayerCompression } from "./decompress_layer.ts";

/**
 * How a blob is compressed, judged by its first bytes: gzip starts with `1f 8b` (RFC 1952 §2.3.1), zstd
 * frames with `28 b5 2f fd` (RFC 8878 §3.1.1); anything else is taken as an uncompressed tar. Docker sniffs
 * layers the same way rather than trusting their media type, and some registries serve layers whose media
 * type does not match their bytes.
 *
 * @param firstBytes At least the blob's first 4 bytes (fewer only when the blob is shorter).
 * @returns `"gzip"`, `"zstd"` or `"none"`.
 *
 * @example
 * ```ts
 * import { detectCompression } from "./detect_compression.ts";
 *
 * console.assert(detectCompression(new Uint8Array([0x1f, 0x8b, 8, 0])) === "gzip");
 * console.assert(detectCompression(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd])) === "zstd");
 * console.assert(detectCompression(new TextEncoder().encode("etc/")) === "none");
 * ```
 */
export function detectCompression(firstBytes: Uint8Array): LayerCompression {
  if (firstBytes.length >= 2 && firstBytes[0] === 0x1f && firstBytes[1] === 0x8b) return "gzip";
  if (
    firstBytes.length >= 4 && firstBytes[0] === 0x28 && firstBytes[1] === 0xb5 && firstBytes[2] === 0x2f &&
    firstBytes[3] === 0xfd
  ) return "zstd";
  return "none";
}
