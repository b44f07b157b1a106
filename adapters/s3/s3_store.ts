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
 * @throws {TypeError} If the URL is not `s3://BUCKET[/PREFIX]` (a port, user info or a fragment; a bucket
 * name S3 refuses), a parameter is unknown or malformed (an endpoint that is not http(s), `path-style=false`
 * with an IP address), or credentials are missing. Messages never hold user info or the secret key.
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
  const label = `Store URL "${redactUserInfo(url)}"`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`${label} is not a URL; expected s3://BUCKET/PREFIX`);
  }
  if (parsed.protocol !== "s3:") throw new TypeError(`${label} must be s3://BUCKET/PREFIX`);
  if (parsed.hostname === "") throw new TypeError(`${label} names no bucket: write s3://BUCKET/PREFIX`);
  if (parsed.username !== "" || parsed.password !== "") {
    throw new TypeError(
      `${label} holds credentials: they are not read from a URL (URLs end up in shell history, process ` +
        `lists and logs); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead`,
    );
  }
  // The URL parser removes dot segments (`s3://b/../x` reads as prefix `x`, `%2e%2e` too): the path is
  // judged as written, so a prefix that names another folder is refused rather than quietly changed.
  const rawPath = url.slice(url.indexOf("//") + 2).split(/[?#]/)[0].replace(/^[^/]*/, "");
  if (rawPath.split("/").some((s) => /^(\.|%2e){1,2}$/i.test(s))) {
    throw new TypeError(`${label}: the prefix has a . or .. segment`);
  }
  if (parsed.port !== "") {
    throw new TypeError(
      `${label}: a bucket has no port; name the server in the endpoint: ` +
        `s3://${parsed.hostname}${parsed.pathname}?endpoint=http://HOST:${parsed.port}`,
    );
  }
  if (parsed.hash !== "") throw new TypeError(`${label}: a store URL has no fragment (${parsed.hash})`);
  const bucketProblem = bucketNameProblem(parsed.hostname);
  if (bucketProblem) throw new TypeError(`${label}: bucket name "${parsed.hostname}" ${bucketProblem}`);
  const known = new Set(["endpoint", "region", "path-style"]);
  for (const [key, value] of parsed.searchParams) {
    if (!known.has(key)) {
      throw new TypeError(`${label}: unknown parameter "${key}" (known: ${[...known].join(", ")})`);
    }
    // Most often an unset shell variable (endpoint=$S3_ENDPOINT): refused rather than read as "the default".
    if (value === "") {
      throw new TypeError(`${label}: parameter "${key}" is empty; give a value or leave it out`);
    }
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    const missing = [!accessKeyId && "AWS_ACCESS_KEY_ID", !secretAccessKey && "AWS_SECRET_ACCESS_KEY"]
      .filter(Boolean).join(" and ");
    // Keys kept in ~/.aws (aws configure, AWS_PROFILE) are not read: the AWS CLI v2 exports them.
    throw new TypeError(
      `${label} needs ${missing} in the environment (the bucket's access key and its secret; for keys in ` +
        `~/.aws: eval "$(aws configure export-credentials --format env)")`,
    );
  }
  const endpointFrom = parsed.searchParams.has("endpoint")
    ? "endpoint"
    : env.AWS_ENDPOINT_URL_S3
    ? "AWS_ENDPOINT_URL_S3"
    : "AWS_ENDPOINT_URL";
  const endpoint = parsed.searchParams.get("endpoint") ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const region = parsed.searchParams.get("region") ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const pathStyle = parsed.searchParams.get("path-style");
  if (pathStyle !== null && pathStyle !== "true" && pathStyle !== "false") {
    throw new TypeError(`${label}: path-style must be true or false, got "${pathStyle}"`);
  }
  if (endpoint) {
    let base: URL | undefined;
    try {
      base = new URL(endpoint);
    } catch { /* named below */ }
    if (base === undefined || (base.protocol !== "http:" && base.protocol !== "https:")) {
      throw new TypeError(
        `${label}: ${endpointFrom} "${redactUserInfo(endpoint)}" must be an http:// or https:// URL, ` +
          `e.g. endpoint=http://127.0.0.1:9000`,
      );
    }
    if (base.username !== "" || base.password !== "") {
      throw new TypeError(
        `${label}: the ${endpointFrom} URL holds credentials; they are not sent (requests are signed with ` +
          `AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`,
      );
    }
    // Virtual-hosted addressing puts the bucket in front of the host: an IP address has no such names.
    if (pathStyle === "false" && /^(\d+\.){3}\d+$|^\[/.test(base.hostname)) {
      throw new TypeError(
        `${label}: path-style=false puts the bucket in the host name (${parsed.hostname}.${base.host}), ` +
          `which needs an endpoint with a host name, not an IP address; leave path-style out`,
      );
    }
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
 * `url` with every userinfo (`user:password@`) replaced by `***@`, for messages: its own, and an endpoint's in
 * the query, written plainly or percent-encoded.
 */
function redactUserInfo(url: string): string {
  return url.replace(/(\/\/|%2F%2F)[^/?#&]*?(@|%40)/gi, "$1***$2");
}

/**
 * What is wrong with a bucket name by S3's rules for new buckets (3 to 63 characters; lowercase letters,
 * digits, dots and hyphens; a letter or digit first and last; no `..`; not an IP address), or undefined.
 * These are the names virtual-hosted addressing and TLS certificates work with; AWS, R2 and MinIO refuse
 * others.
 */
function bucketNameProblem(name: string): string | undefined {
  const rule = "S3 bucket names are 3 to 63 lowercase letters, digits, dots and hyphens, " +
    "starting and ending with a letter or digit";
  if (
    name.length < 3 || name.length > 63 || !/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name) || name.includes("..")
  ) {
    return `is not valid: ${rule}`;
  }
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return "is not valid: an S3 bucket name is not an IP address";
  return undefined;
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
