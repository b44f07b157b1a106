import { assert, assertEquals, assertRejects } from "../../../test/_assert.ts";
import {
  digestEvent,
  errorEvent,
  layerEvent,
  type ProgressEvent,
  pullingFromEvent,
  statusEvent,
} from "../../../src/pull/events.ts";
import { PlainRenderer } from "./plain_renderer.ts";
import { recorder } from "./_test_utils.ts";

const L1 = "a1b2c3d4e5f6";
const L2 = "0f9e8d7c6b5a";

/** A pull of two layers as a puller reports it, with many byte updates. */
function pullEvents(): ProgressEvent[] {
  const events: ProgressEvent[] = [
    { type: "pulling-from", status: "Pulling from library/alpine", id: "3.20", repository: "library/alpine" },
    { type: "layer", status: "Pulling fs layer", id: L1 },
    { type: "layer", status: "Pulling fs layer", id: L2 },
    { type: "layer", status: "Waiting", id: L2 },
  ];
  for (let i = 1; i <= 50; i++) {
    events.push({ type: "layer", status: "Downloading", id: L1, current: i * 1_000, total: 50_000 });
  }
  events.push(
    { type: "layer", status: "Verifying Checksum", id: L1 },
    { type: "layer", status: "Download complete", id: L1 },
    { type: "layer", status: "Already exists", id: L2 },
  );
  for (let i = 1; i <= 50; i++) {
    events.push({ type: "layer", status: "Extracting", id: L1, current: i * 1_000, total: 50_000 });
  }
  events.push(
    { type: "layer", status: "Pull complete", id: L1 },
    { type: "digest", status: "Digest: sha256:0123456789abcdef", digest: "sha256:0123456789abcdef" },
    {
      type: "status",
      status: "Status: Downloaded newer image for alpine:3.20",
      message: "Downloaded newer image for alpine:3.20",
    },
  );
  return events;
}

Deno.test("PlainRenderer prints what `docker pull | cat` prints: each status change once, no byte counts", async () => {
  const out = recorder();
  const r = new PlainRenderer(out.write);
  for (const e of pullEvents()) r.onProgress(e);
  await r.close("docker.io/library/alpine:3.20");
  assertEquals(
    out.text(),
    [
      "3.20: Pulling from library/alpine",
      `${L1}: Pulling fs layer`,
      `${L2}: Pulling fs layer`,
      `${L2}: Waiting`,
      `${L1}: Verifying Checksum`,
      `${L1}: Download complete`,
      `${L2}: Already exists`,
      `${L1}: Pull complete`,
      "Digest: sha256:0123456789abcdef",
      "Status: Downloaded newer image for alpine:3.20",
      "",
    ].join("\n"),
  );
  assert(!out.text().includes("\x1b"), "no ANSI sequences");
  assert(!out.text().includes("["), "no bars");
});

Deno.test("PlainRenderer with transfers prints Downloading and Extracting once per layer", async () => {
  const out = recorder();
  const r = new PlainRenderer(out.write, { transfers: true });
  for (const e of pullEvents()) r.onProgress(e);
  await r.close();
  const lines = out.text().split("\n");
  assertEquals(lines.filter((l) => l === `${L1}: Downloading`).length, 1);
  assertEquals(lines.filter((l) => l === `${L1}: Extracting`).length, 1);
  assertEquals(lines.indexOf(`${L1}: Downloading`), lines.indexOf(`${L2}: Waiting`) + 1);
  assertEquals(lines.length, 13);
});

Deno.test("PlainRenderer prints a status again when it comes back after another", async () => {
  const out = recorder();
  const r = new PlainRenderer(out.write);
  r.onProgress({ type: "retry", status: "Retrying in 5 seconds", id: L1, seconds: 5 });
  r.onProgress({ type: "retry", status: "Retrying in 5 seconds", id: L1, seconds: 5 });
  r.onProgress({ type: "layer", status: "Downloading", id: L1, current: 1, total: 2 });
  r.onProgress({ type: "layer", status: "Waiting", id: L1 });
  r.onProgress({ type: "retry", status: "Retrying in 5 seconds", id: L1, seconds: 5 });
  r.onProgress({ type: "digest", status: "Digest: sha256:00", digest: "sha256:00" });
  r.onProgress({ type: "digest", status: "Digest: sha256:00", digest: "sha256:00" });
  await r.close();
  assertEquals(
    out.text(),
    `${L1}: Retrying in 5 seconds\n${L1}: Waiting\n${L1}: Retrying in 5 seconds\nDigest: sha256:00\nDigest: sha256:00\n`,
  );
});

Deno.test("PlainRenderer writes bytes to a stream writer and reports its failure at close", async () => {
  const chunks: string[] = [];
  const ok = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(new TextDecoder().decode(c)) });
  const okWriter = ok.getWriter();
  const r1 = new PlainRenderer(okWriter);
  r1.onProgress({ type: "layer", status: "Pull complete", id: L1 });
  await r1.close();
  assertEquals(chunks, [`${L1}: Pull complete\n`]);
  await okWriter.close();

  const broken = new WritableStream<Uint8Array>({
    write: () => {
      throw new Error("disk full");
    },
  });
  const r2 = new PlainRenderer(broken.getWriter());
  r2.onProgress({ type: "layer", status: "Pull complete", id: L1 });
  r2.onProgress({ type: "digest", status: "Digest: sha256:00", digest: "sha256:00" });
  await assertRejects(() => r2.close(), Error, "disk full");
});

Deno.test("PlainRenderer prints Already exists again for a layer the next tag of pull -a shares", async () => {
  const out = recorder();
  const r = new PlainRenderer(out.write);
  for (const tag of ["3.19", "3.20"]) {
    r.onProgress(pullingFromEvent(tag, "library/alpine"));
    r.onProgress(layerEvent(L1, "Already exists"));
    r.onProgress(digestEvent("sha256:00"));
  }
  r.onProgress(statusEvent("Image is up to date for alpine"));
  await r.close();
  assertEquals(
    out.text(),
    [
      "3.19: Pulling from library/alpine",
      `${L1}: Already exists`,
      "Digest: sha256:00",
      "3.20: Pulling from library/alpine",
      `${L1}: Already exists`,
      "Digest: sha256:00",
      "Status: Image is up to date for alpine",
      "",
    ].join("\n"),
  );
});

Deno.test("PlainRenderer leaves an error event to the command's stderr line", async () => {
  const out = recorder();
  const r = new PlainRenderer(out.write);
  r.onProgress(errorEvent(new Error("manifest unknown")));
  await r.close();
  assertEquals(out.text(), "");
});
