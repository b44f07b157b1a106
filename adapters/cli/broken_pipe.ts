/**
 * `tug … | head -1`: when the reader of stdout goes away, writing to it fails with EPIPE, which Node and
 * Deno raise as an uncaught error with a stack trace. Docker's CLI (Go) dies quietly of SIGPIPE there while
 * the daemon finishes the pull. tug does the same work quietly: output nobody reads is dropped and the
 * command goes on to its end (a pull still lands in the store). A write that asked to hear how it went (a
 * callback: `tug save` streaming an archive) learns of the broken pipe, so a cut-short archive is a failure.
 *
 * @module
 */
import process from "node:process";

/**
 * Whether `err` says the reader of a pipe went away (`EPIPE`; Deno's `BrokenPipe`).
 *
 * @example
 * ```ts
 * import { isBrokenPipe } from "./broken_pipe.ts";
 *
 * console.assert(isBrokenPipe(Object.assign(new Error("write EPIPE"), { code: "EPIPE" })));
 * console.assert(!isBrokenPipe(new Error("other")));
 * ```
 */
export function isBrokenPipe(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; cause?: unknown } | undefined;
  if (e === undefined || e === null || typeof e !== "object") return false;
  if (e.code === "EPIPE" || e.name === "BrokenPipe") return true;
  return e.cause !== undefined && e.cause !== err && isBrokenPipe(e.cause);
}

type WriteCallback = (err?: Error | null) => void;

/**
 * Makes `stream` (default stdout) survive its reader going away: the EPIPE is caught (thrown or emitted),
 * later writes are dropped, and writes with a callback are told of the broken pipe.
 *
 * @param stream The stream to guard.
 * @returns Whether the pipe has broken so far.
 *
 * @example
 * ```ts ignore
 * import { guardBrokenPipe } from "./broken_pipe.ts";
 *
 * const stdout = guardBrokenPipe();
 * process.stdout.write("fine even when nobody reads\n");
 * console.assert(typeof stdout.broken === "boolean");
 * ```
 */
export function guardBrokenPipe(
  stream: NodeJS.WriteStream = process.stdout,
): { readonly broken: boolean } {
  const state = { broken: false };
  const failure = () => Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
  stream.on("error", (err) => {
    if (isBrokenPipe(err)) {
      state.broken = true;
      return;
    }
    throw err;
  });
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((...args: unknown[]) => {
    const callback = args.findLast((a) => typeof a === "function") as WriteCallback | undefined;
    if (state.broken) {
      if (callback) queueMicrotask(() => callback(failure()));
      return true;
    }
    try {
      return write(...args);
    } catch (err) {
      if (!isBrokenPipe(err)) throw err;
      state.broken = true;
      if (callback) queueMicrotask(() => callback(failure()));
      return true;
    }
  }) as typeof stream.write;
  return state;
}
