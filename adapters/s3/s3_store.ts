// This module is browser compatible.
/**
 * A store in an S3 bucket: {@linkcode s3Store} makes an `ObjectStore` over an {@linkcode S3Bucket}, and
 * {@linkcode s3StoreOptionsFromUrl} reads `s3://BUCKET/PREFIX?endpoint=…&region=…&path-style=…` with the
 * usual AWS environment variables (what `tug serve --store s3://…` takes).
 *
 * @module
 */

import type { HasherFactory } from "../../src/digest/hasher.ts";
import { ObjectStore, type ObjectStoreOptions } from "../../src/store/object_store.ts";
import { S3Bucket, type S3BucketOptions } from "./s3_bucket.ts";

/**
 * Options for {@linkcode s3Store}: where the bucket is, and how the store uses it.
 *
 * @example
 * ```ts
 * import type { S3StoreOptions } from "./s3_store.ts";
 *
 * const options: S3StoreOptions = {
 *   bucket: "cache",
 *   prefix: "tug",
 *   credentials: { accessKeyId: "id", secretAccessKey: "secret" },
 * };
 * console.assert(options.prefix === "tug");
 * ```
 */
export interface S3StoreOptions extends S3BucketOptions {
  /** A key prefix (folder) inside the bucket. */
  prefix?: string;
  /** Hashes blobs as they are written (default: the portable WebAssembly hasher). */
  hasher?: HasherFactory;
  /** Bytes per part of a multipart upload (default 8 MiB, at least 5 MiB on S3). */
  partSize?: number;
  /** Check the digest of every whole-blob read (default true; see `ObjectStoreOptions.verifyReads`). */
  verifyReads?: boolean;
  /** The download leases' time to live and clock (see `ObjectStoreOptions.leases`). */
  leases?: ObjectStoreOptions["leases"];
}

/**
 * A store over an S3 bucket (see `ObjectStore`: verified in flight, visible only after the digest
 * matched, large blobs uploaded in parts while they stream; no resume, no read-back while writing).
 *
 * @param options The bucket, endpoint, credentials, prefix, hasher and part size.
 * @returns The store.
 *
 * @example MinIO on this machine
 * ```ts
 * import { s3Store } from "./s3_store.ts";
 *
 * const store = s3Store({
 *   bucket: "cache",
 *   prefix: "tug",
 *   endpoint: "http://127.0.0.1:9000",
 *   credentials: { accessKeyId: "minio", secretAccessKey: "minio123" },
 * });
 * console.assert(store.capabilities.readWhileWriting === false);
 * ```
 */
export function s3Store(options: S3StoreOptions): ObjectStore {
  return new ObjectStore({
    bucket: new S3Bucket(options),
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    ...(options.hasher !== undefined ? { hasher: options.hasher } : {}),
    ...(options.partSize !== undefined ? { partSize: options.partSize } : {}),
    ...(options.verifyReads !== undefined ? { verifyReads: options.verifyReads } : {}),
    ...(options.leases !== undefined ? { leases: options.leases } : {}),
  });
}

/**
 * Reads an `s3://BUCKET/PREFIX` store URL. Query parameters `endpoint`, `region` and `path-style`
 * (`true`/`false`) override the environment: `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`, `AWS_REGION` or
 * `AWS_DEFAULT_REGION`; credentials come from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
 * `AWS_SESSION_TOKEN` (the variables the AWS CLI and SDKs read).
 *
 * @param url The store URL.
 * @param env The environment (e.g. `process.env`).
 * @returns Options for {@linkcode s3Store}.
 * @throws {TypeError} If the URL is not `s3://BUCKET[/PREFIX]`, a parameter is unknown, or credentials
 * are missing.
 *
 * @example
 * ```ts
 * import { s3StoreOptionsFromUrl } from "./s3_store.ts";
 *
 * const options = s3StoreOptionsFromUrl("s3://cache/tug/proxy?endpoint=http://127.0.0.1:9000", {
 *   AWS_ACCESS_KEY_ID: "id",
 *   AWS_SECRET_ACCESS_KEY: "secret",
 * });
 * console.assert(options.bucket === "cache" && options.prefix === "tug/proxy");
 * console.assert(options.endpoint === "http://127.0.0.1:9000" && options.pathStyle === undefined);
 * ```
 */
export function s3StoreOptionsFromUrl(url: string, env: Record<string, string | undefined>): S3StoreOptions {
  // Messages name the URL without its userinfo: a key pair written into it must never be printed.
  const shown = redactUserinfo(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`Store URL "${shown}" is not a URL; expected s3://BUCKET/PREFIX`);
  }
  if (parsed.protocol !== "s3:" || parsed.hostname === "") {
    throw new TypeError(`Store URL "${shown}" must be s3://BUCKET/PREFIX`);
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new TypeError(
      `Store URL "${shown}" holds credentials: they are not read from a URL (URLs end up in shell history, ` +
        `process lists and logs); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead`,
    );
  }
  if (parsed.port !== "" || parsed.hash !== "") {
    throw new TypeError(`Store URL "${shown}" must be s3://BUCKET/PREFIX, without a port or a #fragment`);
  }
  // The URL parser removes dot segments (`s3://b/../x` reads as prefix `x`, `%2e%2e` too): the path is
  // judged as written, so a prefix that names another folder is refused rather than quietly changed.
  const rawPath = url.slice(url.indexOf("//") + 2).split(/[?#]/)[0].replace(/^[^/]*/, "");
  if (rawPath.split("/").some((s) => /^(\.|%2e){1,2}$/i.test(s))) {
    throw new TypeError(`Store URL "${shown}": the prefix has a . or .. segment`);
  }
  const known = new Set(["endpoint", "region", "path-style"]);
  for (const key of parsed.searchParams.keys()) {
    if (!known.has(key)) {
      throw new TypeError(
        `Store URL "${shown}": unknown parameter "${key}" (known: ${[...known].join(", ")})`,
      );
    }
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new TypeError(
      `Store URL "${shown}" needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment`,
    );
  }
  const endpoint = parsed.searchParams.get("endpoint") ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  if (endpoint) checkEndpoint(endpoint, shown);
  const region = parsed.searchParams.get("region") ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const pathStyle = parsed.searchParams.get("path-style");
  if (pathStyle !== null && pathStyle !== "true" && pathStyle !== "false") {
    throw new TypeError(`Store URL "${shown}": path-style must be true or false, got "${pathStyle}"`);
  }
  const prefix = decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, "");
  return {
    bucket: parsed.hostname,
    credentials: {
      accessKeyId,
      secretAccessKey,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    },
    ...(prefix !== "" ? { prefix } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    ...(pathStyle !== null ? { pathStyle: pathStyle === "true" } : {}),
  };
}

/**
 * `url` with every userinfo (`user:password@`) replaced by `***@`: its own, and an endpoint's in the query,
 * written plainly or percent-encoded.
 */
function redactUserinfo(url: string): string {
  return url.replace(/(\/\/|%2f%2f)[^/?#&]*?(@|%40)/gi, "$1***$2");
}

/** The endpoint must be an http(s) URL without userinfo (S3 takes credentials only as a signature). */
function checkEndpoint(endpoint: string, shown: string): void {
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw new TypeError(`Store URL "${shown}": endpoint "${redactUserinfo(endpoint)}" is not a URL`);
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new TypeError(
      `Store URL "${shown}": endpoint "${redactUserinfo(endpoint)}" holds credentials; they are not sent ` +
        `(requests are signed with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`,
    );
  }
}

/**
 * A warning for an endpoint reached over plain `http` on another machine, or undefined: there the bodies
 * (blobs, references) and the session token cross the network in clear, and, since S3 writes are signed
 * with `UNSIGNED-PAYLOAD`, whoever is on the path can change what is written and what is read (whole-blob
 * reads are still verified by digest). Loopback endpoints (a local MinIO, tests) get none.
 *
 * @param options The store options (their `endpoint`).
 * @returns The warning text, or undefined.
 *
 * @example
 * ```ts
 * import { insecureEndpointWarning } from "./s3_store.ts";
 *
 * console.assert(insecureEndpointWarning({ endpoint: "http://127.0.0.1:9000" }) === undefined);
 * console.assert(insecureEndpointWarning({ endpoint: "http://minio.internal:9000" }) !== undefined);
 * ```
 */
export function insecureEndpointWarning(options: Pick<S3StoreOptions, "endpoint">): string | undefined {
  if (options.endpoint === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(options.endpoint);
  } catch {
    return undefined; // refused elsewhere
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || host.endsWith(".localhost") || host === "::1" ||
    /^127\.\d+\.\d+\.\d+$/.test(host);
  if (url.protocol !== "http:" || loopback) return undefined;
  return `the S3 endpoint ${url.origin} is plain http: blobs, references and the session token cross the ` +
    `network unencrypted, and writes can be altered on the way (use https unless the network is trusted)`;
}
