/**
 * `tug serve`: runs the pull-through registry proxy on this machine, caching into an OCI image layout.
 * Runs on Deno (Deno.serve) and on Node 20 (@hono/node-server, in the `dist/tug.mjs` bundle).
 *
 * @module
 */
import process from "node:process";
import { defineCommand, UsageError } from "../_args.ts";
import { TugError } from "../../../src/errors.ts";
import { openOrCreateStore } from "./_common.ts";
import { createProxy, type UpstreamConfig } from "../../../src/proxy/create_proxy.ts";
import { lookupHost } from "../../serve/lookup_host.ts";
import { DOCKER_HUB_REGISTRY } from "../../../src/registry/lookup_endpoints.ts";
import { nodeHasher } from "../../crypto/node_hasher.ts";
import { serveDeno } from "../../serve/deno.ts";
import type { WebPageSource } from "../../serve/with_web_page.ts";
import type { RunningServer } from "../../serve/types.ts";
import type { Store } from "../../../src/store/types.ts";
import type { EvictionLoop } from "./_bucket_cache.ts";
import { isBucketUrl } from "./_bucket_url.ts";
import { sizeFlag } from "../_size.ts";
import { tokenSecretFromHex } from "../../serve/token_secret.ts";

const SERVE = defineCommand({
  synopsis: `Usage: tug serve [OPTIONS]

Run a pull-through registry cache (a registry mirror) in front of Docker Hub or other registries.
Replicas behind one load balancer share TUG_TOKEN_SECRET (64 hex digits: openssl rand -hex 32).`,
  flags: {
    listen: { type: "string", value: "HOST:PORT", help: "Address to listen on (default 127.0.0.1:5000)" },
    "public-url": {
      type: "string",
      value: "URL",
      help: "The proxy's address as clients reach it, e.g. https://mirror.example: where\n" +
        "its token challenge sends them (default: the --listen address; the\n" +
        "request's Host header is never used)",
    },
    store: {
      type: "string",
      value: "DIR|URL",
      help: "Cache folder, an OCI image layout (default: $TUG_STORE or ~/.local/share/tug/store),\n" +
        "or an S3 bucket: s3://BUCKET/PREFIX[?endpoint=URL&region=R&path-style=true],\n" +
        "checked at start (credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,\n" +
        "AWS_SESSION_TOKEN; R2: ?endpoint=https://ACCOUNT_ID.r2.cloudflarestorage.com&region=auto)",
    },
    upstream: {
      type: "list",
      value: "NAME=URL",
      help: `An upstream registry (repeatable; default docker.io=${DOCKER_HUB_REGISTRY})`,
    },
    "default-upstream": {
      type: "string",
      value: "NAME",
      help: "The upstream for names without an upstream prefix (default: docker.io, else the first)",
    },
    "allow-host": {
      type: "list",
      value: "HOST",
      help: "A host (host or host:port) the upstreams may name as token realm or send a redirect to\n" +
        "on a private address (repeatable); realms must else be on the upstream's own host",
    },
    "tag-ttl": {
      type: "string",
      value: "SECONDS",
      help: "How long a cached tag is used before it is checked upstream (default 60)",
    },
    "cache-max-bytes": {
      type: "string",
      value: "SIZE",
      help: "Cap the cached blob bytes (10GB, 500m: units are powers of 1024, as in Docker),\n" +
        "evicting the least recently used (with s3://: by every replica over the bucket,\n" +
        "from usage records and an index object)",
    },
    "cache-evict-interval": {
      type: "string",
      value: "SECONDS",
      help: "With s3:// and --cache-max-bytes: how often usage is recorded and an eviction\n" +
        "pass runs (default 60); a blob used within two intervals is kept",
    },
    "allow-origin": {
      type: "list",
      value: "ORIGIN",
      help: "Let web pages from ORIGIN call the proxy (repeatable; * for any)",
    },
    web: {
      type: "string",
      value: "DIR",
      help: "Serve the inspection page at / from DIR (deno task build:web); default: built in",
    },
    "no-web": { type: "boolean", help: "Serve the registry API only" },
    redirect: {
      type: "boolean",
      help: "Answer GETs of cached blobs with a 307 to a presigned URL of their object,\n" +
        "valid 20 minutes (needs --store s3://…; clients must reach the bucket)",
    },
    "lease-ttl": {
      type: "string",
      value: "SECONDS",
      help: "With an s3:// store: how long a replica's download lease lives unless renewed;\n" +
        "a replica that dies mid-download holds the blob up for this long (default 30)",
    },
  },
  args: { min: 0, max: 0 },
  column: 26,
});

/** Parses `HOST:PORT` (`[::1]:5000` for IPv6; a bare port binds 127.0.0.1). */
function parseListen(value: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (m === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--listen must be HOST:PORT, got "${value}"`);
  }
  return { hostname: m[1] || m[2] || "127.0.0.1", port };
}

function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new UsageError(`--${flag} must be a non-negative integer, got "${value}"`);
  }
  return n;
}

/** Why a listen failed, as Go's net.Listen words it (the distribution registry prints it so). */
/** Bytes of a blob download `tug serve` keeps in memory over a folder store (`ProxyOptions.fillWindow`). */
const SERVE_FILL_WINDOW = 1 << 20;

const LISTEN_FAILURES: Record<string, string> = {
  AddrInUse: "address already in use",
  EADDRINUSE: "address already in use",
  PermissionDenied: "permission denied",
  EACCES: "permission denied",
  AddrNotAvailable: "cannot assign requested address",
  EADDRNOTAVAIL: "cannot assign requested address",
};

/**
 * A listen failure as one line naming the address (`listen tcp 127.0.0.1:5000: bind: address already in
 * use`) instead of a stack trace: Deno names the error (`AddrInUse`), Node gives it a code (`EADDRINUSE`).
 */
function listenError(err: unknown, listen: { hostname: string; port: number }): TugError | undefined {
  const e = err as { name?: string; code?: string } | undefined;
  const why = LISTEN_FAILURES[e?.code ?? ""] ?? LISTEN_FAILURES[e?.name ?? ""];
  if (why === undefined) return undefined;
  const host = listen.hostname.includes(":") ? `[${listen.hostname}]` : listen.hostname;
  return new TugError("NETWORK", `listen tcp ${host}:${listen.port}: bind: ${why}`, { cause: err });
}

/** The page's files, embedded by `deno task build:node` into the Node bundle. */
declare const __TUG_WEB_FILES__: Record<string, string> | undefined;

/**
 * Where the inspection page served at `/` comes from: `--web DIR` (a built page, `deno task build:web`),
 * the files embedded in the Node bundle, or, running from source on Deno, a build made at start-up.
 * `--no-web` serves the registry API only.
 */
async function webPageSource(dir: string | undefined, off: boolean): Promise<WebPageSource | undefined> {
  if (off) return undefined;
  if (dir !== undefined) return { dir };
  if (typeof __TUG_WEB_FILES__ !== "undefined") return { files: __TUG_WEB_FILES__ };
  // From source: build the page now. The specifier is not a literal so bundlers leave web/ (and esbuild) out.
  const builder = "../../../web/build.ts";
  try {
    const apart = await buildPageApart(new URL(builder, import.meta.url));
    if (apart !== undefined) return { files: apart };
    const { buildWebPage } = await import(builder) as typeof import("../../../web/build.ts");
    return { files: await buildWebPage({ minify: true }) };
  } catch (err) {
    process.stderr.write(`tug serve: the web page is not served (${(err as Error).message})\n`);
    return undefined;
  }
}

/**
 * Builds the page in a `deno` process of its own when this is one (running from source), so the bundler's
 * memory is not kept by the server: its peak stays in the child (in-process, the build raised the
 * server's resident memory by about 20 MiB for good). Undefined where there is no `deno` to run (a
 * compiled binary, Node): the caller builds in-process.
 */
async function buildPageApart(builder: URL): Promise<Record<string, string> | undefined> {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno === undefined || builder.protocol !== "file:" || !/(^|[/\\])deno(\.exe)?$/.test(deno.execPath())) {
    return undefined;
  }
  const code = `const { buildWebPage } = await import(${JSON.stringify(builder.href)});\n` +
    `await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(await buildWebPage({ minify: true }))));`;
  const out = await new deno.Command(deno.execPath(), {
    args: ["eval", "--no-config", code],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`the page build failed: ${new TextDecoder().decode(out.stderr).trim().slice(-500)}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout)) as Record<string, string>;
}

/**
 * The cache `--store` names: an S3 bucket for `s3://BUCKET/PREFIX` (every `tug serve` over the same bucket
 * and prefix shares it), else an OCI layout folder. A cap on a bucket is kept by an eviction loop shared
 * by the replicas (`ObjectLru`), not by the proxy's in-process `lruStore`, which would list every blob.
 */
async function openServeStore(
  value: string | undefined,
  cap: { maxBytes: number | undefined; intervalMs: number },
  leaseTtl?: number,
): Promise<{ store: Store; evictor?: EvictionLoop }> {
  if (isBucketUrl(value)) {
    // The S3 modules are loaded only for a bucket store: a folder cache keeps none of them in memory.
    const [{ openBucketStore, startEvictionLoop }, { checkBucketUrl }, { ObjectLru }] = await Promise.all([
      import("./_bucket_cache.ts"),
      import("./_bucket_check.ts"),
      import("../../../src/store/object_lru.ts"),
    ]);
    const { bucket, prefix, store } = openBucketStore(
      value,
      "--store",
      leaseTtl !== undefined ? { ttl: leaseTtl * 1000 } : undefined,
    );
    // Before listening: a wrong endpoint, bucket, key or region is reported now, not on a first pull.
    await checkBucketUrl(value);
    if (cap.maxBytes === undefined) return { store };
    const lru = new ObjectLru({ bucket, ...(prefix !== undefined ? { prefix } : {}) });
    const evictor = startEvictionLoop(lru, { maxBytes: cap.maxBytes, intervalMs: cap.intervalMs });
    return { store: lru.wrap(store), evictor };
  }
  // Cached blobs go from file to socket without a JavaScript call per chunk on Deno (warm pulls 0.33 → 0.23 s
  // on the 683 MB benchmark image); clients still check sizes and digests of what they receive.
  return { store: await openOrCreateStore(value, { responseStreams: true }) };
}

/**
 * Runs `tug serve` with `argv` (after the command name) until SIGINT or SIGTERM; returns the exit code.
 *
 * @example Show the help (starts nothing)
 * ```ts
 * import { serveCommand } from "./serve.ts";
 *
 * console.assert((await serveCommand(["--help"])) === 0);
 * ```
 */
export async function serveCommand(argv: string[]): Promise<number> {
  const args = SERVE.parseOrHelp(argv, (text) => process.stdout.write(text));
  if (!args) return 0;
  const { flags } = args;
  const allowHosts = flags["allow-host"] ?? [];
  const upstreams: Record<string, UpstreamConfig> = {};
  for (const entry of flags.upstream ?? [`docker.io=${DOCKER_HUB_REGISTRY}`]) {
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new UsageError(`--upstream must be NAME=URL, got "${entry}"`);
    upstreams[entry.slice(0, eq)] = { url: entry.slice(eq + 1), allowHosts };
  }
  const listen = parseListen(flags.listen ?? "127.0.0.1:5000");
  const publicUrl = flags["public-url"];
  const origins = flags["allow-origin"];
  const tagTtl = positiveNumber("tag-ttl", flags["tag-ttl"]);
  const cacheMaxBytes = sizeFlag("cache-max-bytes", flags["cache-max-bytes"]);
  const redirect = Boolean(flags.redirect);
  const inBucket = isBucketUrl(flags.store);
  if (redirect && !inBucket) {
    // Checked before anything starts: only an object store has URLs a client could fetch a blob from.
    throw new UsageError(
      "--redirect needs --store s3://BUCKET/PREFIX: a folder store has no URLs for clients",
    );
  }
  let tokenSecret;
  try {
    // Replicas behind one load balancer share it: a token one of them issued opens at the others.
    tokenSecret = tokenSecretFromHex(process.env.TUG_TOKEN_SECRET);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const evictInterval = positiveNumber("cache-evict-interval", flags["cache-evict-interval"]) ?? 60;
  if (evictInterval < 1) throw new UsageError(`--cache-evict-interval must be at least 1 second`);
  if (flags["cache-evict-interval"] !== undefined && !(inBucket && cacheMaxBytes !== undefined)) {
    // Said rather than ignored: only the bucket's shared eviction loop runs on an interval.
    throw new UsageError(
      "--cache-evict-interval applies to --store s3://… with --cache-max-bytes (a folder cache evicts as it fills)",
    );
  }
  const leaseTtl = positiveNumber("lease-ttl", flags["lease-ttl"]);
  if (leaseTtl !== undefined && !inBucket) {
    throw new UsageError("--lease-ttl needs --store s3://BUCKET/PREFIX");
  }
  const { store, evictor } = await openServeStore(flags.store, {
    maxBytes: inBucket ? cacheMaxBytes : undefined,
    intervalMs: evictInterval * 1000,
  }, leaseTtl);
  let app;
  try {
    app = createProxy({
      store,
      upstreams,
      hasher: nodeHasher,
      // Redirect targets and token realms are refused when their name resolves to a non-public address.
      resolveHost: lookupHost,
      userAgent: "tug-proxy",
      // Deno.serve takes its own reference to every chunk of a response it sends: the proxy may free an
      // upstream chunk once its clients read past it (peak memory with 8 clients on a cold 250 MB blob
      // 150 → ~75 MiB). Node's server keeps chunks in its write queue: there the GC frees them.
      releaseChunks: "Deno" in globalThis,
      // A folder store reads back what a client fell behind by, so the window only spares the disk: 1 MiB
      // (default 4) took ~5 MiB off the peak with 8 clients on a cold 250 MB blob, in the same time
      // (docs/performance.md, "Proxy memory"). An object store cannot read back and paces its fill to the
      // window instead: it keeps the default.
      ...(inBucket ? {} : { fillWindow: SERVE_FILL_WINDOW }),
      ...(publicUrl !== undefined ? { publicUrl } : {}),
      ...(tokenSecret !== undefined ? { tokenSecret } : {}),
      ...(flags["default-upstream"] !== undefined ? { defaultUpstream: flags["default-upstream"] } : {}),
      ...(tagTtl !== undefined ? { tagTtl } : {}),
      ...(cacheMaxBytes !== undefined && !inBucket ? { cacheMaxBytes } : {}),
      ...(redirect ? { redirect: true } : {}),
      ...(origins !== undefined ? { allowOrigins: origins.includes("*") ? "*" as const : origins } : {}),
    });
  } catch (err) {
    await evictor?.stop();
    if (err instanceof TypeError) throw new UsageError(err.message);
    throw err;
  }
  const page = await webPageSource(flags.web, Boolean(flags["no-web"]));
  // Loaded when used, like the Node server below: what `tug serve` does not run it does not keep in memory.
  const served = page ? (await import("../../serve/with_web_page.ts")).withWebPage(app, page) : app;
  let server: RunningServer;
  try {
    server = "Deno" in globalThis
      ? await serveDeno(served, listen)
      : await (await import("../../serve/node.ts")).serveNode(served, listen);
  } catch (err) {
    await evictor?.stop();
    throw listenError(err, listen) ?? err;
  }
  process.stdout.write(
    `tug proxy listening on ${server.url} (upstreams: ${Object.keys(upstreams).join(", ")})\n`,
  );
  const sameHost = redirect && inBucket
    ? (await import("./_bucket_check.ts")).redirectHostWarning(flags.store!, publicUrl ?? server.url)
    : undefined;
  if (sameHost) process.stderr.write(sameHost);
  if (publicUrl === undefined && /^(0\.0\.0\.0|::|\[::\])$/.test(listen.hostname)) {
    // The token realm is the listener's address, which other machines cannot use for a wildcard bind.
    process.stderr.write(
      `tug serve: listening on all addresses; clients on other machines need --public-url to authenticate\n`,
    );
  }
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.shutdown();
  await evictor?.stop();
  return 0;
}
