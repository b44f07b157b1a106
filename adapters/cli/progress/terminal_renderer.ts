/**
 * `docker pull` progress for a terminal: one live line per layer, rewritten in place.
 *
 * @module
 */
import type { ProgressEvent } from "../../../src/pull/events.ts";
import type { Renderer, RendererClock, RendererOutput } from "./types.ts";
import { formatProgress } from "../../../src/pull/format_progress.ts";
import { countsOf, isLayerEvent, type LineEvent, messageLine } from "./_event.ts";
import { systemClock } from "./_clock.ts";
import { Sink } from "./_sink.ts";

/** Options for {@linkcode TerminalRenderer}. */
export interface TerminalRendererOptions {
  /**
   * The terminal's width, or a function read at every frame (so a resized window is followed). Unknown
   * means 200, as Docker assumes. Docker's bar is shown above 110 columns; live lines are cut to fit so
   * they never wrap (a wrapped line would break the cursor arithmetic).
   */
  readonly columns?: number | (() => number | undefined);
  /** Time and timers; the real ones by default. Tests inject a fake. */
  readonly clock?: RendererClock;
  /** The shortest time between two frames, in milliseconds: 100 (10 frames a second). */
  readonly interval?: number;
}

// Statuses after which a layer's line will not change again (see #settled()); "Extract complete" ends `tug unpack`.
const SETTLED = new Set(["Download complete", "Already exists", "Pull complete", "Extract complete"]);
// ANSI: erase the whole line; move the cursor up n lines (the sequences Docker's jsonmessage writes).
const ERASE_LINE = "\x1b[2K";
const up = (n: number) => `\x1b[${n}A`;

/**
 * Draws Docker's terminal pull output: each layer id gets a line in order of first appearance,
 * `a1b2c3d4e5f6: Downloading [=====>      ]  12.35MB/45.68MB`, rewritten in place with ANSI cursor
 * movement. Events are coalesced: at most one frame per `interval` (100 ms), each frame written with a
 * single write (cursor up over the live area, then every line erased and redrawn), and `close()` draws the
 * last state. Lines without a layer id ("Digest: …", "Status: …", "3.20: Pulling from library/alpine")
 * are printed once: while layers are still moving they go above the live area; once every layer has
 * settled they go below it and the area is frozen, so later layers start a new area — Docker's behaviour
 * for `pull -a`, where each tag's layers stay as they ended.
 *
 * Line format follows Docker's jsonmessage: `id: status progress`, so a layer without counts keeps
 * Docker's trailing space (`a1b2c3d4e5f6: Pull complete `).
 *
 * @example
 * ```ts
 * import { TerminalRenderer } from "./terminal_renderer.ts";
 *
 * let screen = "";
 * const renderer = new TerminalRenderer((text) => void (screen += text), { columns: 120 });
 * renderer.onProgress({ type: "pulling-from", status: "Pulling from library/alpine", id: "3.20" , repository: "library/alpine"});
 * renderer.onProgress({ type: "layer", status: "Downloading", id: "a1b2c3d4e5f6", current: 1_230, total: 45_600_000 });
 * await renderer.close();
 * console.assert(screen.endsWith("\x1b[2Ka1b2c3d4e5f6: Downloading [>" + " ".repeat(50) + "]   1.23kB/45.6MB\n"));
 * ```
 */
export class TerminalRenderer implements Renderer {
  #sink: Sink;
  #clock: RendererClock;
  #columns: number | (() => number | undefined) | undefined;
  #interval: number;
  /** The latest event of each layer on the live area, in order of first appearance. */
  #live = new Map<string, LineEvent>();
  /** Permanent lines waiting for the next frame (messages, and layers frozen by a message). */
  #pending: string[] = [];
  /** How many live lines the last frame drew; the cursor sits on the line below them. */
  #drawn = 0;
  #dirty = false;
  #lastFrame = -Infinity;
  #timer: unknown = undefined;
  #closed = false;

  /**
   * @param output Where frames go (a text function or a byte writer).
   * @param options Width, clock and frame interval.
   */
  constructor(output: RendererOutput, options: TerminalRendererOptions = {}) {
    this.#sink = new Sink(output);
    this.#clock = options.clock ?? systemClock;
    this.#columns = options.columns;
    this.#interval = options.interval ?? 100;
    if (!(this.#interval >= 0)) {
      throw new RangeError(`Cannot draw every ${options.interval} ms: expected ≥ 0`);
    }
  }

  /** Takes one event; the screen catches up within one interval. */
  readonly onProgress = (event: ProgressEvent): void => {
    // The command prints a failure itself (on stderr, as `docker pull` does).
    if (this.#closed || event.type === "error") return;
    if (isLayerEvent(event)) {
      this.#live.set(event.id, event);
    } else {
      if (this.#settled()) {
        // Docker clears its id → line map on a message, so what was drawn stays as it is.
        const columns = this.#width();
        for (const e of this.#live.values()) this.#pending.push(this.#line(e, columns));
        this.#live.clear();
      }
      this.#pending.push(messageLine(event));
    }
    this.#dirty = true;
    this.#schedule();
  };

  /** Cancels the frame timer, draws the final state and waits for the output. */
  readonly close = async (_reference?: string): Promise<void> => {
    if (!this.#closed) {
      this.#closed = true;
      if (this.#timer !== undefined) {
        this.#clock.clearTimeout(this.#timer);
        this.#timer = undefined;
      }
      this.#draw();
    }
    await this.#sink.flush();
  };

  /** True when no layer on the live area can still change (or there is none). */
  #settled(): boolean {
    for (const e of this.#live.values()) if (!SETTLED.has(e.status)) return false;
    return true;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    const wait = this.#lastFrame + this.#interval - this.#clock.now();
    if (wait <= 0) {
      this.#draw();
      return;
    }
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#draw();
    }, wait);
  }

  #draw(): void {
    if (!this.#dirty) return;
    this.#dirty = false;
    this.#lastFrame = this.#clock.now();
    const columns = this.#width();
    // One string, one write: a terminal never shows a half-drawn frame.
    let frame = this.#drawn > 0 ? up(this.#drawn) : "";
    for (const line of this.#pending) frame += `${ERASE_LINE}${line}\n`;
    for (const e of this.#live.values()) frame += `${ERASE_LINE}${this.#line(e, columns)}\n`;
    this.#pending = [];
    this.#drawn = this.#live.size;
    this.#sink.write(frame);
  }

  #width(): number | undefined {
    const columns = typeof this.#columns === "function" ? this.#columns() : this.#columns;
    return columns !== undefined && Number.isFinite(columns) && columns > 0 ? Math.floor(columns) : undefined;
  }

  #line(event: LineEvent, columns: number | undefined): string {
    const { current, total } = countsOf(event);
    const line = `${event.id}: ${event.status} ${formatProgress(current, total, { columns })}`;
    // Keep one column free: writing the last cell leaves some terminals in a pending-wrap state.
    return columns !== undefined && line.length >= columns ? line.slice(0, Math.max(1, columns - 1)) : line;
  }
}
