import { assert, assertEquals, assertThrows } from "../../../test/_assert.ts";
import { JsonRenderer } from "./json_renderer.ts";
import { FakeClock, recorder } from "./_test_utils.ts";

const L1 = "a1b2c3d4e5f6";
const L2 = "0f9e8d7c6b5a";
const GT = "\\u003e"; // ">" as Go's encoding/json writes it

Deno.test("JsonRenderer writes Docker Engine's JSON messages byte for byte", async () => {
  const out = recorder();
  const r = new JsonRenderer(out.write, { clock: new FakeClock() });
  r.onProgress({
    type: "pulling-from",
    status: "Pulling from library/alpine",
    id: "3.20",
    repository: "library/alpine",
  });
  r.onProgress({ type: "layer", status: "Pulling fs layer", id: L1 });
  r.onProgress({ type: "layer", status: "Downloading", id: L1, current: 1_234, total: 5_678 });
  r.onProgress({ type: "layer", status: "Downloading", id: L1, current: 5_678, total: 5_678 });
  r.onProgress({ type: "layer", status: "Download complete", id: L1 });
  r.onProgress({ type: "layer", status: "Extracting", id: L1, current: 0, total: 5_678 });
  r.onProgress({ type: "layer", status: "Pull complete", id: L1, digest: "sha256:aa" });
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
  await r.close("docker.io/library/alpine:3.20");
  assertEquals(out.writes, [
    `{"status":"Pulling from library/alpine","id":"3.20"}\r\n`,
    `{"status":"Pulling fs layer","progressDetail":{},"id":"${L1}"}\r\n`,
    `{"status":"Downloading","progressDetail":{"current":1234,"total":5678},` +
    `"progress":"[==========${GT}${" ".repeat(40)}]  1.234kB/5.678kB","id":"${L1}"}\r\n`,
    `{"status":"Downloading","progressDetail":{"current":5678,"total":5678},` +
    `"progress":"[${"=".repeat(50)}${GT}]  5.678kB/5.678kB","id":"${L1}"}\r\n`,
    `{"status":"Download complete","progressDetail":{},"id":"${L1}"}\r\n`,
    `{"status":"Extracting","progressDetail":{"total":5678},` +
    `"progress":"[${GT}${" ".repeat(50)}]       0B/5.678kB","id":"${L1}"}\r\n`,
    `{"status":"Pull complete","progressDetail":{},"id":"${L1}"}\r\n`,
    `{"status":"Digest: sha256:0123456789abcdef"}\r\n`,
    `{"status":"Status: Downloaded newer image for alpine:3.20"}\r\n`,
  ]);
});

Deno.test("JsonRenderer reproduces a line of a real dockerd pull stream", async () => {
  const out = recorder();
  const r = new JsonRenderer(out.write, { newline: "\n" });
  r.onProgress({
    type: "layer",
    status: "Downloading",
    id: "79fcf5a213c7",
    current: 49_152,
    total: 4_335_400,
  });
  await r.close();
  assertEquals(
    out.text(),
    `{"status":"Downloading","progressDetail":{"current":49152,"total":4335400},"progress":"[\\u003e` +
      `                                                  ]  49.15kB/4.335MB","id":"79fcf5a213c7"}\n`,
  );
});

Deno.test("JsonRenderer lines parse as JSON with Docker's key order", async () => {
  const out = recorder();
  const r = new JsonRenderer(out.write, { clock: new FakeClock() });
  r.onProgress({
    type: "pulling-from",
    status: "Pulling from library/alpine",
    id: "3.20",
    repository: "library/alpine",
  });
  r.onProgress({ type: "layer", status: "Waiting", id: L1 });
  r.onProgress({ type: "layer", status: "Downloading", id: L1, current: 10, total: 20 });
  r.onProgress({ type: "layer", status: "Downloading", id: L2, current: 10 });
  r.onProgress({ type: "digest", status: "Digest: <sha256> & more", digest: "<sha256> & more" });
  await r.close();
  assert(out.text().endsWith("\r\n"));
  const messages = out.text().split("\r\n").slice(0, -1).map((line) => JSON.parse(line));
  assertEquals(messages.map((m) => Object.keys(m)), [
    ["status", "id"],
    ["status", "progressDetail", "id"],
    ["status", "progressDetail", "progress", "id"],
    ["status", "progressDetail", "progress", "id"],
    ["status"],
  ]);
  assertEquals(messages[2].progressDetail, { current: 10, total: 20 });
  assertEquals(messages[2].progress, `[=========================>${" ".repeat(25)}]      10B/20B`);
  assertEquals(messages[3], {
    status: "Downloading",
    progressDetail: { current: 10 },
    progress: "     10B",
    id: L2,
  });
  assertEquals(messages[4].status, "Digest: <sha256> & more");
  assert(out.text().includes("\\u003csha256\\u003e \\u0026 more"), "HTML characters escaped as Go does");
});

Deno.test("JsonRenderer throttles byte updates per layer to one per 100 ms and keeps the last value", async () => {
  const clock = new FakeClock();
  const out = recorder(clock);
  const r = new JsonRenderer(out.write, { clock, newline: "\n" });
  r.onProgress({ type: "layer", status: "Pulling fs layer", id: L1 });
  for (let i = 1; i <= 250; i++) {
    r.onProgress({ type: "layer", status: "Downloading", id: L1, current: i, total: 1_000 });
    r.onProgress({ type: "layer", status: "Downloading", id: L2, current: i * 2, total: 1_000 });
    clock.advance(1);
  }
  r.onProgress({ type: "layer", status: "Verifying Checksum", id: L1 });
  await r.close();
  const lines = out.text().trimEnd().split("\n").map((l) => JSON.parse(l));
  const l1 = lines.filter((m) => m.id === L1);
  const l2 = lines.filter((m) => m.id === L2);
  // t=0, 100, 200 pass the throttle; the value held at t=249 comes out before the status change.
  assertEquals(l1.map((m) => m.progressDetail.current ?? m.status), [
    "Pulling fs layer",
    1,
    101,
    201,
    250,
    "Verifying Checksum",
  ]);
  // The other layer is throttled on its own; its held value comes out at close.
  assertEquals(l2.map((m) => m.progressDetail.current), [2, 202, 402, 500]);
  assertEquals(lines.length, 10);
});

Deno.test("JsonRenderer never holds back the first value of a status or the one that reaches the total", async () => {
  const clock = new FakeClock();
  const out = recorder(clock);
  const r = new JsonRenderer(out.write, { clock, newline: "\n" });
  r.onProgress({ type: "layer", status: "Downloading", id: L1, current: 1, total: 3 });
  r.onProgress({ type: "layer", status: "Downloading", id: L1, current: 2, total: 3 });
  r.onProgress({ type: "layer", status: "Downloading", id: L1, current: 3, total: 3 });
  r.onProgress({ type: "layer", status: "Extracting", id: L1, current: 1, total: 3 });
  assertEquals(out.writes.length, 3);
  r.onProgress({ type: "digest", status: "Digest: sha256:00", digest: "sha256:00" }); // a message lets held values out first
  await r.close();
  const seen = out.text().trimEnd().split("\n").map((l) => JSON.parse(l));
  assertEquals(seen.map((m) => [m.status, m.progressDetail?.current]), [
    ["Downloading", 1],
    ["Downloading", 3],
    ["Extracting", 1],
    ["Digest: sha256:00", undefined],
  ]);
});

Deno.test("JsonRenderer releases a held value before a message line, keeping the stream in order", async () => {
  const clock = new FakeClock();
  const out = recorder(clock);
  const r = new JsonRenderer(out.write, { clock, newline: "\n" });
  r.onProgress({ type: "layer", status: "Downloading", id: L1, current: 1, total: 10 });
  r.onProgress({ type: "layer", status: "Downloading", id: L1, current: 5, total: 10 });
  r.onProgress({ type: "status", status: "Status: interrupted", message: "interrupted" });
  await r.close();
  const seen = out.text().trimEnd().split("\n").map((l) => JSON.parse(l));
  assertEquals(seen.map((m) => m.progressDetail?.current ?? m.status), [1, 5, "Status: interrupted"]);
});

Deno.test("JsonRenderer refuses a bad interval or line ending", () => {
  assertThrows(() => new JsonRenderer(() => {}, { interval: Number.NaN }), RangeError, "NaN ms");
  assertThrows(
    () => new JsonRenderer(() => {}, { newline: "\r" as "\n" }),
    TypeError,
    "Cannot end JSON lines",
  );
});
