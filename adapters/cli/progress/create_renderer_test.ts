import { assert, assertEquals, assertThrows } from "../../../test/_assert.ts";
import { createRenderer, type RendererMode } from "./create_renderer.ts";
import { TerminalRenderer } from "./terminal_renderer.ts";
import { PlainRenderer } from "./plain_renderer.ts";
import { JsonRenderer } from "./json_renderer.ts";
import { QuietRenderer } from "./quiet_renderer.ts";
import { FakeClock, recorder } from "./_test_utils.ts";

Deno.test("createRenderer() picks bars on a terminal and plain lines elsewhere for auto", () => {
  const write = () => {};
  assert(createRenderer({ mode: "auto", isTerminal: true, write }) instanceof TerminalRenderer);
  assert(createRenderer({ mode: "auto", isTerminal: false, write }) instanceof PlainRenderer);
});

Deno.test("createRenderer() honours an explicit mode whatever the output is", () => {
  const write = () => {};
  assert(createRenderer({ mode: "terminal", isTerminal: false, write }) instanceof TerminalRenderer);
  assert(createRenderer({ mode: "plain", isTerminal: true, write }) instanceof PlainRenderer);
  assert(createRenderer({ mode: "json", isTerminal: true, write }) instanceof JsonRenderer);
  assert(createRenderer({ mode: "quiet", isTerminal: true, write }) instanceof QuietRenderer);
});

Deno.test("createRenderer() passes columns and clock to the terminal renderer", async () => {
  const clock = new FakeClock();
  const out = recorder(clock);
  const r = createRenderer({ mode: "auto", isTerminal: true, columns: 80, clock, write: out.write });
  r.onProgress({ type: "layer", status: "Downloading", id: "a1b2c3d4e5f6", current: 500, total: 1_000 });
  r.onProgress({ type: "layer", status: "Downloading", id: "a1b2c3d4e5f6", current: 600, total: 1_000 });
  assertEquals(clock.pending, 1);
  await r.close();
  assertEquals(out.writes, [
    "\x1b[2Ka1b2c3d4e5f6: Downloading     500B/1kB\n",
    "\x1b[1A\x1b[2Ka1b2c3d4e5f6: Downloading     600B/1kB\n",
  ]);
});

Deno.test("createRenderer()'s onProgress works detached, as pull() calls it", async () => {
  const out = recorder();
  const { onProgress, close } = createRenderer({ mode: "plain", isTerminal: false, write: out.write });
  onProgress({ type: "layer", status: "Pull complete", id: "a1b2c3d4e5f6" });
  await close();
  assertEquals(out.text(), "a1b2c3d4e5f6: Pull complete\n");
});

Deno.test("createRenderer() refuses an unknown mode and an unusable write with TypeError", () => {
  assertThrows(
    () => createRenderer({ mode: "fancy" as RendererMode, isTerminal: true, write: () => {} }),
    TypeError,
    'Cannot show progress as "fancy"',
  );
  assertThrows(
    () => createRenderer({ mode: "plain", isTerminal: true, write: {} as unknown as () => void }),
    TypeError,
    "write must be a function or a stream writer",
  );
});
