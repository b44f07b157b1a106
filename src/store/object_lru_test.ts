import { assert, assertEquals } from "../../test/_assert.ts";
import { memoryBucket } from "./_memory_bucket_test_util.ts";
import { ObjectLru } from "./object_lru.ts";
import { ObjectStore } from "./object_store.ts";
import type { Store } from "./types.ts";

const MINUTE = 60_000;

async function digestOf(bytes: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function putBlob(store: Store, text: string): Promise<{ digest: string; size: number }> {
  const bytes = new TextEncoder().encode(text);
  const info = { digest: await digestOf(bytes), size: bytes.length };
  const writer = await store.blobs.writer(info);
  await writer.write(bytes);
  await writer.commit();
  return info;
}

/** A bucket, a clock, and a replica's ObjectLru over an ObjectStore under `cache/`. */
function setup(start = 1_000_000) {
  const clock = { now: start };
  const now = () => clock.now;
  const bucket = memoryBucket(now);
  const replica = (id: string) => {
    const lru = new ObjectLru({ bucket, prefix: "cache", now, replica: id });
    const store = lru.wrap(new ObjectStore({ bucket, prefix: "cache" }));
    return { lru, store };
  };
  return { clock, bucket, replica };
}

const blobLists = (listed: string[]) => listed.filter((p) => p.startsWith("cache/blobs"));

Deno.test("ObjectLru.evict() deletes the least recently used blobs until the total fits maxBytes", async () => {
  const { clock, bucket, replica } = setup();
  const { lru, store } = replica("a");
  const a = await putBlob(store, "aaaaaaaaaa");
  clock.now += MINUTE;
  const b = await putBlob(store, "bbbbbbbbbb");
  clock.now += MINUTE;
  const c = await putBlob(store, "cccccccccc");
  clock.now += MINUTE;
  // a is read again: b is now the least recently used.
  await (await store.blobs.get(a.digest)).cancel();
  clock.now += 60 * MINUTE;
  const deleted: string[] = [];
  const report = await lru.evict({ maxBytes: 25, onDelete: (info) => deleted.push(info.digest) });
  assertEquals(deleted, [b.digest]);
  assertEquals(report.deleted.map((d) => d.digest), [b.digest]);
  assertEquals(report.reclaimed, 10);
  assertEquals(report.total, 20);
  assertEquals(await store.blobs.stat(b.digest), undefined);
  assert(await store.blobs.stat(a.digest) !== undefined);
  assert(await store.blobs.stat(c.digest) !== undefined);
  // The usage records were folded into the index and removed.
  assertEquals([...bucket.objects.keys()].filter((k) => k.startsWith("cache/usage/")), []);
  assert(bucket.objects.has("cache/index.json"));
});

Deno.test("ObjectLru.evict() on a restart reads the index and lists no blob; only a missing index is repaired by listing", async () => {
  const { clock, bucket, replica } = setup();
  const first = replica("a");
  await putBlob(first.store, "one");
  await putBlob(first.store, "two");
  // No index yet: the first pass lists the blobs once to build it.
  const r1 = await first.lru.evict({ maxBytes: 1000 });
  assertEquals(r1.listed, true);
  assertEquals(blobLists(bucket.listed).length, 1);

  // A new process over the same bucket (a restart, or another replica).
  clock.now += MINUTE;
  const second = replica("b");
  await putBlob(second.store, "three");
  bucket.listed.length = 0;
  const r2 = await second.lru.evict({ maxBytes: 1000 });
  assertEquals(r2.listed, false);
  assertEquals(blobLists(bucket.listed), [], "no listing of the blobs on start");
  assertEquals(r2.count, 3);
  assertEquals(r2.total, 3 + 3 + 5);
});

Deno.test("ObjectLru.evict() repairs a damaged index by listing the blobs", async () => {
  const { bucket, replica, clock } = setup();
  const { lru, store } = replica("a");
  await putBlob(store, "one");
  await lru.evict({ maxBytes: 1000 });
  await bucket.put("cache/index.json", new TextEncoder().encode("{not json"));
  bucket.listed.length = 0;
  clock.now += MINUTE;
  const report = await lru.evict({ maxBytes: 1000 });
  assertEquals(report.listed, true);
  assertEquals(blobLists(bucket.listed).length, 1);
  assertEquals(report.count, 1);
  const index = JSON.parse(new TextDecoder().decode(bucket.objects.get("cache/index.json")!.bytes));
  assertEquals(index.blobs.length, 1);
});

Deno.test("ObjectLru.evict() never deletes a blob used within graceMs, even over the cap", async () => {
  const { clock, replica } = setup();
  const { lru, store } = replica("a");
  const a = await putBlob(store, "aaaaaaaaaa");
  clock.now += 5 * MINUTE;
  const b = await putBlob(store, "bbbbbbbbbb");
  clock.now += MINUTE;
  const report = await lru.evict({ maxBytes: 0, graceMs: 3 * MINUTE });
  assertEquals(report.deleted.map((d) => d.digest), [a.digest]);
  assert(await store.blobs.stat(b.digest) !== undefined);
});

Deno.test("ObjectLru.flush() writes one usage record for what was used since the last one, nothing when idle", async () => {
  const { bucket, replica } = setup();
  const { lru, store } = replica("a");
  assertEquals(await lru.flush(), false);
  assertEquals(bucket.calls.get("put") ?? 0, 0);
  const a = await putBlob(store, "aaa");
  await store.blobs.stat(a.digest);
  await (await store.blobs.get(a.digest)).cancel();
  assertEquals(await lru.flush(), true);
  const records = [...bucket.objects.keys()].filter((k) => k.startsWith("cache/usage/"));
  assertEquals(records.length, 1);
  assertEquals(await lru.flush(), false);
  // A miss records nothing.
  assertEquals(await store.blobs.stat("sha256:" + "0".repeat(64)), undefined);
  assertEquals(await lru.flush(), false);
});

Deno.test("ObjectLru.evict() folds every replica's usage records: a read on another replica keeps a blob", async () => {
  const { clock, replica } = setup();
  const one = replica("one");
  const two = replica("two");
  const a = await putBlob(one.store, "aaaaaaaaaa");
  clock.now += MINUTE;
  const b = await putBlob(one.store, "bbbbbbbbbb");
  await one.lru.flush();
  clock.now += MINUTE;
  // Replica two serves a, so b is the least recently used fleet-wide.
  await (await two.store.blobs.get(a.digest)).cancel();
  await two.lru.flush();
  clock.now += 60 * MINUTE;
  const report = await one.lru.evict({ maxBytes: 10 });
  assertEquals(report.deleted.map((d) => d.digest), [b.digest]);
  assertEquals(report.folded, 2);
});

Deno.test("ObjectLru.evict() with dryRun deletes and writes nothing", async () => {
  const { clock, bucket, replica } = setup();
  const { lru, store } = replica("a");
  const a = await putBlob(store, "aaaaaaaaaa");
  await lru.evict({ maxBytes: 1000 });
  clock.now += 60 * MINUTE;
  const before = new Map(bucket.objects);
  const puts = bucket.calls.get("put");
  const deletes = bucket.calls.get("delete");
  const report = await lru.evict({ maxBytes: 0, dryRun: true });
  assertEquals(report.deleted.map((d) => d.digest), [a.digest]);
  assertEquals(bucket.calls.get("put"), puts);
  assertEquals(bucket.calls.get("delete"), deletes);
  assertEquals([...bucket.objects.keys()], [...before.keys()]);
});

Deno.test("ObjectLru.evict() does nothing while another pass holds the evict lease, and takes an expired one", async () => {
  const { clock, bucket, replica } = setup();
  const { lru, store } = replica("a");
  await putBlob(store, "aaaaaaaaaa");
  const other = JSON.stringify({ owner: "other", expires: clock.now + 5 * MINUTE });
  await bucket.put("cache/leases/evict", new TextEncoder().encode(other));
  clock.now += 60 * MINUTE - 1;
  // The lease is expired by then: 5 minutes is far behind.
  const taken = await lru.evict({ maxBytes: 0 });
  assertEquals(taken.busy, false);
  assertEquals(taken.deleted.length, 1);
  assert(!bucket.objects.has("cache/leases/evict"), "the lease is released after the pass");

  await bucket.put(
    "cache/leases/evict",
    new TextEncoder().encode(JSON.stringify({ owner: "other", expires: clock.now + MINUTE })),
  );
  const b = await putBlob(store, "bbbbbbbbbb");
  clock.now += 30_000;
  const busy = await lru.evict({ maxBytes: 0, graceMs: 0 });
  assertEquals(busy.busy, true);
  assertEquals(busy.deleted, []);
  assert(await store.blobs.stat(b.digest) !== undefined);
  assert(bucket.objects.has("cache/leases/evict"), "another pass's lease is left alone");
});

Deno.test("ObjectLru ignores keys it does not own under the prefix", async () => {
  const { clock, bucket, replica } = setup();
  const { lru, store } = replica("a");
  const enc = new TextEncoder();
  await bucket.put("cache/leases/blobs/sha256/abc", enc.encode("a fill's lease"));
  await bucket.put("cache/usage/README", enc.encode("not a record"));
  await bucket.put("cache/blobs/sha256/not-a-digest", enc.encode("stray"));
  await putBlob(store, "aaaaaaaaaa");
  clock.now += 60 * MINUTE;
  const report = await lru.evict({ maxBytes: 0 });
  assertEquals(report.deleted.length, 1);
  for (
    const key of ["cache/leases/blobs/sha256/abc", "cache/usage/README", "cache/blobs/sha256/not-a-digest"]
  ) {
    assert(bucket.objects.has(key), key);
  }
});

Deno.test("ObjectLru.prune() lists the bucket, evicts past maxBytes, untags references to evicted manifests, aborts stale uploads and removes stale leases", async () => {
  const { clock, bucket, replica } = setup();
  const { lru, store } = replica("a");
  const manifest = await putBlob(store, '{"schemaVersion":2}');
  clock.now += MINUTE;
  const kept = await putBlob(store, "kept-kept-kept");
  await store.references.set("example.com/app:v1", {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: manifest.digest,
    size: manifest.size,
  });
  await store.references.set("example.com/app:v2", {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: kept.digest,
    size: kept.size,
  });
  // A blob another replica committed but never recorded (it died before its flush).
  const unrecorded = new ObjectStore({ bucket, prefix: "cache" });
  const orphan = await putBlob(unrecorded, "orphan");
  await lru.flush();
  const stale = await bucket.createMultipartUpload("cache/blobs/sha256/" + "1".repeat(64));
  void stale;
  await bucket.put("cache/leases/blobs/sha256/old", new TextEncoder().encode("lease"));
  clock.now += 2 * 24 * 60 * MINUTE;
  const fresh = await bucket.createMultipartUpload("cache/blobs/sha256/" + "2".repeat(64));
  void fresh;
  await bucket.put("cache/leases/blobs/sha256/new", new TextEncoder().encode("lease"));

  const report = await lru.prune({ maxBytes: kept.size + orphan.size });
  assertEquals(report.deleted.map((d) => d.digest), [manifest.digest]);
  assertEquals(report.untagged, ["example.com/app:v1"]);
  assertEquals(report.removed.map((r) => `${r.kind} ${r.key}`).sort(), [
    "lease cache/leases/blobs/sha256/old",
    `upload cache/blobs/sha256/${"1".repeat(64)}`,
  ]);
  assertEquals([...bucket.uploads.values()].map((u) => u.key), ["cache/blobs/sha256/" + "2".repeat(64)]);
  assert(bucket.objects.has("cache/leases/blobs/sha256/new"));
  assert(await store.references.get("example.com/app:v2") !== undefined);
  assertEquals(await store.references.get("example.com/app:v1"), undefined);
  // The orphan is in the index now: the next start knows it without a listing.
  const index = JSON.parse(new TextDecoder().decode(bucket.objects.get("cache/index.json")!.bytes));
  assert(index.blobs.some((e: [string]) => e[0] === orphan.digest));
});

Deno.test("ObjectLru.prune() with dryRun reports what it would remove and changes nothing", async () => {
  const { clock, bucket, replica } = setup();
  const { lru, store } = replica("a");
  await putBlob(store, "aaaaaaaaaa");
  await lru.flush();
  await bucket.createMultipartUpload("cache/blobs/sha256/" + "1".repeat(64));
  await bucket.put("cache/leases/blobs/sha256/old", new TextEncoder().encode("lease"));
  clock.now += 2 * 24 * 60 * MINUTE;
  const before = [...bucket.objects.keys()];
  const report = await lru.prune({ maxBytes: 0, dryRun: true });
  assertEquals(report.deleted.length, 1);
  assertEquals(report.removed.length, 2);
  assertEquals([...bucket.objects.keys()], before);
  assertEquals(bucket.uploads.size, 1);
});

Deno.test("ObjectLru.prune() dates a blob the index did not hold by its usage record rather than its upload time", async () => {
  const { clock, bucket, replica } = setup();
  const { lru, store } = replica("a");
  const a = await putBlob(store, "aaaaaaaaaa");
  await lru.flush();
  clock.now += 60 * MINUTE;
  const b = await putBlob(store, "bbbbbbbbbb");
  await lru.flush();
  // b's object says it was written long before a's (a restored bucket, a skewed clock): the records win.
  bucket.objects.get("cache/blobs/" + b.digest.replace(":", "/"))!.lastModified = 0;
  clock.now += 60 * MINUTE;
  const report = await lru.prune({ maxBytes: 10 });
  assertEquals(report.listed, true);
  assertEquals(report.deleted.map((d) => d.digest), [a.digest]);
});

Deno.test("ObjectLru.flush() keeps what it could not write for the next flush", async () => {
  const { bucket, replica } = setup();
  const { lru, store } = replica("a");
  const a = await putBlob(store, "aaaaaaaaaa");
  const put = bucket.put;
  bucket.put = () => Promise.reject(new Error("service unavailable"));
  let failed = false;
  await lru.flush().catch(() => failed = true);
  assert(failed, "the failed write is reported");
  bucket.put = put;
  assertEquals(await lru.flush(), true);
  const [key] = [...bucket.objects.keys()].filter((k) => k.startsWith("cache/usage/"));
  const record = JSON.parse(new TextDecoder().decode(bucket.objects.get(key)!.bytes));
  assertEquals(Object.keys(record.added), [a.digest]);
});

Deno.test("ObjectLru.wrap() passes the store's blob URLs on, a URL handed out counting as a use; none when the store has none", async () => {
  const { clock, bucket, replica } = setup();
  const { lru, store: plain } = replica("a");
  assertEquals(plain.blobs.url, undefined, "the memory bucket cannot presign");
  const presigning = {
    ...bucket,
    presign: (key: string, options: { expiresIn: number }) =>
      Promise.resolve(`https://bucket.test/${key}?expires=${options.expiresIn}`),
  };
  const store = lru.wrap(new ObjectStore({ bucket: presigning, prefix: "cache" }));
  const a = await putBlob(store, "aaaaaaaaaa");
  clock.now += MINUTE;
  const b = await putBlob(store, "bbbbbbbbbb");
  clock.now += MINUTE;
  // a's URL is handed out after b was written: b is the least recently used.
  assertEquals(
    await store.blobs.url?.(a.digest, { expiresIn: 60 }),
    `https://bucket.test/cache/blobs/sha256/${a.digest.slice(7)}?expires=60`,
  );
  clock.now += 60 * MINUTE;
  const report = await lru.evict({ maxBytes: 15 });
  assertEquals(report.deleted.map((d) => d.digest), [b.digest]);
});

Deno.test("ObjectLru.evict() with a deadline deletes no more blobs once it has passed, writes the index of what is left, and the next pass goes on", async () => {
  const { clock, bucket, replica } = setup();
  const { lru, store } = replica("a");
  const blobs = [];
  for (const text of ["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc", "dddddddddd"]) {
    blobs.push(await putBlob(store, text));
    clock.now += MINUTE;
  }
  clock.now += 60 * MINUTE;
  // Each delete takes a minute of the pass's clock (a slow bucket).
  const del = bucket.delete.bind(bucket);
  bucket.delete = async (key) => {
    if (key.startsWith("cache/blobs/")) clock.now += MINUTE;
    await del(key);
  };
  const report = await lru.evict({ maxBytes: 0, graceMs: 0, deadline: clock.now + MINUTE + 1 });
  assertEquals(report.deleted.map((d) => d.digest), blobs.slice(0, 2).map((b) => b.digest));
  assertEquals(report.timedOut, true);
  assertEquals([report.count, report.total], [2, 20]);
  const index = JSON.parse(new TextDecoder().decode(bucket.objects.get("cache/index.json")!.bytes));
  assertEquals(
    index.blobs.map((row: unknown[]) => row[0]).sort(),
    blobs.slice(2).map((b) => b.digest).sort(),
  );
  assertEquals(bucket.objects.has("cache/leases/evict"), false, "the lease is released");

  const next = await lru.evict({ maxBytes: 0, graceMs: 0 });
  assertEquals(next.deleted.map((d) => d.digest), blobs.slice(2).map((b) => b.digest));
  assertEquals(next.timedOut, undefined);
});
