import { assertEquals, assertRejects } from "../../test/_assert.ts";
import { Semaphore } from "./_semaphore.ts";

Deno.test("Semaphore.enqueue() grants places in call order, and a cancelled place gives its turn away", async () => {
  const slots = new Semaphore(1);
  const first = slots.enqueue();
  const second = slots.enqueue();
  const third = slots.enqueue();
  assertEquals([first.granted, second.granted, third.granted], [true, false, false]);
  const order: string[] = [];
  second.ready.then(() => order.push("second"));
  third.ready.then((release) => {
    order.push("third");
    release();
  });
  second.cancel();
  (await first.ready)();
  await third.ready;
  assertEquals(order, ["third"]);
  // Every slot came back: one is free again.
  assertEquals(slots.tryAcquire(), true);
  assertEquals(slots.tryAcquire(), false);
});

Deno.test("Semaphore.enqueue() releases once however often cancel() is called after the grant", () => {
  const slots = new Semaphore(1);
  const place = slots.enqueue();
  place.cancel();
  place.cancel();
  assertEquals(slots.tryAcquire(), true);
  assertEquals(slots.tryAcquire(), false);
});

Deno.test("Semaphore.enqueue() rejects a waiting place when its signal aborts, and leaves the line", async () => {
  const slots = new Semaphore(1);
  const held = slots.enqueue();
  const controller = new AbortController();
  const waiting = slots.enqueue(controller.signal);
  controller.abort(new Error("stopped"));
  await assertRejects(() => waiting.ready, Error, "stopped");
  held.cancel();
  assertEquals(slots.tryAcquire(), true);
});
