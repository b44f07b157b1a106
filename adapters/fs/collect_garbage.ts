/**
 * `collectGarbage()`: deletes the blobs of an {@linkcode OciLayoutStore} that no reference reaches, the
 * mark-and-sweep `tug rmi` and `tug prune` share.
 *
 * Safety against a pull running in another process (see store_lease.ts): the sweep runs under the collector
 * lock and deletes nothing while a live pull holds a lease; and a blob changed within the grace period
 * (default 10 minutes) is kept, for writers that take no lease (the library's `pull()`, `tug serve`).
 *
 * @module
 */

import { stat } from "node:fs/promises";
import { join } from "node:path";
import { TugError } from "../../src/errors.ts";
import { parseDigest } from "../../src/digest/parse_digest.ts";
import { isIndexMediaType, isManifestMediaType } from "../../src/manifest/media_types.ts";
import { MAX_MANIFEST_SIZE } from "../../src/manifest/parse_manifest.ts";
import type { Descriptor } from "../../src/manifest/types.ts";
import type { OciLayoutStore, TempFile } from "./oci_layout_store.ts";
import { type LiveLease, withCollectorLock } from "./store_lease.ts";

/** The default grace period: blobs changed more recently than this are kept. */
export const DEFAULT_GRACE_MS: number = 10 * 60_000;
const MAX_MANIFEST = MAX_MANIFEST_SIZE;

/** Options for {@linkcode collectGarbage}. */
export interface CollectGarbageOptions {
  /** Consider only these blobs (e.g. those of the images `tug rmi` removed); default: every blob. */
  candidates?: Iterable<string>;
  /** Keep blobs changed less than this many ms ago (default {@linkcode DEFAULT_GRACE_MS}; 0: none). */
  graceMs?: number;
  /** Reference names to count as removed (a dry run of removing them). */
  ignoreReferences?: Iterable<string>;
  /** Report what would go, delete nothing. */
  dryRun?: boolean;
  /** Also remove leftovers under `.tug/` of processes that no longer run (older than the grace period). */
  removeTemp?: boolean;
  /** Called for each blob deleted (or, with `dryRun`, that would be), in order. */
  onDelete?: (digest: string, size: number) => void;
}

/** What {@linkcode collectGarbage} did. */
export interface CollectGarbageReport {
  /** Blobs deleted (or, with `dryRun`, that would be). */
  readonly deleted: { digest: string; size: number }[];
  /** Unreachable blobs kept because they changed within the grace period. */
  readonly recent: { digest: string; size: number }[];
  /** Leftovers removed (or, with `dryRun`, that would be). */
  readonly removedTemp: TempFile[];
  /** Bytes freed (or, with `dryRun`, that would be). */
  readonly reclaimed: number;
  /** Pulls running in other processes: while there are any, nothing is deleted. */
  readonly blockedBy: LiveLease[];
}

/**
 * Digests of every blob reachable from `roots`: the manifests and indexes themselves, their configs and
 * layers, the child manifests of an index the store holds (recursively), schema1 `fsLayers`, and a
 * `subject`. A manifest that is in the store but cannot be read as JSON stops the collection: what it
 * keeps alive cannot be known, so nothing may be deleted.
 *
 * @example
 * ```ts
 * import { OciLayoutStore } from "./oci_layout_store.ts";
 * import { reachableBlobs } from "./collect_garbage.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const store = await OciLayoutStore.open(dir);
 * const live = await reachableBlobs(store, (await store.references.list()).map((r) => r.descriptor));
 * console.assert(live.size === 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function reachableBlobs(
  store: OciLayoutStore,
  roots: Iterable<Descriptor>,
): Promise<Set<string>> {
  const seen = new Set<string>();
  // References, index entries and subjects name manifests; other descriptors only when their type says so.
  const queue: { descriptor: Descriptor; manifest: boolean }[] = [...roots].map((descriptor) => ({
    descriptor,
    manifest: true,
  }));
  while (queue.length > 0) {
    const { descriptor, manifest } = queue.pop()!;
    if (seen.has(descriptor.digest)) continue;
    seen.add(descriptor.digest);
    const type = descriptor.mediaType ?? "";
    if (!manifest && !isManifestMediaType(type) && !isIndexMediaType(type)) continue;
    const info = await store.blobs.stat(descriptor.digest);
    if (!info) continue; // not pulled (another platform of an index): nothing below it is here either
    if (info.size > MAX_MANIFEST) {
      throw new TugError(
        "STORE_CORRUPT",
        `Cannot collect garbage: manifest ${descriptor.digest} is larger than 4 MiB; nothing was deleted`,
      );
    }
    let json: Record<string, unknown>;
    try {
      const bytes = await new Response(await store.blobs.get(descriptor.digest)).arrayBuffer();
      json = JSON.parse(new TextDecoder().decode(bytes));
      if (json === null || typeof json !== "object") throw new SyntaxError("not a JSON object");
    } catch (err) {
      throw new TugError(
        "STORE_CORRUPT",
        `Cannot collect garbage: manifest ${descriptor.digest} cannot be read (${
          (err as Error).message
        }); nothing was deleted. Run 'tug verify'`,
        { cause: err },
      );
    }
    for (const child of listedBlobs(json)) queue.push(child);
  }
  return seen;
}

/** The descriptors a manifest document lists, whatever its kind (image-spec, Docker v2, schema1). */
function listedBlobs(json: Record<string, unknown>): { descriptor: Descriptor; manifest: boolean }[] {
  const out: { descriptor: Descriptor; manifest: boolean }[] = [];
  const take = (value: unknown, fallbackType: string, manifest = false) => {
    const d = value as { digest?: unknown; blobSum?: unknown; mediaType?: unknown; size?: unknown } | null;
    const digest = d?.digest ?? d?.blobSum;
    if (typeof digest !== "string") return;
    const mediaType = typeof d?.mediaType === "string" ? d.mediaType : fallbackType;
    out.push({ descriptor: { mediaType, digest, size: typeof d?.size === "number" ? d.size : 0 }, manifest });
  };
  // Entries of an index are manifests whatever their mediaType says (artifact types included).
  const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  take(json.config, "application/octet-stream");
  take(json.subject, MANIFEST, true);
  for (const key of ["layers", "blobs", "fsLayers", "manifests"]) {
    const list = json[key];
    const manifest = key === "manifests";
    if (!Array.isArray(list)) continue;
    for (const item of list) take(item, manifest ? MANIFEST : "application/octet-stream", manifest);
  }
  return out;
}

/**
 * Deletes the blobs no reference of `store` reaches (of `candidates`, when given), under the collector lock;
 * deletes nothing while a pull in another process holds a lease, and keeps blobs changed within the grace
 * period. Manifests go before the blobs they list, so an interruption leaves unreachable blobs behind, never
 * a manifest with holes.
 *
 * @example
 * ```ts
 * import { OciLayoutStore } from "./oci_layout_store.ts";
 * import { collectGarbage } from "./collect_garbage.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const report = await collectGarbage(await OciLayoutStore.open(dir), { dryRun: true });
 * console.assert(report.deleted.length === 0 && report.reclaimed === 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function collectGarbage(
  store: OciLayoutStore,
  options: CollectGarbageOptions = {},
): Promise<CollectGarbageReport> {
  const grace = options.graceMs ?? DEFAULT_GRACE_MS;
  if (!(grace >= 0)) throw new RangeError(`collectGarbage(): graceMs must be 0 or more, got ${grace}`);
  return withCollectorLock(store.dir, async (blockedBy) => {
    const empty: CollectGarbageReport = { deleted: [], recent: [], removedTemp: [], reclaimed: 0, blockedBy };
    if (blockedBy.length > 0) return empty;
    const ignored = new Set(options.ignoreReferences ?? []);
    const references = (await store.references.list()).filter((r) => !ignored.has(r.name));
    const keep = await reachableBlobs(store, references.map((r) => r.descriptor));
    const candidates = options.candidates === undefined ? undefined : new Set(options.candidates);
    const now = Date.now();
    const manifests: { digest: string; size: number }[] = [];
    const others: { digest: string; size: number }[] = [];
    const recent: { digest: string; size: number }[] = [];
    for await (const blob of store.blobs.list()) {
      if (keep.has(blob.digest) || (candidates && !candidates.has(blob.digest))) continue;
      const parsed = parseDigest(blob.digest);
      const path = join(store.dir, "blobs", parsed.algorithm, parsed.hex);
      let mtime: number;
      try {
        mtime = (await stat(path)).mtimeMs;
      } catch {
        continue; // deleted meanwhile
      }
      if (now - mtime < grace) {
        recent.push(blob);
        continue;
      }
      (await looksLikeManifest(store, blob.digest, blob.size) ? manifests : others).push(blob);
    }
    const deleted: { digest: string; size: number }[] = [];
    let reclaimed = 0;
    for (const blob of [...manifests, ...others]) {
      if (!options.dryRun && !(await store.blobs.delete(blob.digest))) continue;
      deleted.push(blob);
      reclaimed += blob.size;
      options.onDelete?.(blob.digest, blob.size);
    }
    let removedTemp: TempFile[] = [];
    if (options.removeTemp) {
      if (options.dryRun) {
        removedTemp = (await store.listTemp()).filter((f) => !f.inUse && now - f.modified.getTime() >= grace);
      } else {
        removedTemp = await store.removeTemp({ olderThan: grace });
      }
      for (const file of removedTemp) reclaimed += file.size;
    }
    return { deleted, recent, removedTemp, reclaimed, blockedBy };
  });
}

/** Whether a blob reads as a manifest or index (small JSON with `schemaVersion`), to order deletions. */
async function looksLikeManifest(store: OciLayoutStore, digest: string, size: number): Promise<boolean> {
  if (size > MAX_MANIFEST || size < 2) return false;
  const reader = (await store.blobs.get(digest, { start: 0, end: 1 })).getReader();
  const { value } = await reader.read();
  await reader.cancel().catch(() => {});
  if (value?.[0] !== 0x7b) return false; // "{"
  try {
    const json = JSON.parse(await new Response(await store.blobs.get(digest)).text());
    return typeof json?.schemaVersion === "number";
  } catch {
    return false;
  }
}
