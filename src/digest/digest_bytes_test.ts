import { assertEquals, assertRejects } from "../../test/_assert.ts";
import type { DigestAlgorithm } from "./hasher.ts";
import { digestBytes } from "./digest_bytes.ts";
import { pattern, VECTORS } from "./_hasher_suite_test.ts";

const ABC = new TextEncoder().encode("abc");

Deno.test("digestBytes() gives sha256 by default and sha512 on request, as algorithm:hex", async () => {
  assertEquals(await digestBytes(ABC), `sha256:${VECTORS.sha256.abc}`);
  assertEquals(await digestBytes(new Uint8Array(0)), `sha256:${VECTORS.sha256.empty}`);
  assertEquals(await digestBytes(pattern(), "sha256"), `sha256:${VECTORS.sha256.pattern}`);
  assertEquals(await digestBytes(ABC, "sha512"), `sha512:${VECTORS.sha512.abc}`);
  assertEquals(await digestBytes(pattern(), "sha512"), `sha512:${VECTORS.sha512.pattern}`);
});

Deno.test("digestBytes() hashes only the view of a subarray", async () => {
  const padded = new Uint8Array(13).fill(0x20);
  padded.set(ABC, 5);
  assertEquals(await digestBytes(padded.subarray(5, 8)), `sha256:${VECTORS.sha256.abc}`);
});

Deno.test("digestBytes() falls back to WebAssembly where crypto.subtle is missing", async () => {
  // A browser page served over plain http has no crypto.subtle (not a secure context).
  const original = Object.getOwnPropertyDescriptor(globalThis, "crypto")!;
  Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true, writable: true });
  try {
    assertEquals(globalThis.crypto, undefined);
    assertEquals(await digestBytes(ABC), `sha256:${VECTORS.sha256.abc}`);
    assertEquals(await digestBytes(ABC, "sha512"), `sha512:${VECTORS.sha512.abc}`);
  } finally {
    Object.defineProperty(globalThis, "crypto", original);
  }
});

Deno.test("digestBytes() refuses an unknown algorithm with a TypeError", async () => {
  await assertRejects(() => digestBytes(ABC, "md5" as DigestAlgorithm), TypeError, { includes: '"md5"' });
  await assertRejects(() => digestBytes(ABC, "toString" as DigestAlgorithm), TypeError);
});
