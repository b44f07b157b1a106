/**
 * The shapes every progress renderer shares.
 *
 * @module
 */
import type { ProgressEvent } from "../../../src/pull/events.ts";

/**
 * Where a renderer writes: a function taking text (e.g. `(t) => process.stdout.write(t)`) or a writer of
 * bytes (e.g. `Deno.stdout.writable.getWriter()`); text is UTF-8 encoded for a writer. The renderer never
 * closes or releases the writer: the caller owns it.
 *
 * @example
 * ```ts
 * import type { RendererOutput } from "./types.ts";
 *
 * let text = "";
 * const output: RendererOutput = (chunk) => void (text += chunk);
 * ```
 */
export type RendererOutput = WritableStreamDefaultWriter<Uint8Array> | ((text: string) => void);

/**
 * Turns progress events into output. `onProgress` is a bound function, so it can be handed to `pull()`
 * as is; `close()` draws what is still pending and resolves once everything is written (it rejects with
 * the first write error, if a write failed).
 *
 * @example
 * ```ts
 * import type { Renderer } from "./types.ts";
 * import { createRenderer } from "./create_renderer.ts";
 *
 * const renderer: Renderer = createRenderer({ mode: "plain", isTerminal: false, write: () => {} });
 * renderer.onProgress({ type: "layer", status: "Pulling fs layer", id: "a1b2c3d4e5f6" });
 * await renderer.close("docker.io/library/alpine:3.20");
 * ```
 */
export interface Renderer {
  /** Takes one event; never throws for a write failure (see `close`). */
  readonly onProgress: (event: ProgressEvent) => void;
  /**
   * Flushes and finishes. `reference` is the pulled image's full reference: only the quiet renderer prints
   * it (the others leave printing it to the caller, as the `docker` command prints it after the stream).
   */
  readonly close: (reference?: string) => Promise<void>;
}

/**
 * Time and timers, injectable so tests can drive throttling without sleeping. Times are milliseconds
 * from any fixed origin (`performance.now()` by default).
 *
 * @example
 * ```ts
 * import type { RendererClock } from "./types.ts";
 *
 * const clock: RendererClock = {
 *   now: () => performance.now(),
 *   setTimeout: (callback, ms) => setTimeout(callback, ms),
 *   clearTimeout: (handle) => clearTimeout(handle as number),
 * };
 * ```
 */
export interface RendererClock {
  /** The current time in milliseconds. */
  now(): number;
  /** Calls `callback` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a pending `setTimeout`. */
  clearTimeout(handle: unknown): void;
}
