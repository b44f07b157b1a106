/**
 * Progress output for the `tug` command line, matching `docker pull`: live bars on a terminal, one line per
 * status change otherwise, Docker Engine JSON messages with `--json`, only the reference with `-q`.
 * Runtime-neutral: renderers write to a text function or a `WritableStreamDefaultWriter<Uint8Array>`, so
 * they run on Deno, Node and in browsers.
 *
 * @example
 * ```ts
 * import { createRenderer, humanSize } from "./mod.ts";
 *
 * let text = "";
 * const renderer = createRenderer({ mode: "json", isTerminal: false, write: (t) => void (text += t) });
 * renderer.onProgress({ type: "layer", status: "Downloading", id: "a1b2c3d4e5f6", current: 1_234, total: 5_678 });
 * await renderer.close();
 * console.assert(JSON.parse(text).progressDetail.total === 5_678);
 * console.assert(humanSize(5_678) === "5.678kB");
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "../../../src/pull/human_size.ts";
export * from "../../../src/pull/format_progress.ts";
export * from "./terminal_renderer.ts";
export * from "./plain_renderer.ts";
export * from "./json_renderer.ts";
export * from "./quiet_renderer.ts";
export * from "./create_renderer.ts";
