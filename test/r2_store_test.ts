// The R2 store against Miniflare's R2 (npm miniflare: workerd's own R2 implementation over local storage),
// through the same R2Bucket binding a worker gets.
import { Miniflare } from "npm:miniflare@^4.20260730.0";
import { storeContractTests } from "../src/store/testing/mod.ts";
import { TugError } from "../src/errors.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { R2Bucket, type R2BucketBinding } from "../adapters/r2/r2_bucket.ts";
import { ObjectLru } from "../src/store/object_lru.ts";
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

Deno.test("R2Bucket.list() reports each object's last-modified time (R2's uploaded), so ObjectLru.prune() removes a stale lease on R2", async () => {
  await using mf = await startMiniflare();
  const bucket = new R2Bucket(mf.binding);
  const before = Date.now();
  await bucket.put("tug/leases/sha256-stale", new TextEncoder().encode("{}"));
  const listed: Array<{ key: string; size: number; lastModified?: number }> = [];
  for await (const object of bucket.list("tug/leases/")) listed.push(object);
  assertEquals(listed.length, 1);
  const uploaded = ((await mf.binding.list({ prefix: "tug/leases/" })).objects[0] as { uploaded?: Date })
    .uploaded;
  assertEquals(listed[0], {
    key: "tug/leases/sha256-stale",
    size: 2,
    lastModified: new Date(uploaded!).getTime(),
  });
  // workerd's clock is this machine's: the time is when the object was written, not some other date.
  assert(Math.abs(listed[0].lastModified! - before) < 60_000, `${listed[0].lastModified} vs ${before}`);

  // A day later (the clock injected), the lease of a replica that died is stale and pruned.
  const staleMs = 24 * 60 * 60_000;
  const fresh = new ObjectLru({ bucket, prefix: "tug", now: () => listed[0].lastModified! + 1000 });
  assertEquals((await fresh.prune({ staleMs, dryRun: true })).removed, []);
  const later = new ObjectLru({ bucket, prefix: "tug", now: () => listed[0].lastModified! + staleMs + 1 });
  assertEquals((await later.prune({ staleMs })).removed, [{ kind: "lease", key: "tug/leases/sha256-stale" }]);
  assertEquals(await keys(mf.binding).then((k) => k.filter((key) => key.startsWith("tug/leases/"))), []);
});
