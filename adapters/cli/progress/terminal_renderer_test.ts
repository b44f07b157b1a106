import { assert, assertEquals, assertRejects, assertThrows } from "../../../test/_assert.ts";
import { TerminalRenderer } from "./terminal_renderer.ts";
import { FakeClock, recorder } from "./_test_utils.ts";

const E = "\x1b[2K"; // erase line
const L1 = "a1b2c3d4e5f6";
const L2 = "0f9e8d7c6b5a";
const bar = (filled: number) => `[${"=".repeat(filled)}>${" ".repeat(50 - filled)}]`;

Deno.test("TerminalRenderer draws Docker's pull screen byte for byte, one write per frame", async () => {
  const clock = new FakeClock();
  const out = recorder(clock);
  const r = new TerminalRenderer(out.write, { columns: 120, clock });

  r.onProgress({
    type: "pulling-from",
    status: "Pulling from library/alpine",
    id: "3.20",
    repository: "library/alpine",
  });
  r.onProgress({ type: "layer", status: "Pulling fs layer", id: L1 });
  r.onProgress({ type: "layer", status: "Pulling fs layer", id: L2 });
  clock.advance(50);
  r.onProgress({ type: "layer", status: "Waiting", id: L2 });
  r.onProgress({ type: "layer", status: "Downloading", id: L1, current: 1_230, total: 45_600_000 });
  clock.advance(50); // t=100: the second frame
  r.onProgress({ type: "layer", status: "Downloading", id: L1, current: 22_800_000, total: 45_600_000 });
  clock.advance(99); // nothing due before t=200
  assertEquals(out.writes.length, 2);
  clock.advance(1); // t=200
  r.onProgress({ type: "layer", status: "Downloading", id: L1, current: 45_600_000, total: 45_600_000 });
  r.onProgress({ type: "layer", status: "Verifying Checksum", id: L1 });
  r.onProgress({ type: "layer", status: "Download complete", id: L1 });
  r.onProgress({ type: "layer", status: "Already exists", id: L2 });
  r.onProgress({ type: "layer", status: "Extracting", id: L1, current: 999, total: 45_600_000 });
  clock.advance(100); // t=300
  r.onProgress({ type: "layer", status: "Pull complete", id: L1 });
  r.onProgress({
    type: "digest",
    status: "Digest: sha256:0123456789abcdef",
    digest: "sha256:0123456789abcdef",
  });
  r.onProgress({
    type: "status",
    status: "Status: Downloaded newer image for alpine:3.20",
    message: "Downloaded newer image for alpine:3.20",
  });
  await r.close();

  assertEquals(out.writes, [
    `${E}3.20: Pulling from library/alpine\n`, // the first event is drawn at once
    `${E}${L1}: Downloading ${bar(0)}   1.23kB/45.6MB\n${E}${L2}: Waiting \n`, // coalesced: no "Pulling fs layer"
    `\x1b[2A${E}${L1}: Downloading ${bar(25)}   22.8MB/45.6MB\n${E}${L2}: Waiting \n`,
    `\x1b[2A${E}${L1}: Extracting ${bar(0)}     999B/45.6MB\n${E}${L2}: Already exists \n`,
    `\x1b[2A${E}${L1}: Pull complete \n${E}${L2}: Already exists \n` +
    `${E}Digest: sha256:0123456789abcdef\n${E}Status: Downloaded newer image for alpine:3.20\n`,
  ]);
  assertEquals(out.times, [0, 100, 200, 300, 300]);
  assertEquals(clock.pending, 0);
});

Deno.test("TerminalRenderer redraws at most 10 times a second however many events arrive", async () => {
  const clock = new FakeClock();
  const out = recorder(clock);
  const r = new TerminalRenderer(out.write, { columns: 120, clock });
  for (let i = 1; i <= 1_000; i++) {
    r.onProgress({ type: "layer", status: "Downloading", id: L1, current: i * 1_000, total: 1_000_000 });
    clock.advance(1);
  }
  await r.close();
  assertEquals(out.writes.length, 11); // t=0, one per 100 ms up to t=900, the last state at close
  for (let i = 1; i < out.times.length; i++) {
    assert(out.times[i] - out.times[i - 1] >= 100, `frame ${i} too soon`);
  }
  // The final frame shows the last value, not a throttled earlier one.
  assertEquals(out.writes.at(-1), `\x1b[1A${E}${L1}: Downloading ${bar(50)}      1MB/1MB\n`);
});

Deno.test("TerminalRenderer prints a message above the live area while layers are moving", async () => {
  const clock = new FakeClock();
  const out = recorder(clock);
  const r = new TerminalRenderer(out.write, { columns: 120, clock });
  r.onProgress({ type: "layer", status: "Downloading", id: L1, current: 500, total: 1_000 });
  r.onProgress({ type: "layer", status: "Pull complete", id: L2 });
  clock.advance(100);
  r.onProgress({ type: "message", status: "Retrying with the next mirror" });
  await r.close();
  assertEquals(out.writes, [
    `${E}${L1}: Downloading ${bar(25)}     500B/1kB\n`,
    `\x1b[1A${E}${L1}: Downloading ${bar(25)}     500B/1kB\n${E}${L2}: Pull complete \n`,
    `\x1b[2A${E}Retrying with the next mirror\n${E}${L1}: Downloading ${bar(25)}     500B/1kB\n` +
    `${E}${L2}: Pull complete \n`,
  ]);
});

Deno.test("TerminalRenderer freezes settled layers at a message, so the next image's layers get new lines", async () => {
  const clock = new FakeClock();
  const out = recorder(clock);
  const r = new TerminalRenderer(out.write, { columns: 120, clock });
  r.onProgress({
    type: "pulling-from",
    status: "Pulling from library/alpine",
    id: "3.19",
    repository: "library/alpine",
  });
  r.onProgress({ type: "layer", status: "Pull complete", id: L1 });
  clock.advance(100);
  r.onProgress({
    type: "pulling-from",
    status: "Pulling from library/alpine",
    id: "3.20",
    repository: "library/alpine",
  });
  r.onProgress({ type: "layer", status: "Pulling fs layer", id: L1 });
  clock.advance(100);
  await r.close();
  assertEquals(out.writes, [
    `${E}3.19: Pulling from library/alpine\n`,
    `${E}${L1}: Pull complete \n`,
    `\x1b[1A${E}${L1}: Pull complete \n${E}3.20: Pulling from library/alpine\n${E}${L1}: Pulling fs layer \n`,
  ]);
});

Deno.test("TerminalRenderer drops the bar at 110 columns and cuts live lines to the width", async () => {
  const narrow = recorder();
  const r1 = new TerminalRenderer(narrow.write, { columns: 80, clock: new FakeClock() });
  r1.onProgress({ type: "layer", status: "Downloading", id: L1, current: 12_345_678, total: 45_678_901 });
  await r1.close();
  assertEquals(narrow.text(), `${E}${L1}: Downloading  12.35MB/45.68MB\n`);

  const tiny = recorder();
  const r2 = new TerminalRenderer(tiny.write, { columns: 20, clock: new FakeClock() });
  r2.onProgress({ type: "layer", status: "Downloading", id: L1, current: 12_345_678, total: 45_678_901 });
  r2.onProgress({
    type: "digest",
    status: "Digest: sha256:0123456789abcdef0123456789abcdef",
    digest: "sha256:0123456789abcdef0123456789abcdef",
  });
  await r2.close();
  // The live line loses its tail; a message (printed once, never redrawn) stays whole.
  assertEquals(
    tiny.text(),
    `${E}${L1}: Downl\n\x1b[1A${E}Digest: sha256:0123456789abcdef0123456789abcdef\n` +
      `${E}${L1}: Downl\n`,
  );
});

Deno.test("TerminalRenderer reads a columns function at every frame, following a resized window", async () => {
  const clock = new FakeClock();
  const out = recorder(clock);
  let columns = 200;
  const r = new TerminalRenderer(out.write, { columns: () => columns, clock });
  r.onProgress({ type: "layer", status: "Downloading", id: L1, current: 500, total: 1_000 });
  columns = 60;
  clock.advance(100);
  r.onProgress({ type: "layer", status: "Downloading", id: L1, current: 600, total: 1_000 });
  await r.close();
  assertEquals(out.writes, [
    `${E}${L1}: Downloading ${bar(25)}     500B/1kB\n`,
    `\x1b[1A${E}${L1}: Downloading     600B/1kB\n`,
  ]);
});

Deno.test("TerminalRenderer.close() draws the pending state at once, stops its timer and ignores later events", async () => {
  const clock = new FakeClock();
  const out = recorder(clock);
  const r = new TerminalRenderer(out.write, { columns: 120, clock });
  r.onProgress({ type: "layer", status: "Pulling fs layer", id: L1 });
  r.onProgress({ type: "layer", status: "Pull complete", id: L1 });
  assertEquals(clock.pending, 1);
  await r.close();
  assertEquals(clock.pending, 0);
  assertEquals(out.writes, [`${E}${L1}: Pulling fs layer \n`, `\x1b[1A${E}${L1}: Pull complete \n`]);
  r.onProgress({ type: "layer", status: "Pulling fs layer", id: L2 });
  await r.close();
  clock.advance(1_000);
  assertEquals(out.writes.length, 2);
});

Deno.test("TerminalRenderer writes UTF-8 to a stream writer and waits for it at close", async () => {
  const chunks: Uint8Array[] = [];
  const stream = new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) });
  const writer = stream.getWriter();
  const r = new TerminalRenderer(writer, { columns: 120, clock: new FakeClock() });
  r.onProgress({
    type: "status",
    status: "Status: Downloaded newer image for alpine:3.20",
    message: "Downloaded newer image for alpine:3.20",
  });
  await r.close();
  assertEquals(new TextDecoder().decode(chunks[0]), `${E}Status: Downloaded newer image for alpine:3.20\n`);
  await writer.close();
});

Deno.test("TerminalRenderer keeps a failing write from the puller and reports it at close", async () => {
  const clock = new FakeClock();
  let calls = 0;
  const r = new TerminalRenderer(() => {
    calls++;
    throw new Error("EPIPE: broken pipe");
  }, { clock });
  r.onProgress({ type: "layer", status: "Pulling fs layer", id: L1 });
  clock.advance(100);
  r.onProgress({ type: "layer", status: "Pull complete", id: L1 });
  await assertRejects(() => r.close(), Error, "EPIPE");
  assertEquals(calls, 1); // nothing more is written after a failure
});

Deno.test("TerminalRenderer refuses a negative interval and an unusable output", () => {
  assertThrows(() => new TerminalRenderer(() => {}, { interval: -1 }), RangeError, "-1 ms");
  assertThrows(() => new TerminalRenderer(null as unknown as () => void), TypeError, "write must be");
});
