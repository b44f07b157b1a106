/**
 * Picks the progress renderer for a `tug` command's output.
 *
 * @module
 */
import type { Renderer, RendererClock, RendererOutput } from "./types.ts";
import { TerminalRenderer } from "./terminal_renderer.ts";
import { PlainRenderer } from "./plain_renderer.ts";
import { JsonRenderer } from "./json_renderer.ts";
import { QuietRenderer } from "./quiet_renderer.ts";

/** How progress is shown: `auto` is `terminal` on a terminal and `plain` otherwise. */
export type RendererMode = "auto" | "terminal" | "plain" | "json" | "quiet";

/** Options for {@linkcode createRenderer}. */
export interface CreateRendererOptions {
  /** The output style. */
  readonly mode: RendererMode;
  /** Whether the output is a terminal (decides `auto`). */
  readonly isTerminal: boolean;
  /** The terminal's width in columns, or a function read at every frame; used by the terminal renderer. */
  readonly columns?: number | (() => number | undefined);
  /** Where output goes: a text function or a byte writer. */
  readonly write: RendererOutput;
  /** Time and timers for throttling; the real ones by default. */
  readonly clock?: RendererClock;
  /** Plain output: also print `id: Downloading` / `id: Extracting` once per layer (see PlainRenderer). */
  readonly transfers?: boolean;
}

const MODES: readonly RendererMode[] = ["auto", "terminal", "plain", "json", "quiet"];

/**
 * Returns the renderer for `mode`: Docker's live bars ({@linkcode TerminalRenderer}), one line per status
 * change ({@linkcode PlainRenderer}), Docker Engine JSON messages ({@linkcode JsonRenderer}) or only the
 * final reference ({@linkcode QuietRenderer}).
 *
 * @throws {TypeError} For an unknown mode or an unusable `write`.
 *
 * @example
 * ```ts
 * import { createRenderer } from "./create_renderer.ts";
 *
 * let text = "";
 * const renderer = createRenderer({ mode: "auto", isTerminal: false, write: (t) => void (text += t) });
 * renderer.onProgress({ type: "pulling-from", status: "Pulling from library/alpine", id: "3.20" , repository: "library/alpine"});
 * renderer.onProgress({ type: "layer", status: "Pull complete", id: "a1b2c3d4e5f6" });
 * await renderer.close("docker.io/library/alpine:3.20");
 * console.assert(text === "3.20: Pulling from library/alpine\na1b2c3d4e5f6: Pull complete\n");
 * ```
 */
export function createRenderer(options: CreateRendererOptions): Renderer {
  const { mode, isTerminal, columns, write, clock, transfers } = options;
  switch (mode) {
    case "auto":
      return isTerminal
        ? new TerminalRenderer(write, { columns, clock })
        : new PlainRenderer(write, { transfers });
    case "terminal":
      return new TerminalRenderer(write, { columns, clock });
    case "plain":
      return new PlainRenderer(write, { transfers });
    case "json":
      return new JsonRenderer(write, { clock });
    case "quiet":
      return new QuietRenderer(write);
    default:
      throw new TypeError(
        `Cannot show progress as ${JSON.stringify(mode)}: expected one of ${MODES.join(", ")}`,
      );
  }
}
