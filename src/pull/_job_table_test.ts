import { assertEquals, assertRejects } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import type { ProgressEvent } from "./events.ts";
import { JobTable } from "./_job_table.ts";

/** A job that waits for `finish` and remembers its signal. */
function controllable() {
  let finish!: (value: string) => void;
  const started: AbortSignal[] = [];
  let emit!: (event: ProgressEvent) => void;
  const start = (signal: AbortSignal, report: (event: ProgressEvent) => void) => {
    started.push(signal);
    emit = report;
    return new Promise<string>((resolve, reject) => {
      finish = resolve;
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  };
  return { start, started, finish: (v: string) => finish(v), emit: (e: ProgressEvent) => emit(e) };
}

Deno.test("JobTable.join() runs one job per key for every caller, and reports to each while it waits", async () => {
  const table = new JobTable<string>();
  const job = controllable();
  const seenA: string[] = [];
  const seenB: string[] = [];
  const a = table.join("k", job.start, { onProgress: (e) => seenA.push(e.status) });
  const b = table.join("k", job.start, { onProgress: (e) => seenB.push(e.status) });
  const other = table.join("other", () => Promise.resolve("second job"));
  assertEquals(job.started.length, 1);
  job.emit({ type: "layer", status: "Downloading", id: "a1b2c3d4e5f6" });
  job.finish("done");
  assertEquals(await Promise.all([a, b, other]), ["done", "done", "second job"]);
  assertEquals([seenA, seenB], [["Downloading"], ["Downloading"]]);
  // A finished job leaves the table: the next caller starts a new one.
  assertEquals(table.size, 0);
  const again = controllable();
  const c = table.join("k", again.start);
  assertEquals(again.started.length, 1);
  again.finish("again");
  assertEquals(await c, "again");
});

Deno.test("JobTable.join(): a caller that cancels leaves at once; the job stops when the last caller left", async () => {
  const table = new JobTable<string>();
  const job = controllable();
  const first = new AbortController();
  const second = new AbortController();
  const a = table.join("k", job.start, { signal: first.signal });
  const b = table.join("k", job.start, { signal: second.signal });
  first.abort(new TugError("ABORTED", "first caller gone"));
  const err = await assertRejects(() => a, TugError);
  assertEquals(err.message, "first caller gone");
  // The other caller still waits: the job runs on.
  assertEquals(job.started[0].aborted, false);
  second.abort();
  const last = await assertRejects(() => b, TugError);
  assertEquals([last.code, last.message], ["ABORTED", "The pull was cancelled"]);
  assertEquals(job.started[0].aborted, true);
  // An already-cancelled caller does not join at all.
  const gone = new AbortController();
  gone.abort();
  await assertRejects(
    () => table.join("x", () => Promise.resolve("never"), { signal: gone.signal }),
    TugError,
  );
});
