/**
 * A lock file shared by processes on one host: created with O_EXCL (`wx`), removed when done, broken when
 * its owner is gone (its PID no longer runs on this host) or when it is older than any holder can be.
 *
 * @module
 */

import { readText, removeFile, statPath, writeNewFile } from "./_file_ops.ts";
import { hostname } from "node:os";
import process from "node:process";
import { TugError } from "../../src/errors.ts";

/** Options for {@linkcode withLockFile}. */
export interface LockFileOptions {
  /** How long to keep trying before failing with TugError STORE_IO, in ms. */
  timeout: number;
  /** A lock file older than this is taken to be left by a crash, in ms. */
  staleAge: number;
}

interface Owner {
  pid: number;
  host: string;
}

const HOST = hostname();

function errno(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

/** Whether process `pid` runs on this host (EPERM: it runs, under another user). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errno(err) === "EPERM";
  }
}

async function isStale(path: string, staleAge: number): Promise<boolean> {
  try {
    const info = await statPath(path);
    if (Date.now() - info.mtimeMs > staleAge) return true;
    const owner = JSON.parse(await readText(path)) as Partial<Owner>;
    return owner.host === HOST && typeof owner.pid === "number" && !isProcessAlive(owner.pid);
  } catch {
    // Gone already, or still being written by its creator (empty or half-written JSON): not stale.
    return false;
  }
}

/**
 * Runs `fn` while holding the lock file at `path`; retries with a growing, jittered delay (2 ms to 100 ms)
 * until `options.timeout`.
 *
 * Breaking a stale lock has a small race (two waiters could both judge it stale, one removing the other's
 * fresh lock); it only matters after a crash while holding the lock, which holds for milliseconds.
 */
export async function withLockFile<T>(
  path: string,
  options: LockFileOptions,
  fn: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + options.timeout;
  let delay = 2;
  for (let attempt = 0;; attempt++) {
    try {
      await writeNewFile(path, JSON.stringify({ pid: process.pid, host: HOST } satisfies Owner));
      break;
    } catch (err) {
      if (errno(err) !== "EEXIST") {
        throw new TugError("STORE_IO", `Cannot create lock file ${path}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    if (await isStale(path, options.staleAge)) {
      await removeFile(path).catch(() => {});
      continue;
    }
    if (Date.now() >= deadline || attempt > 100_000) {
      throw new TugError(
        "STORE_IO",
        `Cannot take lock file ${path}: another process has held it for more than ${options.timeout} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random())));
    delay = Math.min(delay * 2, 100);
  }
  try {
    return await fn();
  } finally {
    await removeFile(path).catch(() => {});
  }
}
