import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { idleLimit } from "./_idle_timer.ts";

Deno.test("idleLimit() errors a stream whose source stalls, and cancels the source", async () => {
  let cancelled = false;
  const source = new ReadableStream<Uint8Array>({
    start: (c) => c.enqueue(new Uint8Array(3)),
    cancel: () => void (cancelled = true),
  });
  const started = Date.now();
  await assertRejects(
    () => new Response(source.pipeThrough(idleLimit(50, "test"))).arrayBuffer(),
    TypeError,
    "sent nothing for 50 ms",
  );
  assert(Date.now() - started < 2_000);
  assert(cancelled, "the stalled source was not cancelled");
});

Deno.test("idleLimit() passes a source that keeps sending", async () => {
  let n = 0;
  const source = new ReadableStream<Uint8Array>({
    async pull(c) {
      await new Promise((r) => setTimeout(r, 20));
      if (n++ === 5) c.close();
      else c.enqueue(new Uint8Array(2));
    },
  });
  assertEquals((await new Response(source.pipeThrough(idleLimit(60, "test"))).arrayBuffer()).byteLength, 10);
});
