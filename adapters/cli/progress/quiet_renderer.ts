/**
 * `docker pull -q`: nothing but the pulled reference.
 *
 * @module
 */
import type { ProgressEvent } from "../../../src/pull/events.ts";
import type { Renderer, RendererOutput } from "./types.ts";
import { Sink } from "./_sink.ts";

/**
 * Ignores every event and prints the full reference given to `close()` on a line of its own, as
 * `docker pull -q` does (`docker.io/library/alpine:3.20`); prints nothing when the pull failed and no
 * reference is given.
 *
 * @example
 * ```ts
 * import { QuietRenderer } from "./quiet_renderer.ts";
 *
 * let text = "";
 * const renderer = new QuietRenderer((chunk) => void (text += chunk));
 * renderer.onProgress({ type: "layer", status: "Pulling fs layer", id: "a1b2c3d4e5f6" });
 * await renderer.close("docker.io/library/alpine:3.20");
 * console.assert(text === "docker.io/library/alpine:3.20\n");
 * ```
 */
export class QuietRenderer implements Renderer {
  #sink: Sink;
  #closed = false;

  /** @param output Where the reference goes (a text function or a byte writer). */
  constructor(output: RendererOutput) {
    this.#sink = new Sink(output);
  }

  /** Does nothing: quiet mode shows no progress. */
  readonly onProgress = (_event: ProgressEvent): void => {};

  /** Prints `reference` (once) and waits for the output. */
  readonly close = async (reference?: string): Promise<void> => {
    if (!this.#closed && reference) this.#sink.write(`${reference}\n`);
    this.#closed = true;
    await this.#sink.flush();
  };
}
