/**
 * Leases and the collector lock: how a pull in one process and a garbage collection (`tug rmi`, `tug prune`)
 * in another keep out of each other's way on one {@linkcode OciLayoutStore} directory.
 *
 * A pull commits blobs before the manifest and the reference that make them reachable, and it skips blobs
 * that are already there ("Already exists"). A collector that ran in between would see those blobs as
 * unreachable and delete them, and the pull would then write a reference to an image with holes. So:
 *
 * 1. a pull creates a lease file `DIR/.tug/leases/<pid>.<random>` first, then waits while the collector
 *    lock `DIR/.tug/gc.lock` exists;
 * 2. a collector creates `gc.lock` first (exclusive), then lists the leases; a lease of a live process
 *    means "delete no blob now".
 *
 * Each side writes its own file before it reads the other's, so at least one of them sees the other: either
 * the collector finds the lease and deletes nothing, or the pull waits until the collector is done. Files
 * of processes that no longer run are ignored (and removed), like the store's own lock. This is the role of
 * containerd's leases and its GC lock, in files.
 *
 * @module
 */

import { mkdir, open, readdir, readFile, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { hostname } from "node:os";
import process from "node:process";
import { TugError } from "../../src/errors.ts";
import { isProcessAlive, withLockFile } from "./_lock_file.ts";

const HOST = hostname();
/** A collector lock older than this is taken to be left by a crash (collections take seconds). */
const GC_LOCK_STALE = 10 * 60_000;
const LEASE_NAME = /^(\d+)\.[0-9a-z]+$/;

interface Owner {
  pid: number;
  host: string;
}

/** A held lease; release it when the pull is over (or dispose it with `await using`). */
export interface StoreLease extends AsyncDisposable {
  /** The lease file. */
  readonly path: string;
  /** Removes the lease file (again is fine). */
  release(): Promise<void>;
}

/** Options for {@linkcode acquireStoreLease}. */
export interface AcquireStoreLeaseOptions {
  /** How long to wait for a running collection to finish, in ms (default 60000). */
  timeout?: number;
}

function errno(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

function leaseDir(dir: string): string {
  return join(dir, ".tug", "leases");
}

function gcLockPath(dir: string): string {
  return join(dir, ".tug", "gc.lock");
}

/** Whether the collector lock is held by a live collector (a stale or absent one is not). */
async function collectorRunning(dir: string): Promise<boolean> {
  const path = gcLockPath(dir);
  try {
    const info = await stat(path);
    if (Date.now() - info.mtimeMs > GC_LOCK_STALE) return false;
    const owner = JSON.parse(await readFile(path, "utf8")) as Partial<Owner>;
    return !(owner.host === HOST && typeof owner.pid === "number" && !isProcessAlive(owner.pid));
  } catch (err) {
    if (errno(err) === "ENOENT") return false;
    // Being written by its creator this very moment (empty JSON): a collector is starting.
    return true;
  }
}

/**
 * Takes a lease on the store at `dir` (an {@linkcode OciLayoutStore} directory) for the length of a pull:
 * no collector deletes a blob while it is held. Waits while a collection runs.
 *
 * @throws {TugError} `STORE_IO` when the lease cannot be written or a collection runs past `timeout`.
 *
 * @example
 * ```ts
 * import { acquireStoreLease } from "./store_lease.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const lease = await acquireStoreLease(dir);
 * // … pull into the store …
 * await lease.release();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function acquireStoreLease(
  dir: string,
  options: AcquireStoreLeaseOptions = {},
): Promise<StoreLease> {
  const folder = leaseDir(dir);
  const path = join(folder, `${process.pid}.${Math.random().toString(36).slice(2, 10) || "0"}`);
  try {
    await mkdir(folder, { recursive: true });
    const handle = await open(path, "wx");
    try {
      await handle.writeFile(JSON.stringify({ pid: process.pid, host: HOST } satisfies Owner));
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new TugError("STORE_IO", `Cannot write lease file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const release = () => unlink(path).catch(() => {});
  // The lease is on disk; now wait for a collection that started before it to finish.
  const deadline = Date.now() + (options.timeout ?? 60_000);
  for (let i = 0; await collectorRunning(dir); i++) {
    if (Date.now() >= deadline || i > 100_000) {
      await release();
      throw new TugError(
        "STORE_IO",
        `Cannot start the pull: a garbage collection (tug rmi/prune) has held ${
          gcLockPath(dir)
        } for too long`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { path, release, [Symbol.asyncDispose]: release };
}

/** A lease held by a running process. */
export interface LiveLease {
  readonly path: string;
  readonly pid: number;
}

/**
 * Runs `fn` while holding the collector lock of the store at `dir`, passing it the leases of processes that
 * still run (leases of processes that are gone are removed). `fn` must delete no blob when that list is
 * not empty.
 *
 * @throws {TugError} `STORE_IO` when another collection holds the lock for more than `timeout` ms.
 *
 * @example
 * ```ts
 * import { withCollectorLock } from "./store_lease.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const leases = await withCollectorLock(dir, (live) => Promise.resolve(live.length));
 * console.assert(leases === 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function withCollectorLock<T>(
  dir: string,
  fn: (liveLeases: LiveLease[]) => Promise<T>,
  options: { timeout?: number } = {},
): Promise<T> {
  await mkdir(join(dir, ".tug"), { recursive: true });
  return await withLockFile(
    gcLockPath(dir),
    { timeout: options.timeout ?? 30_000, staleAge: GC_LOCK_STALE },
    async () => fn(await liveLeases(dir)),
  );
}

async function liveLeases(dir: string): Promise<LiveLease[]> {
  const folder = leaseDir(dir);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (err) {
    if (errno(err) === "ENOENT") return [];
    throw new TugError("STORE_IO", `Cannot list ${folder}: ${(err as Error).message}`, { cause: err });
  }
  const live: LiveLease[] = [];
  for (const name of names.sort()) {
    const path = join(folder, name);
    const match = LEASE_NAME.exec(name);
    let owner: Partial<Owner> = {};
    try {
      owner = JSON.parse(await readFile(path, "utf8"));
    } catch {
      // Being written right now: count it as live.
    }
    const pid = typeof owner.pid === "number" ? owner.pid : match ? Number(match[1]) : NaN;
    const gone = Number.isSafeInteger(pid) && (owner.host === undefined || owner.host === HOST) &&
      owner.pid !== undefined && !isProcessAlive(pid);
    if (gone) {
      await unlink(path).catch(() => {});
      continue;
    }
    live.push({ path, pid });
  }
  return live;
}
