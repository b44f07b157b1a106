// This module is browser compatible.
/**
 * A {@linkcode Store} over an object-storage bucket (S3 API, Cloudflare R2, or anything that offers the
 * small {@linkcode ObjectBucket} interface). Blobs are objects under `PREFIX/blobs/<algorithm>/<hex>`,
 * references small JSON objects under `PREFIX/refs/<base64url name>`.
 *
 * An object becomes visible only when it is whole, and here only after its digest was checked: the
 * writer hashes every chunk as it arrives and
 * - a blob smaller than one part goes up in a single PUT once the whole blob has been verified;
 * - a larger one goes up as a multipart upload while it streams (one part in flight, one filling: about
 *   two parts of memory), and the upload is completed only after the digest matched. Until then the
 *   parts are no object at all (S3: "the object is not visible until you complete the upload"), so no
 *   temp key and no copy are needed. On a mismatch, a short or long write, or `abort()`, the upload is
 *   aborted, which frees the parts. An upload left by a process that died is not listed as a blob; a
 *   bucket lifecycle rule (`AbortIncompleteMultipartUpload`) removes it.
 *
 * Processes sharing the bucket download a blob once: `store.leases` (see object_lease.ts) keeps a lease
 * object per blob download under `PREFIX/leases/`.
 *
 * An object store keeps only committed blobs: it cannot resume a cut write nor read a blob back while it
 * is written, and declares so (`capabilities: { resume: false, readWhileWriting: false }`).
 *
 * @module
 */

import { DigestVerifier } from "../digest/digest_verifier.ts";
import type { HasherFactory } from "../digest/hasher.ts";
import type { Digest } from "../digest/parse_digest.ts";
import { TugError } from "../errors.ts";
import type { Descriptor } from "../manifest/types.ts";
import { readBounded } from "./_bounded_read.ts";
import { listUnder } from "./_listing.ts";
import { checkDescriptor, checkDigest, checkExpected, checkName, resolveRange } from "./checks.ts";
import { ObjectLeases, type ObjectLeasesOptions } from "./object_lease.ts";
import type {
  BlobInfo,
  BlobStore,
  BlobWriter,
  ReferenceRecord,
  ReferenceStore,
  Store,
  StoreCapabilities,
} from "./types.ts";

/** One uploaded part of a multipart upload, as `complete()` needs it. */
export interface ObjectPart {
  /** The part's number, from 1. */
  readonly partNumber: number;
  /** The ETag the service returned for the part. */
  readonly etag: string;
}

/** A multipart upload in progress: its parts are no object until `complete()`. */
export interface ObjectMultipartUpload {
  /** Uploads part `partNumber` (from 1). Every part but the last has the same size (≥ 5 MiB on S3 and R2). */
  uploadPart(partNumber: number, body: Uint8Array): Promise<ObjectPart>;
  /** Makes the object visible, made of `parts` in order. */
  complete(parts: readonly ObjectPart[]): Promise<void>;
  /** Drops the upload and its parts. */
  abort(): Promise<void>;
}

/**
 * The few operations of an object-storage bucket an {@linkcode ObjectStore} uses. tug implements it over
 * the S3 API (adapters/s3) and over a Cloudflare R2 binding (adapters/r2); errors other than "not found"
 * are thrown (TugError `STORE_IO`).
 *
 * @example A bucket in memory (a sketch; tests use real S3 servers)
 * ```ts
 * import type { ObjectBucket } from "./object_store.ts";
 *
 * const objects = new Map<string, Uint8Array>();
 * const bucket: Pick<ObjectBucket, "head"> = {
 *   head: (key) => Promise.resolve(objects.has(key) ? { size: objects.get(key)!.length } : undefined),
 * };
 * console.assert((await bucket.head("x")) === undefined);
 * ```
 */
export interface ObjectBucket {
  /** The object's size, or undefined when there is no object under `key`. */
  head(key: string): Promise<{ size: number } | undefined>;
  /** The object's bytes `[start, end)` (all without `range`), or undefined when it is absent. */
  get(key: string, range?: { start: number; end: number }): Promise<ReadableStream<Uint8Array> | undefined>;
  /**
   * Writes a whole object. With `ifNoneMatch: true` only when no object exists under `key` (a conditional
   * write, `If-None-Match: *`): resolves false when one did.
   */
  put(key: string, body: Uint8Array, options?: { ifNoneMatch?: boolean }): Promise<boolean>;
  /** Removes the object (no error when it is absent). */
  delete(key: string): Promise<void>;
  /**
   * Every object whose key starts with `prefix`, with its size and, where the service says, its
   * last-modified time in milliseconds since the epoch.
   */
  list(prefix: string): AsyncIterable<{ key: string; size: number; lastModified?: number }>;
  /** Starts a multipart upload to `key`. */
  createMultipartUpload(key: string): Promise<ObjectMultipartUpload>;
  /**
   * Optional: a presigned URL that lets whoever holds it GET the object under `key` (a range of it too)
   * for `expiresIn` seconds, and nothing else: no other key, no other method, and none of the bucket's
   * credentials but a signature made with them. Made locally, without a request. A bucket reached through
   * a binding (Cloudflare R2's) has no credentials to sign with, so none.
   */
  presign?(key: string, options: { expiresIn: number }): Promise<string>;
}

/**
 * Options for {@linkcode ObjectStore}.
 *
 * @example
 * ```ts
 * import type { ObjectStoreOptions } from "./object_store.ts";
 *
 * const options: Omit<ObjectStoreOptions, "bucket"> = { prefix: "tug/cache", partSize: 16 << 20 };
 * console.assert(options.prefix === "tug/cache");
 * ```
 */
export interface ObjectStoreOptions {
  /** The bucket. */
  bucket: ObjectBucket;
  /** A key prefix (folder) inside the bucket: letters, digits and `._-/`; none by default. */
  prefix?: string;
  /** Hashes blobs as they are written (default: the portable WebAssembly hasher). */
  hasher?: HasherFactory;
  /**
   * Bytes per part of a multipart upload, and the size from which a blob goes up in parts (default
   * 8 MiB; S3 and R2 refuse parts under 5 MiB except the last). A writer holds at most two parts. A blob
   * of more than 10,000 parts (S3's limit) goes up in parts of a 10,000th of its size.
   */
  partSize?: number;
  /**
   * Check the digest of every whole-blob read, holding its last chunk back until it matched (default
   * true): bytes the bucket holds under a blob's key that are not that blob (written by anyone else with
   * access to the bucket, or altered on the way from it) fail the read before its end, never completing
   * a wrong blob. Costs one hash of every byte read; ranges cannot be checked.
   */
  verifyReads?: boolean;
  /**
   * How the store's download leases behave (`store.leases`, see `ObjectLeases`): their time to live
   * (default 30 s), the longest wait for another holder, the poll delays, and the clock and sleep (for
   * tests).
   */
  leases?: Omit<ObjectLeasesOptions, "bucket" | "root" | "blobKey">;
}

/** The most bytes a reference record is read with: a record holds one descriptor (documents: 4 MiB). */
export const OBJECT_RECORD_LIMIT: number = 4 << 20;

/** The default part size of multipart uploads. */
export const OBJECT_PART_SIZE: number = 8 << 20;

// The most parts of a multipart upload ("UploadPart": part numbers 1 to 10,000; the same on R2 and radosgw).
const MAX_PARTS = 10_000;

const PREFIX_GRAMMAR = /^(?:[A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]+\/?$/;

function storeIo(message: string, cause: unknown): TugError {
  if (cause instanceof TugError) return cause;
  return new TugError("STORE_IO", `${message}: ${cause instanceof Error ? cause.message : String(cause)}`, {
    cause,
  });
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}

/**
 * `stream` (the bytes stored under a blob's key) passed on while verified, one chunk held back until the
 * end: when the bytes are not the blob, the stream errors (`SIZE_MISMATCH` at the first byte past its
 * size, so an endless body is not read on; `DIGEST_MISMATCH` at the end) before its last chunk, so no
 * reader ever receives a complete wrong blob (the rule fills keep, docs/security.md rule 6).
 */
function verifiedRead(
  stream: ReadableStream<Uint8Array>,
  verifier: DigestVerifier,
): ReadableStream<Uint8Array> {
  let held: Uint8Array | undefined;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        verifier.update(chunk);
        if (held !== undefined) controller.enqueue(held);
        held = chunk;
      },
      flush(controller) {
        verifier.verify();
        if (held !== undefined) controller.enqueue(held);
      },
    }),
  );
}

// Sizes of blobs this store saw by stat(): a digest's size never changes, so a whole-blob read right after
// a stat (the proxy's way) needs no second HEAD to be verified. Bounded: the oldest is forgotten first.
const KNOWN_SIZES = 4096;

function base64url(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Where a store keeps what in its bucket. */
class Keys {
  readonly root: string;
  constructor(prefix: string | undefined) {
    if (prefix === undefined || prefix === "") {
      this.root = "";
      return;
    }
    if (!PREFIX_GRAMMAR.test(prefix) || prefix.split("/").some((s) => s === "." || s === "..")) {
      throw new TypeError(
        `Object store prefix ${JSON.stringify(prefix)} must be path segments of letters, digits and ._-`,
      );
    }
    this.root = prefix.endsWith("/") ? prefix : prefix + "/";
  }
  get blobs(): string {
    return `${this.root}blobs/`;
  }
  blob(digest: Digest): string {
    return `${this.blobs}${digest.algorithm}/${digest.hex}`;
  }
  get refs(): string {
    return `${this.root}refs/`;
  }
  // Reference names hold `/`, `:` and `@`; base64url keeps keys to characters every service and signer
  // treats alike.
  ref(name: string): string {
    return `${this.refs}${base64url(name)}`;
  }
}

class ObjectBlobWriter implements BlobWriter {
  readonly offset = 0;
  readonly #bucket: ObjectBucket;
  readonly #key: string;
  readonly #expected: BlobInfo;
  readonly #verifier: DigestVerifier;
  readonly #partSize: number;
  #buffer: Uint8Array | undefined;
  // A part buffer whose upload finished, reused for the next part (a blob of 1000 parts allocates two).
  #spare: Uint8Array | undefined;
  #used = 0;
  #written = 0;
  #upload: Promise<ObjectMultipartUpload> | undefined;
  #parts: ObjectPart[] = [];
  // The part being uploaded while the next fills (at most one: bounds memory to two parts).
  #inflight: Promise<void> | undefined;
  #failure: unknown;
  #state: "open" | "committing" | "committed" | "aborted" = "open";

  constructor(
    bucket: ObjectBucket,
    key: string,
    expected: BlobInfo,
    verifier: DigestVerifier,
    partSize: number,
  ) {
    this.#bucket = bucket;
    this.#key = key;
    this.#expected = expected;
    this.#verifier = verifier;
    this.#partSize = partSize;
  }

  readPartial(): ReadableStream<Uint8Array> {
    // Nothing is ever kept from an earlier write (capability `resume: false`).
    return emptyStream();
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#checkOpen("write to");
    if (!(chunk instanceof Uint8Array)) throw new TypeError("BlobWriter.write() takes a Uint8Array");
    if (this.#failure !== undefined) throw this.#failure;
    const room = this.#expected.size - this.#written;
    this.#written += chunk.length;
    // Bytes past the expected size are counted (commit() reports them) but neither hashed nor uploaded.
    const take = chunk.length <= room ? chunk : chunk.subarray(0, Math.max(0, room));
    if (take.length === 0) return;
    this.#verifier.update(take);
    let pos = 0;
    while (pos < take.length) {
      // Bytes [accepted, size) are still to come: the last part's buffer is no larger than they are.
      const accepted = this.#written - chunk.length + pos;
      if (this.#buffer === undefined) {
        const length = Math.min(this.#partSize, this.#expected.size - accepted);
        const spare = this.#spare;
        this.#spare = undefined;
        this.#buffer = spare && spare.length >= length ? spare.subarray(0, length) : new Uint8Array(length);
      }
      const n = Math.min(take.length - pos, this.#buffer.length - this.#used);
      // A copy: the caller may reuse `chunk` once this promise settles.
      this.#buffer.set(take.subarray(pos, pos + n), this.#used);
      this.#used += n;
      pos += n;
      // A full part goes up while more bytes are to come; the last one waits for commit() and the digest
      // check (the whole blob, when it is one part: then commit() PUTs it).
      if (this.#used === this.#buffer.length && accepted + n < this.#expected.size) await this.#sendPart();
    }
  }

  async #sendPart(): Promise<void> {
    const body = this.#buffer!.subarray(0, this.#used);
    this.#buffer = undefined;
    this.#used = 0;
    // One part in flight: wait for the previous one before sending the next.
    await this.#settleInflight();
    this.#upload ??= this.#bucket.createMultipartUpload(this.#key);
    const partNumber = this.#parts.length + 1;
    const upload = this.#upload;
    this.#inflight = (async () => {
      try {
        this.#parts.push(await (await upload).uploadPart(partNumber, body));
        // The request is done with the bytes: the buffer can take the next part.
        this.#spare = new Uint8Array(body.buffer, body.byteOffset, this.#partSize);
      } catch (err) {
        this.#failure ??= storeIo(`Cannot upload part ${partNumber} of blob ${this.#expected.digest}`, err);
      }
    })();
  }

  async #settleInflight(): Promise<void> {
    await this.#inflight;
    this.#inflight = undefined;
    if (this.#failure !== undefined) throw this.#failure;
  }

  async commit(): Promise<void> {
    this.#checkOpen("commit");
    this.#state = "committing";
    try {
      await this.#settleInflight();
      if (this.#written !== this.#expected.size) {
        throw new TugError(
          "SIZE_MISMATCH",
          `Cannot commit blob ${this.#expected.digest}: expected ${this.#expected.size} bytes, ` +
            `${this.#written} were written`,
          { detail: { expected: this.#expected.size, actual: this.#written } },
        );
      }
      // The digest check comes before anything becomes visible.
      this.#verifier.verify();
      const rest = this.#buffer?.subarray(0, this.#used) ?? new Uint8Array(0);
      if (this.#upload === undefined) {
        await this.#bucket.put(this.#key, rest);
      } else {
        const upload = await this.#upload;
        if (rest.length > 0) this.#parts.push(await upload.uploadPart(this.#parts.length + 1, rest));
        await upload.complete(this.#parts);
      }
      this.#buffer = undefined;
      this.#state = "committed";
    } catch (err) {
      this.#state = "aborted";
      await this.#dropUpload();
      throw storeIo(`Cannot commit blob ${this.#expected.digest}`, err);
    }
  }

  async abort(_options?: { keepPartial?: boolean }): Promise<void> {
    // `keepPartial` is ignored: the store declares `resume: false`.
    if (this.#state !== "open") return;
    this.#state = "aborted";
    await this.#dropUpload();
  }

  async #dropUpload(): Promise<void> {
    this.#buffer = undefined;
    await this.#inflight;
    if (this.#upload === undefined) return;
    try {
      await (await this.#upload).abort();
    } catch {
      // Best effort: an upload that cannot be aborted now is no object; a lifecycle rule removes it.
    }
  }

  #checkOpen(action: string): void {
    if (this.#state !== "open") {
      throw new TypeError(
        `Cannot ${action} blob ${this.#expected.digest}: the writer is already ${this.#state}`,
      );
    }
  }
}

class ObjectBlobStore implements BlobStore {
  readonly #bucket: ObjectBucket;
  readonly #keys: Keys;
  readonly #hasher: HasherFactory | undefined;
  readonly #partSize: number;
  readonly #verifyReads: boolean;
  readonly #sizes = new Map<string, number>();
  /** The blob's presigned URL: only when the bucket can presign (see BlobStore.url). */
  readonly url?: (digest: string, options: { expiresIn: number }) => Promise<string | undefined>;

  constructor(
    bucket: ObjectBucket,
    keys: Keys,
    hasher: HasherFactory | undefined,
    partSize: number,
    verifyReads: boolean,
  ) {
    this.#bucket = bucket;
    this.#keys = keys;
    this.#hasher = hasher;
    this.#partSize = partSize;
    this.#verifyReads = verifyReads;
    if (bucket.presign !== undefined) {
      // The digest is checked before it becomes a key: a URL is only ever made for a blob's own object.
      this.url = async (digest, options) => await bucket.presign!(keys.blob(checkDigest(digest)), options);
    }
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    const key = this.#keys.blob(checkDigest(digest));
    const head = await this.#bucket.head(key);
    if (head === undefined) return undefined;
    this.#sizes.delete(digest);
    this.#sizes.set(digest, head.size);
    if (this.#sizes.size > KNOWN_SIZES) this.#sizes.delete(this.#sizes.keys().next().value!);
    return { digest, size: head.size };
  }

  async get(digest: string, range?: { start: number; end?: number }): Promise<ReadableStream<Uint8Array>> {
    const parsed = checkDigest(digest);
    const key = this.#keys.blob(parsed);
    const missing = () => new TugError("NOT_FOUND", `Cannot read blob ${digest}: it is not in the store`);
    if (range === undefined) {
      if (!this.#verifyReads) return await this.#bucket.get(key) ?? Promise.reject(missing());
      const size = this.#sizes.get(digest) ?? (await this.stat(digest))?.size;
      if (size === undefined) throw missing();
      const verifier = await DigestVerifier.create(
        { digest, size },
        { name: `blob ${digest} read from the bucket`, ...(this.#hasher ? { hasher: this.#hasher } : {}) },
      );
      const body = await this.#bucket.get(key);
      if (body === undefined) throw missing();
      return verifiedRead(body, verifier);
    }
    // The size first: a range is checked against it (RangeError), and an empty range needs no GET.
    const head = await this.#bucket.head(key);
    if (head === undefined) throw missing();
    const { start, end } = resolveRange(digest, head.size, range);
    if (start === end) return emptyStream();
    return await this.#bucket.get(key, { start, end }) ?? Promise.reject(missing());
  }

  async writer(expected: BlobInfo, _options?: { resume?: boolean }): Promise<BlobWriter> {
    const digest = checkExpected(expected);
    const info = { digest: expected.digest, size: expected.size };
    const verifier = await DigestVerifier.create(info, this.#hasher ? { hasher: this.#hasher } : {});
    // A multipart upload has at most 10,000 parts (S3, R2, radosgw): a blob larger than 10,000 parts of the
    // configured size goes up in parts just large enough (8 MiB parts reach 78 GiB; past it, every part but
    // the last is still of one size, as R2 requires).
    const partSize = Math.max(this.#partSize, Math.ceil(expected.size / MAX_PARTS));
    return new ObjectBlobWriter(this.#bucket, this.#keys.blob(digest), info, verifier, partSize);
  }

  async delete(digest: string): Promise<boolean> {
    const key = this.#keys.blob(checkDigest(digest));
    if (await this.#bucket.head(key) === undefined) return false;
    await this.#bucket.delete(key);
    return true;
  }

  async *list(): AsyncIterable<BlobInfo> {
    const prefix = this.#keys.blobs;
    for await (const { key, size } of listUnder(this.#bucket, prefix)) {
      const [algorithm, hex, ...rest] = key.slice(prefix.length).split("/");
      if (rest.length > 0 || hex === undefined) continue;
      let digest: string;
      try {
        digest = checkDigest(`${algorithm}:${hex}`).toString();
      } catch {
        continue; // Not a blob of this store.
      }
      yield { digest, size };
    }
  }
}

class ObjectReferenceStore implements ReferenceStore {
  readonly #bucket: ObjectBucket;
  readonly #keys: Keys;

  constructor(bucket: ObjectBucket, keys: Keys) {
    this.#bucket = bucket;
    this.#keys = keys;
  }

  async #read(key: string): Promise<ReferenceRecord | undefined> {
    const body = await this.#bucket.get(key);
    if (body === undefined) return undefined;
    const text = new TextDecoder().decode(
      await readBounded(body, OBJECT_RECORD_LIMIT, `Reference object ${key}`),
    );
    try {
      const record = JSON.parse(text) as ReferenceRecord;
      if (typeof record?.name !== "string" || typeof record.descriptor !== "object") throw new Error("shape");
      return record;
    } catch (cause) {
      throw new TugError("STORE_CORRUPT", `Reference object ${key} is not a tug reference record`, { cause });
    }
  }

  async get(name: string): Promise<Descriptor | undefined> {
    checkName(name);
    return (await this.#read(this.#keys.ref(name)))?.descriptor;
  }

  async set(name: string, descriptor: Descriptor): Promise<void> {
    checkName(name);
    checkDescriptor(name, descriptor);
    // JSON is the copy: the caller may change `descriptor` afterwards.
    const body = new TextEncoder().encode(JSON.stringify({ name, descriptor }));
    await this.#bucket.put(this.#keys.ref(name), body);
  }

  async delete(name: string): Promise<boolean> {
    checkName(name);
    const key = this.#keys.ref(name);
    if (await this.#bucket.head(key) === undefined) return false;
    await this.#bucket.delete(key);
    return true;
  }

  async list(): Promise<ReferenceRecord[]> {
    const keys: string[] = [];
    for await (const { key } of listUnder(this.#bucket, this.#keys.refs)) keys.push(key);
    const records = await Promise.all(keys.map((key) => this.#read(key)));
    return records.filter((r): r is ReferenceRecord => r !== undefined);
  }
}

/**
 * A {@linkcode Store} over an object-storage bucket: blobs verified in flight and made visible only
 * after their digest matched, large ones uploaded in parts while they stream. See the module doc.
 *
 * @example Over any bucket (here a stand-in that refuses everything)
 * ```ts
 * import { ObjectStore, type ObjectBucket } from "./object_store.ts";
 *
 * const refuse = () => Promise.reject(new Error("no bucket here"));
 * const bucket: ObjectBucket = {
 *   head: refuse, get: refuse, put: refuse, delete: refuse, createMultipartUpload: refuse,
 *   list: async function* () {},
 * };
 * const store = new ObjectStore({ bucket, prefix: "tug" });
 * console.assert(store.capabilities.resume === false);
 * console.assert((await store.references.list()).length === 0);
 * ```
 */
export class ObjectStore implements Store {
  /** The blobs, under `PREFIX/blobs/`. */
  readonly blobs: BlobStore;
  /** The references, under `PREFIX/refs/`. */
  readonly references: ReferenceStore;
  /** An object store keeps only committed blobs: no resume, no read-back while writing. */
  readonly capabilities: StoreCapabilities = { resume: false, readWhileWriting: false };
  /**
   * Leases on blob downloads under `PREFIX/leases/`, so that processes sharing the bucket download a
   * blob once (see `ObjectLeases`).
   */
  readonly leases: ObjectLeases;

  /**
   * Creates a store over `options.bucket`.
   *
   * @param options The bucket, a key prefix, the hasher and the multipart part size.
   * @throws {TypeError} If the prefix has characters other than letters, digits and `._-/`.
   */
  constructor(options: ObjectStoreOptions) {
    const keys = new Keys(options.prefix);
    const partSize = options.partSize ?? OBJECT_PART_SIZE;
    if (!Number.isSafeInteger(partSize) || partSize < 1) {
      throw new RangeError(`Object store partSize ${String(options.partSize)} is not a positive integer`);
    }
    this.blobs = new ObjectBlobStore(
      options.bucket,
      keys,
      options.hasher,
      partSize,
      options.verifyReads ?? true,
    );
    this.references = new ObjectReferenceStore(options.bucket, keys);
    this.leases = new ObjectLeases({
      ...options.leases,
      bucket: options.bucket,
      root: keys.root,
      blobKey: (digest) => keys.blob(checkDigest(digest)),
    });
  }
}
