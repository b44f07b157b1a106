/**
 * The paths of an OCI layout directory tug writes to, and the helpers every part of
 * `OciLayoutStore` shares (errno, STORE_IO errors, temp names). Internal to the OCI layout store.
 *
 * @module
 */

import { join } from "node:path";
import process from "node:process";
import { TugError } from "../../../src/errors.ts";
import type { Digest } from "../../../src/digest/parse_digest.ts";
import type { BlobLockOptions } from "./blob_lock.ts";

/** Reads and coalesced writes move this many bytes per system call. */
export const BUFFER = 1 << 20;
/** Temp file names: `<alg>-<hex>.<pid>.<random>` (blobs) or `index.json.<pid>.<random>`. */
export const TEMP_NAME = /^(.+)\.(\d+)\.[0-9a-z]+$/;

/** The directories of one layout and the options its parts read. */
export interface Paths {
  readonly dir: string;
  readonly tmp: string;
  readonly partial: string;
  /** `DIR/.tug/locks/`: one lock file per blob being written (see `blob_lock.ts`). */
  readonly locks: string;
  readonly blobLock: BlobLockOptions;
  readonly fsync: boolean;
  readonly responseStreams: boolean;
}

/** The error code (`ENOENT`, …) of a node:fs or Deno error, if any. */
export function errno(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

/** `err` as a STORE_IO TugError whose message says what was being done; TugErrors pass as they are. */
export function ioError(action: string, err: unknown): TugError {
  if (err instanceof TugError) return err;
  return new TugError("STORE_IO", `${action}: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
    detail: { errno: errno(err) },
  });
}

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 10) || "0";
}

/** Awaits `p`, taking a missing file (ENOENT) as success. */
export async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (errno(err) !== "ENOENT") throw err;
  }
}

/** `DIR/blobs/<alg>/<hex>`. */
export function blobPath(paths: Paths, digest: Digest): string {
  return join(paths.dir, "blobs", digest.algorithm, digest.hex);
}

/** `DIR/.tug/partial/<alg>-<hex>`: bytes kept for a resume. */
export function partialPath(paths: Paths, digest: Digest): string {
  return join(paths.partial, `${digest.algorithm}-${digest.hex}`);
}

/** A fresh temp file name under `DIR/.tug/tmp/`, recording this process's PID (see {@linkcode TEMP_NAME}). */
export function tempPath(paths: Paths, base: string): string {
  return join(paths.tmp, `${base}.${process.pid}.${randomSuffix()}`);
}
