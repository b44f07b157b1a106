// The R2 store against Miniflare's R2 (npm miniflare: workerd's own R2 implementation over local storage),
// through the same R2Bucket binding a worker gets.
import { Miniflare } from "npm:miniflare@^4.20260730.0";
import { storeContractTests } from "../src/store/testing/mod.ts";
import { TugError } from "../src/errors.ts";
import { assertEquals, assertRejects } from "./_assert.ts";
import type { R2BucketBinding } from "../adapters/r2/r2_bucket.ts";
import { r2Store } from "../adapters/r2/r2_store.ts";

/** Miniflare with one R2 bucket `BLOBS`; disposing it stops workerd. */
async function startMiniflare(): Promise<{ binding: R2BucketBinding } & AsyncDisposable> {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response('') } }",
    r2Buckets: ["BLOBS"],
  });
  const binding = await mf.getR2Bucket("BLOBS") as unknown as R2BucketBinding;
  return { binding, [Symbol.asyncDispose]: () => mf.dispose() };
}

async function keys(binding: R2BucketBinding): Promise<string[]> {
  return (await binding.list({ prefix: "" })).objects.map((o) => o.key);
}

// Contract blobs stay under one 8 MiB part (single PUTs): Miniflare, like R2, refuses parts under 5 MiB
// but the last, so the multipart path is covered by the 12 MiB blobs below.
Deno.test("r2Store over Miniflare's R2 passes the store contract", async (t) => {
  await using mf = await startMiniflare();
  let cases = 0;
  for (const { name, fn } of storeContractTests(() => r2Store(mf.binding, { prefix: `case-${++cases}` }))) {
    await t.step(name, fn);
  }
});

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7 + (i >>> 11)) & 255;
  return out;
}

async function sha256(data: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("r2Store: a blob whose bytes do not match its digest never becomes an object in the bucket", async () => {
  await using mf = await startMiniflare();
  // R2's real minimum part size (5 MiB), so the 12 MiB blob goes up as a genuine multipart upload.
  for (const size of [1000, 12 << 20]) {
    const good = pattern(size, 2);
    const digest = await sha256(good);
    const bad = good.slice();
    bad[size - 10] ^= 1;
    const store = r2Store(mf.binding, { prefix: "tug", partSize: 5 << 20 });
    const writer = await store.blobs.writer({ digest, size });
    for (let at = 0; at < size; at += 1 << 20) await writer.write(bad.subarray(at, at + (1 << 20)));
    await assertRejects(() => writer.commit(), TugError, { code: "DIGEST_MISMATCH", includes: digest });
    assertEquals(await store.blobs.stat(digest), undefined);
    assertEquals(
      await keys(mf.binding),
      [],
      `no object for a ${size}-byte blob that failed its digest check`,
    );
    // The same digest with the right bytes commits (the aborted upload left nothing in the way).
    const again = await store.blobs.writer({ digest, size });
    for (let at = 0; at < size; at += 1 << 20) await again.write(good.subarray(at, at + (1 << 20)));
    await again.commit();
    assertEquals(await store.blobs.stat(digest), { digest, size });
    await store.blobs.delete(digest);
  }
});
