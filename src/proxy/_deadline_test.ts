import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { answerWithin } from "./_deadline.ts";

Deno.test("answerWithin() rejects with TIMEOUT at the deadline, even when the request ignores the signal", async () => {
  let late: string | undefined;
  let resolveLate!: (value: string) => void;
  const started = Date.now();
  await assertRejects(
    () => answerWithin(50, "test", () => new Promise<string>((r) => resolveLate = r), (v) => late = v),
    Error,
    "did not answer within 50 ms",
  );
  assert(Date.now() - started < 1_000);
  resolveLate("answer");
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(late, "answer");
});

Deno.test("answerWithin() passes an answer in time through and aborts the signal of a late one", async () => {
  assertEquals(await answerWithin(1_000, "test", () => Promise.resolve(7), () => {}), 7);
  let seen: AbortSignal | undefined;
  await assertRejects(() =>
    answerWithin(20, "test", (signal) => {
      seen = signal;
      return new Promise<number>((_, reject) =>
        signal!.addEventListener("abort", () => reject(signal!.reason))
      );
    }, () => {})
  );
  assert(seen?.aborted);
});
