// This module is browser compatible.
/**
 * The storage seam: small interfaces every store implements (memory, OCI layout on disk, IndexedDB).
 * Stores keep bytes; callers verify them. A blob reaches `commit()` only after its size and digest
 * were checked in flight, so a store never holds a blob it was not given verified.
 *
 * @module
 */

import type { Descriptor } from "../manifest/types.ts";

/** Size and digest of a stored blob. */
export interface BlobInfo {
  /** The blob's digest (`algorithm:hex`). */
  readonly digest: string;
  /** The blob's size in bytes. */
  readonly size: number;
}

/** An open write of one blob: bytes go to a temporary place until `commit()`. */
export interface BlobWriter {
  /** Bytes already present from an earlier, interrupted write of the same blob (resume from here). */
  readonly offset: number;
  /** The bytes written by that earlier attempt (`offset` bytes), so the caller can hash them again. */
  readPartial(): ReadableStream<Uint8Array>;
  /**
   * Appends bytes. The caller may reuse `chunk`'s memory once the returned promise settles (the download
   * manager reads every body into one buffer), so a writer copies whatever it keeps past that point.
   */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the blob visible under its digest, atomically. Throws if fewer or more bytes than expected arrived. */
  commit(): Promise<void>;
  /** Drops the write. With `keepPartial`, the bytes stay for a later resume. */
  abort(options?: { keepPartial?: boolean }): Promise<void>;
  /**
   * Optional capability (present together with `readWritten`): how many bytes of this write, counted from
   * byte 0 of the blob (a resumed `offset` included), `readWritten` can read back now. It lags `write()`
   * where a store buffers (the disk store coalesces writes of up to 1 MiB) and never decreases.
   */
  readonly readable?: number;
  /**
   * Optional capability: reads bytes `[start, end)` of this write while it goes on, `end` at most
   * `readable` when called (else RangeError). After `commit()` the stream still yields those bytes; after
   * `abort()` it may fail. A single-flight cache (the proxy) uses it to let a client that fell behind the
   * bytes it keeps in memory read the older ones back from the store instead of keeping the whole blob.
   */
  readWritten?(start: number, end: number): ReadableStream<Uint8Array>;
}

/** Content-addressed blobs. */
export interface BlobStore {
  /** Size of a committed blob, or undefined when it is absent. */
  stat(digest: string): Promise<BlobInfo | undefined>;
  /** Reads a committed blob, optionally a byte range (`end` exclusive). Throws TugError NOT_FOUND. */
  get(digest: string, range?: { start: number; end?: number }): Promise<ReadableStream<Uint8Array>>;
  /**
   * Opens a write for a blob of known digest and size; with `resume`, continues an earlier partial write.
   * A store shared by processes may wait here while another process writes the same blob (then the blob
   * is committed when this resolves: check with `stat()`); `signal` ends such a wait.
   */
  writer(expected: BlobInfo, options?: { resume?: boolean; signal?: AbortSignal }): Promise<BlobWriter>;
  /** Removes a committed blob; true when it existed. */
  delete(digest: string): Promise<boolean>;
  /** Lists the digests of committed blobs. */
  list(): AsyncIterable<BlobInfo>;
  /**
   * Optional capability: a URL from which anyone who holds it can GET this committed blob (a byte range
   * too, with a `Range` header) for the next `expiresIn` seconds, and nothing else: an object store's
   * presigned URL, scoped to the blob's one object and the GET method. It does not check that the blob
   * exists (`stat()` first). Resolves undefined for a blob the store serves better itself (one an
   * in-memory front holds). A store that cannot make such URLs (a folder, memory, an R2 binding) has no
   * `url`; the proxy then serves the bytes itself.
   */
  url?(digest: string, options: { expiresIn: number }): Promise<string | undefined>;
}

/** One named reference in a store. */
export interface ReferenceRecord {
  /** The canonical reference, e.g. `docker.io/library/alpine:3.20` or `…@sha256:…`. */
  readonly name: string;
  /** The manifest or index it points to. */
  readonly descriptor: Descriptor;
}

/** Names (tags and digests) pointing at manifests. */
export interface ReferenceStore {
  /** The descriptor `name` points at, or `undefined` when there is none. */
  get(name: string): Promise<Descriptor | undefined>;
  /** Points `name` at `descriptor`, replacing what it pointed at. */
  set(name: string, descriptor: Descriptor): Promise<void>;
  /** Removes `name`; whether it existed. */
  delete(name: string): Promise<boolean>;
  /** Every name and what it points at. */
  list(): Promise<ReferenceRecord[]>;
}

/**
 * What a store can do beyond the required minimum, declared so that callers and the store contract know
 * which checks apply. A store without a capability still passes the contract (an object store keeps only
 * committed blobs), as long as it declares so.
 */
export interface StoreCapabilities {
  /**
   * `abort({ keepPartial: true })` keeps the bytes written so far and `writer(…, { resume: true })`
   * continues from them (`offset`, `readPartial()`). When false, `keepPartial` is ignored and every writer
   * starts at offset 0 with an empty `readPartial()`: a download starts over instead of resuming.
   */
  readonly resume: boolean;
  /**
   * Writers have `readable` and `readWritten()`: bytes of a blob still being written can be read back.
   * When false, writers have neither.
   */
  readonly readWhileWriting: boolean;
}

/**
 * What a store remembers about the layers tug decompressed: the diffID (digest of the uncompressed tar)
 * each layer blob was found to have. A layer blob is content-addressed, so the record holds as long as the
 * blob does, and an image whose config lists those diffIDs needs no second decompression to be checked
 * (`pull --verify-diffids`, `verify --diffids`, unpack, save, the web page). Optional: a store without it
 * just checks again.
 */
export interface DiffIdStore {
  /** The diffID recorded for the layer blob `layerDigest`, or undefined. */
  get(layerDigest: string): Promise<string | undefined>;
  /** Records that the layer blob `layerDigest` decompresses to a tar of digest `diffId`. */
  set(layerDigest: string, diffId: string): Promise<void>;
}

/** A complete image store. */
export interface Store {
  /** The content-addressed blobs (manifests, configs, layers). */
  readonly blobs: BlobStore;
  /** The names (tags and digests) pointing at manifests. */
  readonly references: ReferenceStore;
  /**
   * The optional capabilities this store has. Absent: `resume` is taken to be true (every store tug had
   * before capabilities were declared resumes) and `readWhileWriting` is found per writer (whether it has
   * `readWritten`). See `storeCapabilities()`.
   */
  readonly capabilities?: StoreCapabilities;
  /** The diffIDs found for layer blobs, when the store keeps them (see {@linkcode DiffIdStore}). */
  readonly diffIds?: DiffIdStore;
  /**
   * Leases on blob downloads shared by every process over this store (see {@linkcode BlobLeases}), when
   * the store can offer them (an object store, over a conditional write). Absent: each process downloads
   * on its own (a single process still downloads a blob once).
   */
  readonly leases?: BlobLeases;
}

/** What a process holding a {@linkcode BlobLeases} lease wrote about its download. */
export interface BlobLeaseRecord {
  /** A random id of the holder (one per lease taken). */
  readonly holder: string;
  /** The blob's size as the holder's upstream announced it, once its answer came. */
  readonly size?: number;
  /** When the lease lapses unless renewed, in ms since the epoch (the holder's clock). */
  readonly expires: number;
}

/** A lease this process holds: it renews it until `release()`. */
export interface HeldBlobLease {
  /** This holder's id. */
  readonly holder: string;
  /** Records the blob's size in the lease, so waiting processes can answer their clients' headers. */
  describe(size: number): Promise<void>;
  /** Stops renewing and removes the lease, unless another process took it over meanwhile. */
  release(): Promise<void>;
}

/** What {@linkcode BlobLeases.claim} and {@linkcode BlobLeases.wait} found. */
export type BlobLeaseOutcome =
  /** This process holds the lease: it downloads the blob (`takeover`: from a holder whose lease lapsed). */
  | { readonly kind: "lease"; readonly lease: HeldBlobLease; readonly takeover: boolean }
  /** The blob is committed in the store (`size` bytes). */
  | { readonly kind: "committed"; readonly size: number }
  /** Another process downloads it and said how large it is. */
  | { readonly kind: "held"; readonly record: BlobLeaseRecord & { readonly size: number } }
  /** The wait ran out (a holder that renews but never finishes): download without a lease. */
  | { readonly kind: "timeout" };

/**
 * One download of a blob across processes sharing a store: a lease per blob, taken with a conditional
 * write, renewed by its holder while it downloads, removed after the commit (or failure), and taken over
 * by another process once it lapsed (its holder died).
 */
export interface BlobLeases {
  /**
   * Takes the lease of `digest`, or finds the blob committed, or (waiting while the holder has not yet
   * recorded the size) the holder's record.
   */
  claim(digest: string, options?: { signal?: AbortSignal }): Promise<BlobLeaseOutcome>;
  /**
   * Waits while another process holds the lease: until the blob is committed, or the lease is free again
   * (released without a commit, or lapsed) and this process took it.
   */
  wait(
    digest: string,
    options?: { signal?: AbortSignal },
  ): Promise<Exclude<BlobLeaseOutcome, { kind: "held" }>>;
}
