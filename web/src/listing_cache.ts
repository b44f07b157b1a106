/**
 * Layer listings kept in IndexedDB, so a layer read once shows its files after a reload without reading
 * its blob again (a 240 MB gzip layer takes seconds to decompress; its listing, milliseconds to load).
 *
 * A listing is stored only after the layer blob it came from was verified against its digest (and, when
 * the image config names one, its diffID against the uncompressed tar), so it is as trustworthy as the blob:
 * it is keyed by the layer's digest, which names those bytes. The diffID that was checked is kept with it: a
 * later image whose config names another diffID for the same blob gets `LAYERS_MISMATCH` at once, and one
 * that names a diffID when none was checked yet has the blob read (and hashed) again.
 *
 * Layout: one idb-keyval store, database `<name>-listings`, layer digest → {@linkcode PackedListing}
 * (columns of the tar headers: a few arrays instead of thousands of objects, cheaper to clone in and out
 * of IndexedDB).
 *
 * @module
 */

import { clear, createStore, del, get, set, type UseStore } from "npm:idb-keyval@^6.3.0";
import type { TarHeader } from "../../src/mod.ts";
import { TugError } from "../../src/errors.ts";

/** The format version: a record of another version is ignored (and the blob read again). */
const VERSION = 1;

/** A layer's tar headers as columns, as stored. */
export interface PackedListing {
  /** Format version ({@linkcode VERSION}). */
  readonly v: number;
  /** The layer digest the listing was read from (verified). */
  readonly digest: string;
  /** The diffID the uncompressed tar hashed to, when it was checked. */
  readonly diffId?: string;
  /** Entry names. */
  readonly name: string[];
  /** Entry types. */
  readonly type: TarHeader["type"][];
  /** Raw typeflags. */
  readonly typeflag: string[];
  /** uname, gname and linkname, three per entry. */
  readonly text: string[];
  /** size, mode, uid, gid, mtime, devmajor, devminor, offset: eight numbers per entry. */
  readonly numbers: Float64Array;
  /** PAX records by entry index, for the entries that have any. */
  readonly pax: Record<number, Record<string, string>>;
}

const NUMBERS = 8;

/**
 * Packs tar headers into columns for storing.
 *
 * @example
 * ```ts
 * import { packListing, unpackListing } from "./listing_cache.ts";
 *
 * const packed = packListing("sha256:" + "0".repeat(64), []);
 * console.assert(unpackListing(packed).length === 0);
 * ```
 */
export function packListing(digest: string, entries: readonly TarHeader[], diffId?: string): PackedListing {
  const n = entries.length;
  const numbers = new Float64Array(n * NUMBERS);
  const text: string[] = new Array(n * 3);
  const pax: Record<number, Record<string, string>> = {};
  entries.forEach((e, i) => {
    numbers.set([e.size, e.mode, e.uid, e.gid, e.mtime, e.devmajor, e.devminor, e.offset], i * NUMBERS);
    text[i * 3] = e.uname;
    text[i * 3 + 1] = e.gname;
    text[i * 3 + 2] = e.linkname;
    if (e.pax) pax[i] = e.pax;
  });
  return {
    v: VERSION,
    digest,
    ...(diffId === undefined ? {} : { diffId }),
    name: entries.map((e) => e.name),
    type: entries.map((e) => e.type),
    typeflag: entries.map((e) => e.typeflag),
    text,
    numbers,
    pax,
  };
}

/**
 * Unpacks stored columns into tar headers (the inverse of {@linkcode packListing}).
 *
 * @example
 * ```ts
 * import { packListing, unpackListing } from "./listing_cache.ts";
 *
 * const entry = {
 *   name: "etc/hostname", type: "file" as const, typeflag: "0", size: 4, mode: 0o644, uid: 0, gid: 0,
 *   uname: "", gname: "", mtime: 0, linkname: "", devmajor: 0, devminor: 0, offset: 0,
 * };
 * console.assert(unpackListing(packListing("sha256:" + "0".repeat(64), [entry]))[0].name === "etc/hostname");
 * ```
 */
export function unpackListing(packed: PackedListing): TarHeader[] {
  const out: TarHeader[] = new Array(packed.name.length);
  const { numbers: x, text } = packed;
  for (let i = 0; i < out.length; i++) {
    const at = i * NUMBERS;
    const entry: TarHeader = {
      name: packed.name[i],
      type: packed.type[i],
      typeflag: packed.typeflag[i],
      size: x[at],
      mode: x[at + 1],
      uid: x[at + 2],
      gid: x[at + 3],
      mtime: x[at + 4],
      devmajor: x[at + 5],
      devminor: x[at + 6],
      offset: x[at + 7],
      uname: text[i * 3],
      gname: text[i * 3 + 1],
      linkname: text[i * 3 + 2],
    };
    const pax = packed.pax[i];
    if (pax) entry.pax = pax;
    out[i] = entry;
  }
  return out;
}

/** Whether a stored value has the shape of this version's record for `digest`. */
function isPacked(value: unknown, digest: string): value is PackedListing {
  if (typeof value !== "object" || value === null) return false;
  const p = value as Partial<PackedListing>;
  const n = p.name?.length;
  return p.v === VERSION && p.digest === digest && Array.isArray(p.name) && n !== undefined &&
    p.type?.length === n && p.typeflag?.length === n && p.text?.length === n * 3 &&
    p.numbers instanceof Float64Array && p.numbers.length === n * NUMBERS &&
    typeof p.pax === "object" && p.pax !== null;
}

/**
 * The listings of layers read before, in IndexedDB. Failures to read or write the database are not errors
 * of the page: a listing that cannot be kept is read from the blob next time.
 *
 * @example
 * ```ts ignore
 * const listings = new ListingCache("tug-web");
 * const entries = await listings.get(layer.digest, diffId) ?? await readAndKeep();
 * ```
 */
export class ListingCache {
  readonly #store: UseStore;

  /** A cache over the database `<name>-listings` (opened on first use). */
  constructor(name: string) {
    this.#store = createStore(`${name}-listings`, "listings");
  }

  /**
   * The listing of layer `digest`, if one is kept and it was checked against `diffId` (when given).
   * Throws `LAYERS_MISMATCH` when the kept listing's layer hashed to another diffID than `diffId`.
   */
  async get(digest: string, diffId?: string): Promise<TarHeader[] | undefined> {
    let value: unknown;
    try {
      value = await get(digest, this.#store);
    } catch {
      return undefined;
    }
    if (!isPacked(value, digest)) return undefined;
    if (diffId !== undefined) {
      // Not checked when it was kept: read the blob again to hash it.
      if (value.diffId === undefined) return undefined;
      if (value.diffId !== diffId) {
        throw new TugError(
          "LAYERS_MISMATCH",
          `layers from manifest don't match image configuration: the layer decompresses to ${value.diffId}, ` +
            `the config says ${diffId}`,
          { detail: { expected: diffId, actual: value.diffId } },
        );
      }
    }
    return unpackListing(value);
  }

  /** Keeps the listing of layer `digest`, read from its verified blob (`diffId`: what its tar hashed to). */
  async set(digest: string, entries: readonly TarHeader[], diffId?: string): Promise<void> {
    try {
      // A listing checked against a diffID is never replaced by one that was not.
      if (diffId === undefined) {
        const old = await get(digest, this.#store);
        if (isPacked(old, digest) && old.diffId !== undefined) return;
      }
      await set(digest, packListing(digest, entries, diffId), this.#store);
    } catch (err) {
      console.warn(`Cannot keep the listing of ${digest}: ${err instanceof Error ? err.message : err}`);
    }
  }

  /** Forgets the listing of layer `digest`. */
  async delete(digest: string): Promise<void> {
    await del(digest, this.#store);
  }

  /** Forgets every listing (the page's "Clear cache"). */
  async clear(): Promise<void> {
    await clear(this.#store);
  }
}
