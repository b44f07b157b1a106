/**
 * A lock per blob digest shared by every process writing into one OCI layout store, so two `tug pull`s
 * (Deno or Node) of the same image download each blob once, as one Docker daemon does for all its
 * clients (its transfer manager shares a layer's download between pulls). Internal to the OCI layout store.
 *
 * `DIR/.tug/locks/<alg>-<hex>` is created with O_EXCL (`wx`) and holds `{ pid, host, token, time }`. Its
 * holder touches it every `heartbeat` ms while it writes, so a lock that has not been touched for
 * `staleAge` ms was left by a hung or vanished holder; a lock whose PID no longer runs on this host was
 * left by a killed one. Either is taken over. A second process waits, polling with backoff, until the lock
 * is released (the blob committed, or the holder gave up), goes stale, its signal fires, or `maxWait` has
 * passed (then it goes on without the lock: two downloads of one blob are wasteful, never wrong, since a
 * blob is renamed into place atomically).
 *
 * Within one process the download manager already shares a download, and the store contract lets two
 * writers of one digest run at once, so a lock held by this process does not make its writers wait.
 *
 * @module
 */

import { makeDirs, readText, removeFile, statPath, touchPath, writeNewFile } from "../_file_ops.ts";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { setInterval } from "node:timers";
import type { Digest } from "../../../src/digest/parse_digest.ts";
import { isProcessAlive } from "../_lock_file.ts";
import { errno } from "./paths.ts";

/** How blob locks behave. */
export interface BlobLockOptions {
  /** A lock untouched for this long is taken over, in ms. */
  staleAge: number;
  /** How often a holder touches its lock, in ms (well under `staleAge`). */
  heartbeat: number;
  /** The longest a writer waits for another process, in ms; then it goes on without the lock. */
  maxWait: number;
}

/** A held lock. */
export interface BlobLock {
  /** Removes the lock (only if it is still this holder's) and stops the heartbeat. Never throws. */
  release(): Promise<void>;
}

interface Owner {
  pid: number;
  host: string;
  token: string;
  time: number;
}

const HOST = hostname();
const NO_LOCK: BlobLock = { release: () => Promise.resolve() };

/** `DIR/.tug/locks/<alg>-<hex>`. */
export function blobLockPath(locks: string, digest: Digest): string {
  return join(locks, `${digest.algorithm}-${digest.hex}`);
}

async function readOwner(
  path: string,
): Promise<{ owner: Partial<Owner> | undefined; mtime: number } | undefined> {
  try {
    const info = await statPath(path);
    let owner: Partial<Owner> | undefined;
    try {
      owner = JSON.parse(await readText(path));
    } catch {
      // Being written by its creator right now (empty or half-written), or gone: judged by its age only.
    }
    return { owner, mtime: info.mtimeMs };
  } catch (err) {
    if (errno(err) === "ENOENT") return undefined;
    throw err;
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Takes the lock of `digest` in the `locks` folder, waiting for another process that holds it (see the
 * module doc). Resolves to a lock to release after commit or abort; a lock of this very process, or a wait
 * longer than `maxWait`, resolves to a lock that holds nothing. Rejects with the signal's reason when it fires.
 */
export async function acquireBlobLock(
  locks: string,
  digest: Digest,
  options: BlobLockOptions,
  signal?: AbortSignal,
): Promise<BlobLock> {
  const path = blobLockPath(locks, digest);
  const started = Date.now();
  let delay = 10;
  for (let attempt = 0; attempt < 1_000_000; attempt++) {
    signal?.throwIfAborted();
    const token = crypto.randomUUID();
    try {
      await writeNewFile(path, JSON.stringify({ pid: process.pid, host: HOST, token, time: Date.now() }));
      return held(path, token, options.heartbeat);
    } catch (err) {
      if (errno(err) === "ENOENT") {
        // A store made before locks existed: make the folder and try again.
        await makeDirs(locks);
        continue;
      }
      if (errno(err) !== "EEXIST") throw err;
    }
    const found = await readOwner(path);
    if (found === undefined) continue; // released just now
    const { owner, mtime } = found;
    const sameHost = owner?.host === HOST;
    if (sameHost && owner?.pid === process.pid) return NO_LOCK;
    const dead = sameHost && typeof owner?.pid === "number" && !isProcessAlive(owner.pid);
    if (dead || Date.now() - mtime > options.staleAge) {
      // Taken over. Two waiters may both judge it stale and the second remove the first's fresh lock;
      // then both download the blob once, which costs bytes, not correctness.
      await removeFile(path).catch(() => {});
      continue;
    }
    if (Date.now() - started >= options.maxWait) return NO_LOCK;
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 500);
  }
  return NO_LOCK;
}

function held(path: string, token: string, heartbeat: number): BlobLock {
  // Touching the lock tells waiters the holder is alive and working, however long the blob takes.
  const timer = setInterval(() => {
    const now = new Date();
    touchPath(path, now).catch(() => {});
  }, heartbeat);
  timer.unref();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      try {
        const owner = JSON.parse(await readText(path)) as Partial<Owner>;
        // Taken over meanwhile (judged stale): the lock is someone else's now.
        if (owner.token === token) await removeFile(path);
      } catch {
        // gone already
      }
    },
  };
}
