import type { RendererClock } from "./types.ts";

/** The real clock: `performance.now()` and the global timers (Deno, Node and browsers all have them). */
export const systemClock: RendererClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  // Node's handles are objects and Deno's numbers; both runtimes' clearTimeout accept their own.
  clearTimeout: (handle) => clearTimeout(handle as number),
};
