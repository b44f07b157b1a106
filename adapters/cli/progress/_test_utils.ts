// Test helpers for the progress renderers: a clock driven by hand and an output that records each write.
import type { RendererClock } from "./types.ts";

/** A clock whose time moves only when `advance()` is called; due timers fire in time order. */
export class FakeClock implements RendererClock {
  #time = 0;
  #next = 1;
  #timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.#time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#time + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.#time + ms;
    for (let guard = 0; guard < 10_000; guard++) {
      let due: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= target && (!due || entry[1].at < due[1].at)) due = entry;
      }
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#time = due[1].at;
      due[1].callback();
    }
    this.#time = target;
  }
}

/** Records every write with the clock's time, to check frames, their bytes and their spacing. */
export function recorder(clock?: FakeClock): {
  write: (text: string) => void;
  writes: string[];
  times: number[];
  text: () => string;
} {
  const writes: string[] = [];
  const times: number[] = [];
  return {
    write: (text) => {
      writes.push(text);
      times.push(clock?.now() ?? 0);
    },
    writes,
    times,
    text: () => writes.join(""),
  };
}
