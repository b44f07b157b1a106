/**
 * `docker pull` progress when the output is not a terminal: one line per change, nothing redrawn.
 *
 * @module
 */
import type { ProgressEvent } from "../../../src/pull/events.ts";
import type { Renderer, RendererOutput } from "./types.ts";
import { hasCounts, isLayerEvent, messageLine } from "./_event.ts";
import { Sink } from "./_sink.ts";

/** Options for {@linkcode PlainRenderer}. */
export interface PlainRendererOptions {
  /**
   * Also print `id: Downloading` and `id: Extracting` once when a layer starts them. Off by default:
   * Docker leaves out every event that carries a byte count when its output is not a terminal.
   */
  readonly transfers?: boolean;
}

/**
 * Prints what `docker pull | cat` prints: `a1b2c3d4e5f6: Pulling fs layer`, `a1b2c3d4e5f6: Verifying
 * Checksum`, `a1b2c3d4e5f6: Download complete`, … — one line each time a layer's status changes, never
 * one per chunk of bytes, no bars and no ANSI sequences. Message lines ("Digest: …", "Status: …",
 * "3.20: Pulling from library/alpine") are printed as they come.
 *
 * @example
 * ```ts
 * import { PlainRenderer } from "./plain_renderer.ts";
 *
 * let text = "";
 * const renderer = new PlainRenderer((chunk) => void (text += chunk));
 * renderer.onProgress({ type: "layer", status: "Pulling fs layer", id: "a1b2c3d4e5f6" });
 * renderer.onProgress({ type: "layer", status: "Downloading", id: "a1b2c3d4e5f6", current: 10, total: 20 });
 * renderer.onProgress({ type: "layer", status: "Download complete", id: "a1b2c3d4e5f6" });
 * await renderer.close();
 * console.assert(text === "a1b2c3d4e5f6: Pulling fs layer\na1b2c3d4e5f6: Download complete\n");
 * ```
 */
export class PlainRenderer implements Renderer {
  #sink: Sink;
  #transfers: boolean;
  /** The last status printed for each layer id. */
  #printed = new Map<string, string>();

  /**
   * @param output Where lines go (a text function or a byte writer).
   * @param options Whether transfer starts are printed.
   */
  constructor(output: RendererOutput, options: PlainRendererOptions = {}) {
    this.#sink = new Sink(output);
    this.#transfers = options.transfers ?? false;
  }

  /** Prints the event's line if it is a message or a new status for its layer. */
  readonly onProgress = (event: ProgressEvent): void => {
    // The command prints a failure itself (on stderr, as `docker pull` does).
    if (event.type === "error") return;
    if (!isLayerEvent(event)) {
      // A message starts a new part of the output (`pull -a`: the next tag's "Pulling from"): a layer it
      // shares with an earlier tag prints its "Already exists" again, as Docker prints every status.
      this.#printed.clear();
      this.#sink.write(`${messageLine(event)}\n`);
      return;
    }
    if (hasCounts(event) && !this.#transfers) return;
    if (this.#printed.get(event.id) === event.status) return;
    this.#printed.set(event.id, event.status);
    this.#sink.write(`${event.id}: ${event.status}\n`);
  };

  /** Waits for the output. */
  readonly close = async (_reference?: string): Promise<void> => {
    await this.#sink.flush();
  };
}
