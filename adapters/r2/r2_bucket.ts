// This module is browser compatible.
/**
 * An {@linkcode ObjectBucket} over a Cloudflare R2 bucket binding (workerd's `env.BLOBS`, or Miniflare's
 * `getR2Bucket()`), typed structurally so tug needs no Cloudflare type package.
 *
 * @module
 */

import { TugError } from "../../src/errors.ts";
import type { ObjectBucket, ObjectMultipartUpload, ObjectPart } from "../../src/store/object_store.ts";

/** The part of workerd's `R2Bucket` binding tug uses (see Cloudflare's "Workers API reference" for R2). */
export interface R2BucketBinding {
  /** Metadata of an object, or null. */
  head(key: string): Promise<{ readonly size: number } | null>;
  /** An object's body (a range of it), or null. */
  get(
    key: string,
    options?: { range?: { offset: number; length: number } },
  ): Promise<{ readonly body: ReadableStream<Uint8Array> } | null>;
  /** Writes an object; null when an `onlyIf` condition failed. */
  put(
    key: string,
    value: Uint8Array | ArrayBuffer,
    options?: { onlyIf?: { etagDoesNotMatch?: string } },
  ): Promise<unknown>;
  /** Removes objects. */
  delete(keys: string | string[]): Promise<void>;
  /** One page of objects under a prefix. */
  list(options?: { prefix?: string; cursor?: string; limit?: number }): Promise<{
    readonly objects: ReadonlyArray<
      { readonly key: string; readonly size: number; readonly uploaded?: Date }
    >;
    readonly truncated: boolean;
    readonly cursor?: string;
  }>;
  /** Starts a multipart upload. */
  createMultipartUpload(key: string): Promise<{
    uploadPart(
      partNumber: number,
      value: Uint8Array | ArrayBuffer,
    ): Promise<{ partNumber: number; etag: string }>;
    complete(parts: Array<{ partNumber: number; etag: string }>): Promise<unknown>;
    abort(): Promise<void>;
  }>;
}

async function io<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    if (cause instanceof TugError) throw cause;
    throw new TugError("STORE_IO", `R2 ${what} failed: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
  }
}

/**
 * A bucket reached through an R2 binding. {@linkcode r2Store} wraps one in an `ObjectStore`.
 *
 * @example
 * ```ts
 * import { R2Bucket, type R2BucketBinding } from "./r2_bucket.ts";
 *
 * // In a worker: `new R2Bucket(env.BLOBS)`.
 * const binding = {} as R2BucketBinding;
 * const bucket = new R2Bucket(binding);
 * console.assert(typeof bucket.head === "function");
 * ```
 */
export class R2Bucket implements ObjectBucket {
  readonly #binding: R2BucketBinding;

  /**
   * Wraps a binding.
   *
   * @param binding The worker's R2 bucket binding.
   */
  constructor(binding: R2BucketBinding) {
    this.#binding = binding;
  }

  /** The object's size, or undefined when it is absent. */
  head(key: string): Promise<{ size: number } | undefined> {
    return io(`head ${key}`, async () => {
      const object = await this.#binding.head(key);
      return object ? { size: object.size } : undefined;
    });
  }

  /** The object's bytes `[start, end)` (all without `range`), or undefined when it is absent. */
  get(key: string, range?: { start: number; end: number }): Promise<ReadableStream<Uint8Array> | undefined> {
    return io(`get ${key}`, async () => {
      const object = await this.#binding.get(
        key,
        range ? { range: { offset: range.start, length: range.end - range.start } } : undefined,
      );
      return object?.body ?? undefined;
    });
  }

  /** Writes a whole object; with `ifNoneMatch`, only when none exists (false when one did). */
  put(key: string, body: Uint8Array, options: { ifNoneMatch?: boolean } = {}): Promise<boolean> {
    return io(`put ${key}`, async () => {
      // R2's conditional write: an ETag that matches no ETag at all is `If-None-Match: *`.
      const result = await this.#binding.put(
        key,
        body,
        options.ifNoneMatch ? { onlyIf: { etagDoesNotMatch: "*" } } : undefined,
      );
      return result !== null;
    });
  }

  /** Removes the object (no error when it is absent). */
  delete(key: string): Promise<void> {
    return io(`delete ${key}`, () => this.#binding.delete(key));
  }

  /**
   * Every object under `prefix`, with its size and last-modified time (R2's `uploaded`), 1000 a page. The
   * time is what finds stale leases and adopts unrecorded blobs (see `ObjectLru.prune`).
   */
  async *list(prefix: string): AsyncIterable<{ key: string; size: number; lastModified?: number }> {
    let cursor: string | undefined;
    for (let page = 0; page < 1_000_000; page++) {
      const result = await io(
        `list ${prefix}`,
        () => this.#binding.list({ prefix, limit: 1000, ...(cursor ? { cursor } : {}) }),
      );
      for (const { key, size, uploaded } of result.objects) {
        // A Date from workerd (or one of another realm, through Miniflare's proxy).
        const lastModified = uploaded === undefined ? NaN : new Date(uploaded).getTime();
        yield Number.isFinite(lastModified) ? { key, size, lastModified } : { key, size };
      }
      if (!result.truncated || !result.cursor) return;
      cursor = result.cursor;
    }
  }

  /** Starts a multipart upload. */
  async createMultipartUpload(key: string): Promise<ObjectMultipartUpload> {
    const upload = await io(`createMultipartUpload ${key}`, () => this.#binding.createMultipartUpload(key));
    return {
      uploadPart: (partNumber, body): Promise<ObjectPart> =>
        io(`uploadPart ${partNumber} of ${key}`, async () => {
          const part = await upload.uploadPart(partNumber, body);
          return { partNumber: part.partNumber, etag: part.etag };
        }),
      complete: (parts) =>
        io(`complete ${key}`, async () => {
          await upload.complete(parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })));
        }),
      abort: () => io(`abort ${key}`, () => upload.abort()),
    };
  }
}
