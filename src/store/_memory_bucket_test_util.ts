// This module is browser compatible.
/**
 * An {@linkcode ObjectBucket} in memory for unit tests of code over a bucket: it counts every call by
 * method (and each `list()` by prefix) so tests can prove what was, and was not, listed or read. Objects
 * carry a last-modified time from an injected clock. The integration tests in test/ use real S3 servers.
 * Test-only.
 *
 * @module
 */

import type { ObjectBucket, ObjectMultipartUpload, ObjectPart } from "./object_store.ts";

/** An object in the double. */
export interface MemoryObject {
  bytes: Uint8Array;
  lastModified: number;
}

/** An incomplete multipart upload in the double. */
export interface MemoryUpload {
  key: string;
  uploadId: string;
  initiated: number;
}

/** The double: a bucket, its objects, and what it was asked. */
export interface MemoryBucket extends ObjectBucket {
  readonly objects: Map<string, MemoryObject>;
  readonly uploads: Map<string, MemoryUpload>;
  /** Calls by method name (`head`, `get`, `put`, `delete`, `list`, …). */
  readonly calls: Map<string, number>;
  /** The prefix of every `list()` call, in order. */
  readonly listed: string[];
  /** Every key read with `get()`, in order. */
  readonly read: string[];
  listMultipartUploads(prefix: string): AsyncIterable<{ key: string; uploadId: string; initiated: number }>;
  abortMultipartUpload(key: string, uploadId: string): Promise<void>;
}

/** A bucket in memory whose objects are stamped with `now()`. */
export function memoryBucket(now: () => number = Date.now): MemoryBucket {
  const objects = new Map<string, MemoryObject>();
  const uploads = new Map<string, MemoryUpload>();
  const calls = new Map<string, number>();
  const listed: string[] = [];
  const read: string[] = [];
  const count = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1);
  let uploadSeq = 0;
  return {
    objects,
    uploads,
    calls,
    listed,
    read,
    head(key) {
      count("head");
      const o = objects.get(key);
      return Promise.resolve(o ? { size: o.bytes.length } : undefined);
    },
    get(key, range) {
      count("get");
      read.push(key);
      const o = objects.get(key);
      if (!o) return Promise.resolve(undefined);
      const bytes = range ? o.bytes.slice(range.start, range.end) : o.bytes.slice();
      return Promise.resolve(new Response(bytes).body!);
    },
    put(key, body, options) {
      count("put");
      if (options?.ifNoneMatch && objects.has(key)) return Promise.resolve(false);
      objects.set(key, { bytes: body.slice(), lastModified: now() });
      return Promise.resolve(true);
    },
    delete(key) {
      count("delete");
      objects.delete(key);
      return Promise.resolve();
    },
    async *list(prefix) {
      count("list");
      listed.push(prefix);
      const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
      for (const key of keys) {
        const o = objects.get(key);
        if (o) yield { key, size: o.bytes.length, lastModified: o.lastModified };
      }
    },
    createMultipartUpload(key): Promise<ObjectMultipartUpload> {
      count("createMultipartUpload");
      const uploadId = `u${++uploadSeq}`;
      uploads.set(uploadId, { key, uploadId, initiated: now() });
      const parts = new Map<number, Uint8Array>();
      return Promise.resolve({
        uploadPart(partNumber: number, body: Uint8Array): Promise<ObjectPart> {
          parts.set(partNumber, body.slice());
          return Promise.resolve({ partNumber, etag: `"${partNumber}"` });
        },
        complete(list: readonly ObjectPart[]): Promise<void> {
          const bytes = list.map((p) => parts.get(p.partNumber)!);
          const whole = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
          let at = 0;
          for (const b of bytes) {
            whole.set(b, at);
            at += b.length;
          }
          objects.set(key, { bytes: whole, lastModified: now() });
          uploads.delete(uploadId);
          return Promise.resolve();
        },
        abort(): Promise<void> {
          uploads.delete(uploadId);
          return Promise.resolve();
        },
      });
    },
    async *listMultipartUploads(prefix) {
      count("listMultipartUploads");
      for (const u of [...uploads.values()]) {
        if (u.key.startsWith(prefix)) yield { key: u.key, uploadId: u.uploadId, initiated: u.initiated };
      }
    },
    abortMultipartUpload(_key, uploadId) {
      count("abortMultipartUpload");
      uploads.delete(uploadId);
      return Promise.resolve();
    },
  };
}
