import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { lruStore } from "../proxy/lru_store.ts";
import { frontedStore } from "./front_store.ts";
import { type LeaseSleep, ObjectLeases } from "./object_lease.ts";
import { type ObjectBucket, ObjectStore } from "./object_store.ts";

const DIGEST = "sha256:" + "ab".repeat(32);
const BLOB_KEY = `blobs/sha256/${"ab".repeat(32)}`;
const LEASE_KEY = `leases/sha256/${"ab".repeat(32)}`;

/** A bucket in memory; `conditional: false` ignores If-None-Match as s3rver does. */
function memoryBucket(conditional = true): ObjectBucket & { objects: Map<string, Uint8Array> } {
  const objects = new Map<string, Uint8Array>();
  const refuse = () => Promise.reject(new Error("not used here"));
  return {
    objects,
    head: (key) => Promise.resolve(objects.has(key) ? { size: objects.get(key)!.length } : undefined),
    get: (key) =>
      Promise.resolve(objects.has(key) ? new Response(objects.get(key)!.slice()).body! : undefined),
    put: (key, body, options) => {
      if (conditional && options?.ifNoneMatch && objects.has(key)) return Promise.resolve(false);
      objects.set(key, body.slice());
      return Promise.resolve(true);
    },
    delete: (key) => Promise.resolve(void objects.delete(key)),
    list: async function* () {},
    createMultipartUpload: refuse,
  };
}

/** A clock whose timers fire only when the test advances it. */
class FakeClock {
  time = 1_000_000;
  #timers: Array<{ at: number; resolve: () => void }> = [];
  readonly now = () => this.time;
  readonly sleep: LeaseSleep = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = { at: this.time + ms, resolve };
      this.#timers.push(timer);
      signal?.addEventListener("abort", () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        reject(signal.reason);
      }, { once: true });
    });
  /** Moves the clock forward, firing due timers in order, each followed by a turn of the event loop. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (let i = 0; i < 10_000; i++) {
      await new Promise((r) => setTimeout(r, 0));
      this.#timers.sort((a, b) => a.at - b.at);
      const next = this.#timers[0];
      if (next === undefined || next.at > end) break;
      this.#timers.shift();
      this.time = next.at;
      next.resolve();
    }
    this.time = end;
    await new Promise((r) => setTimeout(r, 0));
  }
  get pending(): number {
    return this.#timers.length;
  }
}

function leases(bucket: ObjectBucket, clock: { now: () => number; sleep: LeaseSleep }, ttl = 3000) {
  return new ObjectLeases({
    bucket,
    root: "",
    blobKey: (d) => `blobs/${d.replace(":", "/")}`,
    ttl,
    maxWait: 60_000,
    now: clock.now,
    sleep: clock.sleep,
  });
}

/** Whether `promise` has settled yet. */
function track<T>(promise: Promise<T>): { promise: Promise<T>; readonly done: boolean } {
  const state = { promise, done: false };
  promise.then(() => state.done = true, () => state.done = true);
  return state;
}

/** Settles `promise` while advancing the clock in steps (bounded). */
async function settle<T>(clock: FakeClock, promise: Promise<T>, step = 100, max = 1000): Promise<T> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  for (let i = 0; i < max && !done; i++) await clock.advance(step);
  assert(done, "settled within the bounded steps");
  return await promise;
}

Deno.test("ObjectLeases.claim() takes a free lease with a conditional write; a second claim waits for the size, then reports the holder", async () => {
  const bucket = memoryBucket();
  const clock = new FakeClock();
  const a = leases(bucket, clock);
  const b = leases(bucket, clock);
  const first = await a.claim(DIGEST);
  assert(first.kind === "lease");
  assertEquals(first.takeover, false);
  const record = JSON.parse(new TextDecoder().decode(bucket.objects.get(LEASE_KEY)!));
  assertEquals(record, { holder: first.lease.holder, expires: clock.time + 3000 });

  const claiming = track(b.claim(DIGEST));
  await clock.advance(200);
  assertEquals(claiming.done, false, "no size recorded yet: still polling");
  await first.lease.describe(4096);
  const second = await settle(clock, claiming.promise);
  assert(second.kind === "held");
  assertEquals(second.record.holder, first.lease.holder);
  assertEquals(second.record.size, 4096);
  await first.lease.release();
  assertEquals(bucket.objects.has(LEASE_KEY), false);
  assertEquals(clock.pending, 0, "the renewal timer is gone after release()");
});

Deno.test("ObjectLeases.wait() returns the committed blob once the holder committed and released", async () => {
  const bucket = memoryBucket();
  const clock = new FakeClock();
  const holder = await leases(bucket, clock).claim(DIGEST);
  assert(holder.kind === "lease");
  const waiting = leases(bucket, clock).wait(DIGEST);
  await clock.advance(500);
  bucket.objects.set(BLOB_KEY, new Uint8Array(7));
  await holder.lease.release();
  assertEquals(await settle(clock, waiting), { kind: "committed", size: 7 });
});

Deno.test("ObjectLeases: the holder's renewals keep the lease past its time to live; released without a commit, a waiter takes it", async () => {
  const bucket = memoryBucket();
  const clock = new FakeClock();
  const holder = await leases(bucket, clock).claim(DIGEST);
  assert(holder.kind === "lease");
  const waiting = track(leases(bucket, clock).wait(DIGEST));
  // Four times the time to live: renewed every third of it, never lapsed.
  await clock.advance(12_000);
  assertEquals(waiting.done, false);
  await holder.lease.release();
  const outcome = await settle(clock, waiting.promise);
  assert(outcome.kind === "lease");
  assertEquals(outcome.takeover, false);
  await outcome.lease.release();
});

Deno.test("ObjectLeases.wait() takes over a lease whose holder died (no renewal) once it lapsed", async () => {
  const bucket = memoryBucket();
  const clock = new FakeClock();
  // The dead holder's timers never fire: it never renews.
  const dead = leases(bucket, {
    now: clock.now,
    sleep: (_ms, signal) =>
      new Promise<void>((_resolve, reject) => signal?.addEventListener("abort", () => reject(signal.reason))),
  });
  const gone = await dead.claim(DIGEST);
  assert(gone.kind === "lease");
  const waiting = track(leases(bucket, clock).wait(DIGEST));
  await clock.advance(2900);
  assertEquals(waiting.done, false, "not before the lease lapsed");
  const outcome = await settle(clock, waiting.promise);
  assert(outcome.kind === "lease");
  assertEquals(outcome.takeover, true);
  assert(clock.time >= 1_000_000 + 3000);
  const record = JSON.parse(new TextDecoder().decode(bucket.objects.get(LEASE_KEY)!));
  assertEquals(record.holder, outcome.lease.holder);
  // The dead holder's late release does not remove the new holder's lease.
  await gone.lease.release();
  assert(bucket.objects.has(LEASE_KEY));
  await outcome.lease.release();
  assertEquals(bucket.objects.has(LEASE_KEY), false);
});

Deno.test("ObjectLeases over a bucket that ignores If-None-Match: every process gets a lease (each downloads), and releases keep the last writer's", async () => {
  const bucket = memoryBucket(false);
  const clock = new FakeClock();
  // Two processes at once: both find no lease, both "create" it.
  const [a, b] = await Promise.all([
    leases(bucket, clock).claim(DIGEST),
    leases(bucket, clock).claim(DIGEST),
  ]);
  assert(a.kind === "lease" && b.kind === "lease");
  await a.lease.release();
  assert(bucket.objects.has(LEASE_KEY), "b's lease stays");
  await b.lease.release();
  assertEquals(bucket.objects.has(LEASE_KEY), false);
});

Deno.test("ObjectLeases.wait() ends with the signal's reason and leaves no timer; after maxWait it reports timeout", async () => {
  const bucket = memoryBucket();
  const clock = new FakeClock();
  const holder = await leases(bucket, clock).claim(DIGEST);
  assert(holder.kind === "lease");
  const controller = new AbortController();
  const waiting = leases(bucket, clock).wait(DIGEST, { signal: controller.signal });
  await clock.advance(300);
  controller.abort(new Error("client gone"));
  await assertRejects(() => waiting, Error, { includes: "client gone" });
  const patient = new ObjectLeases({
    bucket,
    root: "",
    blobKey: (d) => `blobs/${d.replace(":", "/")}`,
    maxWait: 2000,
    now: clock.now,
    sleep: clock.sleep,
  });
  assertEquals(await settle(clock, patient.wait(DIGEST)), { kind: "timeout" });
  await holder.lease.release();
  assertEquals(clock.pending, 0);
});

Deno.test("ObjectStore.leases keeps leases under PREFIX/leases/; frontedStore() and lruStore() pass them through", async () => {
  const bucket = memoryBucket();
  const store = new ObjectStore({ bucket, prefix: "cache" });
  const outcome = await store.leases.claim(DIGEST);
  assert(outcome.kind === "lease");
  assert(bucket.objects.has(`cache/${LEASE_KEY}`));
  await outcome.lease.release();
  assertEquals(store.leases.ttl, 30_000);
  assert(frontedStore(store).leases === store.leases);
  assert(lruStore(store, { maxBytes: 1 << 20 }).leases === store.leases);
  assertEquals(lruStore(store, { maxBytes: 1 << 20 }).capabilities, store.capabilities);
});
