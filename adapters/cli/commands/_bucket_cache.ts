/**
 * What `tug serve` and `tug prune` share for a store in an S3 bucket (`--store s3://BUCKET/PREFIX`): the
 * bucket, the store over it, and the eviction loop `tug serve --cache-max-bytes` runs over it (see
 * src/store/object_lru.ts for the objects it keeps and why a start lists no blob).
 *
 * @module
 */
import process from "node:process";
import { UsageError } from "../_args.ts";
import { nodeHasher } from "../../crypto/node_hasher.ts";
import { nodeBodyFetch } from "../../s3/node_body_fetch.ts";
import { S3Bucket } from "../../s3/s3_bucket.ts";
import { insecureEndpointWarning, s3StoreOptionsFromUrl } from "../../s3/s3_store.ts";
import { ObjectStore, type ObjectStoreOptions } from "../../../src/store/object_store.ts";
import type { ObjectLru } from "../../../src/store/object_lru.ts";

/** A store in a bucket, and the bucket and prefix it is under. */
export interface BucketStore {
  readonly bucket: S3Bucket;
  readonly prefix: string | undefined;
  readonly store: ObjectStore;
}

/**
 * Opens the store an `s3://BUCKET/PREFIX` URL names (credentials from the AWS_* environment), its download
 * leases configured by `leases` (`tug serve --lease-ttl`).
 */
export function openBucketStore(
  url: string,
  flag = "--store",
  leases?: ObjectStoreOptions["leases"],
): BucketStore {
  try {
    const options = s3StoreOptionsFromUrl(url, process.env);
    const warning = insecureEndpointWarning(options);
    if (warning !== undefined) process.stderr.write(`tug: warning: ${warning}\n`);
    // Parts and leases go through node:http without the copy fetch makes of a byte body (a cold 250 MB blob
    // with 8 clients: peak RSS 125 → ~70 MiB, docs/performance.md).
    const bucket = new S3Bucket({ ...options, fetch: nodeBodyFetch() });
    const store = new ObjectStore({
      bucket,
      hasher: nodeHasher,
      ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
      ...(leases !== undefined ? { leases } : {}),
    });
    return { bucket, prefix: options.prefix, store };
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError(`${flag}: ${err.message}`);
    throw err;
  }
}

/** A running eviction loop. */
export interface EvictionLoop {
  /** Stops the loop, waits for a pass under way, and writes this replica's last usage record. */
  stop(): Promise<void>;
}

/**
 * Every `intervalMs` (and once at start): writes this replica's usage record, then runs an eviction pass
 * down to `maxBytes`. A blob used within two intervals is never evicted. Failures are reported on stderr
 * and the next tick tries again; ticks never overlap.
 */
export function startEvictionLoop(
  lru: ObjectLru,
  options: { maxBytes: number; intervalMs: number },
): EvictionLoop {
  let running: Promise<void> | undefined;
  const tick = () => {
    if (running) return;
    running = (async () => {
      try {
        const report = await lru.evict({ maxBytes: options.maxBytes, graceMs: 2 * options.intervalMs });
        for (const blob of report.deleted) process.stderr.write(`tug serve: evicted ${blob.digest}\n`);
      } catch (err) {
        process.stderr.write(`tug serve: cache eviction failed: ${(err as Error).message}\n`);
      } finally {
        running = undefined;
      }
    })();
  };
  tick();
  const timer = setInterval(tick, options.intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await lru.flush().catch((err) => {
        process.stderr.write(`tug serve: cannot write the cache's usage record: ${(err as Error).message}\n`);
      });
    },
  };
}
