import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { withIdleLimit } from "./idle_timer.ts";

Deno.test("withIdleLimit() errors a stream whose source stalls, and cancels the source", async () => {
  let cancelled = false;
  const source = new ReadableStream<Uint8Array>({
    start: (c) => c.enqueue(new Uint8Array(3)),
    cancel: () => void (cancelled = true),
  });
  const started = Date.now();
  await assertRejects(
    () => new Response(withIdleLimit(source, 50, "test")).arrayBuffer(),
    TypeError,
    "sent nothing for 50 ms",
  );
  assert(Date.now() - started < 2_000);
  assert(cancelled, "the stalled source was not cancelled");
});

Deno.test("withIdleLimit() passes a source that keeps sending, to a client that reads slowly", async () => {
  let n = 0;
  const source = new ReadableStream<Uint8Array>({
    async pull(c) {
      await new Promise((r) => setTimeout(r, 20));
      if (n++ === 5) c.close();
      else c.enqueue(new Uint8Array(2));
    },
  }, { highWaterMark: 0 });
  const reader = withIdleLimit(source, 60, "test").getReader();
  let bytes = 0;
  // Bounded: the source ends after 5 chunks.
  for (let i = 0; i < 10; i++) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    // The client pauses longer than the limit between reads: only upstream waits count.
    await new Promise((r) => setTimeout(r, 100));
  }
  assertEquals(bytes, 10);
});
