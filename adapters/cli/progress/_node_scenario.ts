// One pull's worth of events through every renderer, used to check that Node prints what Deno prints.
import { createRenderer, type RendererMode } from "./mod.ts";
import { FakeClock } from "./_test_utils.ts";
import type { ProgressEvent } from "../../../src/pull/events.ts";

const EVENTS: ProgressEvent[] = [
  { type: "pulling-from", status: "Pulling from library/alpine", id: "3.20", repository: "library/alpine" },
  { type: "layer", status: "Pulling fs layer", id: "a1b2c3d4e5f6" },
  { type: "layer", status: "Downloading", id: "a1b2c3d4e5f6", current: 1_230, total: 45_600_000 },
  { type: "layer", status: "Downloading", id: "a1b2c3d4e5f6", current: 45_600_000, total: 45_600_000 },
  { type: "layer", status: "Download complete", id: "a1b2c3d4e5f6" },
  { type: "layer", status: "Extracting", id: "a1b2c3d4e5f6", current: 1_200_000_000, total: 1_200_000_000 },
  { type: "layer", status: "Pull complete", id: "a1b2c3d4e5f6" },
  { type: "digest", status: "Digest: sha256:0123456789abcdef", digest: "sha256:0123456789abcdef" },
  {
    type: "status",
    status: "Status: Downloaded newer image for alpine:3.20",
    message: "Downloaded newer image for alpine:3.20",
  },
];

/** Runs the events through each mode, half into a text function and half into a byte writer. */
export async function scenario(): Promise<string> {
  let result = "";
  for (const mode of ["terminal", "plain", "json", "quiet"] as RendererMode[]) {
    for (const kind of ["text", "bytes"]) {
      const clock = new FakeClock();
      const chunks: string[] = [];
      const decoder = new TextDecoder();
      const stream = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(decoder.decode(c)) });
      const writer = stream.getWriter();
      const write = kind === "text" ? (t: string) => void chunks.push(t) : writer;
      const r = createRenderer({ mode, isTerminal: true, columns: 120, clock, write });
      for (const e of EVENTS) {
        r.onProgress(e);
        clock.advance(100);
      }
      await r.close("docker.io/library/alpine:3.20");
      await writer.close();
      result += `--- ${mode} ${kind}\n${chunks.join("")}`;
    }
  }
  return result;
}
