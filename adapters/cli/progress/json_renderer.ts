/**
 * `--json`: progress as Docker Engine's JSON message stream.
 *
 * @module
 */
import type { ProgressEvent } from "../../../src/pull/events.ts";
import type { Renderer, RendererClock, RendererOutput } from "./types.ts";
import { jsonMessageLine } from "../../../src/pull/jsonmessage.ts";
import { hasCounts, isLayerEvent } from "./_event.ts";
import { systemClock } from "./_clock.ts";
import { Sink } from "./_sink.ts";

/** Options for {@linkcode JsonRenderer}. */
export interface JsonRendererOptions {
  /** Time; the real clock by default. Only `now()` is used. */
  readonly clock?: RendererClock;
  /** The shortest time between two byte-count lines of one layer, in milliseconds: 100, as Docker. */
  readonly interval?: number;
  /** The line ending: `"\r\n"` as Docker Engine's stream (the default), or `"\n"`. */
  readonly newline?: "\r\n" | "\n";
}

interface LayerState {
  /** The status of the last line written for the layer. */
  status: string;
  /** When the last byte-count line was written. */
  at: number;
  /** A byte-count event held back by the throttle; written before anything else about the layer. */
  held: ProgressEvent | undefined;
}

/**
 * Writes one JSON object per event, byte for byte as Docker Engine streams them from `POST /images/create`:
 *
 * - layer updates: `{"status":"Downloading","progressDetail":{"current":1234,"total":5678},
 *   "progress":"[========\u003e  …]  1.234kB/5.678kB","id":"a1b2c3d4e5f6"}` — `progressDetail` is `{}` when
 *   there are no counts, zero counts are left out (Go's `omitempty`), `progress` is the bar text as Docker
 *   renders it for a non-terminal (always with the bar) and left out when empty;
 * - messages: `{"status":"Digest: sha256:…"}`, `{"status":"Pulling from library/alpine","id":"3.20"}` —
 *   no `progressDetail`, as Docker's `progress.Message` sends them;
 * - an error event (`tug pull` sends one when the pull fails): `{"errorDetail":{"message":…},"error":…}`.
 *
 * The lines come from `jsonMessageLine()` (src/pull/jsonmessage.ts), the mapping the proxy's
 * `/images/create` uses too.
 *
 * Keys come in Docker's order (status, progressDetail, progress, id); `<`, `>`, `&`, U+2028 and U+2029 are
 * escaped as Go's encoding/json does (`>` becomes `\u003e`), and lines end in `\r\n` like the Engine's.
 * Byte-count lines are throttled per layer like Docker's progress reader: at most one per `interval`,
 * except the first of a status and the one reaching the total. A held-back value is never lost: it is
 * written before the layer's next status change, before any message line, and at `close()`.
 *
 * @example
 * ```ts
 * import { JsonRenderer } from "./json_renderer.ts";
 *
 * const lines: string[] = [];
 * const renderer = new JsonRenderer((text) => void lines.push(text), { newline: "\n" });
 * renderer.onProgress({ type: "layer", status: "Pulling fs layer", id: "a1b2c3d4e5f6" });
 * renderer.onProgress({ type: "digest", status: "Digest: sha256:0123", digest: "sha256:0123" });
 * await renderer.close();
 * console.assert(lines[0] === '{"status":"Pulling fs layer","progressDetail":{},"id":"a1b2c3d4e5f6"}\n');
 * console.assert(lines[1] === '{"status":"Digest: sha256:0123"}\n');
 * ```
 */
export class JsonRenderer implements Renderer {
  #sink: Sink;
  #clock: RendererClock;
  #interval: number;
  #newline: string;
  #layers = new Map<string, LayerState>();
  #closed = false;

  /**
   * @param output Where lines go (a text function or a byte writer).
   * @param options Clock, throttle interval and line ending.
   */
  constructor(output: RendererOutput, options: JsonRendererOptions = {}) {
    this.#sink = new Sink(output);
    this.#clock = options.clock ?? systemClock;
    this.#interval = options.interval ?? 100;
    this.#newline = options.newline ?? "\r\n";
    if (!(this.#interval >= 0)) {
      throw new RangeError(`Cannot throttle to ${options.interval} ms: expected ≥ 0`);
    }
    if (this.#newline !== "\r\n" && this.#newline !== "\n") {
      throw new TypeError(
        `Cannot end JSON lines with ${JSON.stringify(options.newline)}: use "\\r\\n" or "\\n"`,
      );
    }
  }

  /** Writes the event's line now, or holds a byte-count update back until the throttle allows it. */
  readonly onProgress = (event: ProgressEvent): void => {
    if (this.#closed) return;
    if (!isLayerEvent(event)) {
      // Keep the stream in order: what a layer last reached comes before the message that follows it.
      this.#releaseAll();
      this.#write(event);
      return;
    }
    let state = this.#layers.get(event.id);
    if (!state) {
      state = { status: "", at: -Infinity, held: undefined };
      this.#layers.set(event.id, state);
    }
    if (state.held && state.held.status !== event.status) this.#release(state);
    if (!hasCounts(event)) {
      state.held = undefined;
      state.status = event.status;
      this.#write(event);
      return;
    }
    const now = this.#clock.now();
    const reachedTotal = event.total !== undefined && event.total > 0 && (event.current ?? 0) >= event.total;
    if (state.status !== event.status || reachedTotal || now - state.at >= this.#interval) {
      state.held = undefined;
      state.status = event.status;
      state.at = now;
      this.#write(event);
    } else {
      state.held = event;
    }
  };

  /** Writes every held-back value and waits for the output. */
  readonly close = async (_reference?: string): Promise<void> => {
    if (!this.#closed) {
      this.#releaseAll();
      this.#closed = true;
    }
    await this.#sink.flush();
  };

  #releaseAll(): void {
    for (const state of this.#layers.values()) if (state.held) this.#release(state);
  }

  #release(state: LayerState): void {
    const held = state.held!;
    state.held = undefined;
    state.at = this.#clock.now();
    this.#write(held);
  }

  #write(event: ProgressEvent): void {
    // The one jsonmessage mapping of src/, shared with the proxy's /images/create.
    this.#sink.write(jsonMessageLine(event, this.#newline as "\r\n" | "\n"));
  }
}
