/**
 * The proxy memory pairs of the benchmark (`proxy-memory`, `proxy-memory-s3`): 8 curl clients at once on one
 * cold 250 MB blob through `tug serve` and through docker-registry in proxy mode, each a fresh process with
 * an empty cache; the figure is the proxy process's peak RSS (`VmHWM` in /proc/PID/status, read right after
 * the clients finish, before the process stops), with the wall time of the 8 transfers beside it. The S3
 * variant puts both caches in one s3rver (tug: `--store s3://…`; distribution: its `s3` storage driver,
 * which Debian's docker-registry 2.8.2 carries).
 *
 * The blob is random bytes (incompressible, like a gzip layer), written once to the bench cache folder.
 *
 * @module
 */

import { pushBlob, type RegistryProcess, startRegistry } from "../test/harness/mod.ts";
import { S3RVER_CREDENTIALS, type S3rverProcess, startS3rver } from "../test/harness/s3rver.ts";
import { type Contender, peakRss, type Sample } from "./_measure.ts";

/** Clients at once on the blob. */
export const MEMORY_CLIENTS = 8;
/** The blob's size (decimal MB, as the issue states it). */
export const MEMORY_BLOB_BYTES = 250e6;

/** The blob the memory pairs pull, pushed to the upstream. */
export interface MemoryBlob {
  repository: string;
  digest: string;
  size: number;
}

/** Random bytes of `size`, cached as `dir/memory-blob-SIZE` (generated once, then read). */
async function blobBytes(dir: string, size: number): Promise<Uint8Array> {
  const path = `${dir}/memory-blob-${size}`;
  try {
    const bytes = await Deno.readFile(path);
    if (bytes.byteLength === size) return bytes;
  } catch {
    // generated below
  }
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(path, bytes);
  return bytes;
}

/** Pushes the memory bench blob (cached in `cacheDir`) to `upstream`. */
export async function pushMemoryBlob(
  upstream: RegistryProcess,
  cacheDir: string,
  size = MEMORY_BLOB_BYTES,
): Promise<MemoryBlob> {
  const bytes = await blobBytes(cacheDir, size);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  const digest = `sha256:${Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  const repository = "bench/memory";
  await pushBlob(upstream, repository, { digest, bytes });
  return { repository, digest, size };
}

/** A proxy started for one round: where it listens, its pid, how to stop it. */
export interface MemoryProxy {
  host: string;
  pid: number;
  stop(): Promise<void>;
  /**
   * Peaks (MiB) of the proxy's own memory inside a shared process, since the last call (the workerd
   * isolate's V8 heap and ArrayBuffer backing stores, sampled), when the process's RSS holds more than it.
   */
  peaks?(): Promise<Record<string, number>>;
}

/**
 * `clients` curl processes started together, each GETting the whole blob into /dev/null; resolves when all
 * are done, with the wall time; throws unless every one got exactly `size` bytes.
 */
async function curlMany(host: string, blob: MemoryBlob, clients: number): Promise<number> {
  const url = `http://${host}/v2/${blob.repository}/blobs/${blob.digest}`;
  const started = performance.now();
  const outs = await Promise.all(
    Array.from({ length: clients }, () =>
      new Deno.Command("curl", {
        args: ["-s", "--fail", "-o", "/dev/null", "-w", "%{size_download}", url],
        stdout: "piped",
        stderr: "piped",
      }).output()),
  );
  const wall = (performance.now() - started) / 1000;
  for (const out of outs) {
    const got = Number(new TextDecoder().decode(out.stdout).trim());
    if (!out.success || got !== blob.size) {
      throw new Error(
        `curl through ${host}: exit ${out.code}, ${got} of ${blob.size} bytes: ${
          new TextDecoder().decode(out.stderr)
        }`,
      );
    }
  }
  return wall;
}

/**
 * One side of a memory pair: each round starts `start()` (empty cache), runs `clients` curls on the cold
 * blob, then reads the proxy's peak RSS and stops it; a second batch of clients on the now warm blob is
 * timed too (`warm`), and the peak after it (`warm` RSS) is the peak of the whole round.
 */
export function memoryContender(
  label: string,
  blob: MemoryBlob,
  start: (round: number) => Promise<MemoryProxy>,
  clients = MEMORY_CLIENTS,
): Contender {
  let n = 0;
  return {
    label,
    async run(): Promise<Record<string, Sample>> {
      const proxy = await start(n++);
      try {
        const base = peakRss(proxy.pid);
        await proxy.peaks?.();
        const cold = await curlMany(proxy.host, blob, clients);
        const coldRss = peakRss(proxy.pid);
        const coldPeaks = await proxy.peaks?.();
        const warm = await curlMany(proxy.host, blob, clients);
        const warmRss = peakRss(proxy.pid);
        const warmPeaks = await proxy.peaks?.();
        const extra = { ...(base === undefined ? {} : { idleRssMiB: base / 1048576 }), ...coldPeaks };
        return {
          cold: {
            wall: cold,
            ...(coldRss !== undefined ? { rss: coldRss } : {}),
            ...(Object.keys(extra).length ? { extra } : {}),
          },
          warm: {
            wall: warm,
            ...(warmRss !== undefined ? { rss: warmRss } : {}),
            ...(warmPeaks ? { extra: warmPeaks } : {}),
          },
        };
      } finally {
        await proxy.stop();
      }
    },
  };
}

/** docker-registry in proxy mode, storage in `cache` (a folder) or in `s3` under a fresh root directory. */
export async function startDistributionProxy(
  upstream: RegistryProcess,
  cache: string,
  s3?: { server: S3rverProcess; root: string },
): Promise<MemoryProxy> {
  const registry = await startRegistry({
    proxy: { remoteurl: upstream.url },
    storageDir: cache,
    ...(s3
      ? {
        extra: {
          storage: {
            // `null` drops the harness's filesystem driver: distribution takes exactly one.
            filesystem: null,
            s3: {
              region: "us-east-1",
              regionendpoint: s3.server.endpoint,
              bucket: s3.server.bucket,
              accesskey: S3RVER_CREDENTIALS.accessKeyId,
              secretkey: S3RVER_CREDENTIALS.secretAccessKey,
              secure: false,
              v4auth: true,
              rootdirectory: `/${s3.root}`,
            },
            redirect: { disable: true },
          },
        },
      }
      : {}),
  });
  return { host: registry.host, pid: registry.pid, stop: () => registry.stop() };
}

/** Starts s3rver for an S3 pair (both proxies' caches live in its one bucket, each run under its own prefix). */
export function startBenchS3(): Promise<S3rverProcess> {
  return startS3rver("tug-bench");
}

/** `--store` for tug serve over `s3` under `prefix`, and the environment with s3rver's credentials. */
export function tugS3Store(
  s3: S3rverProcess,
  prefix: string,
): { store: string; env: Record<string, string> } {
  return {
    store: `s3://${s3.bucket}/${prefix}?endpoint=${encodeURIComponent(s3.endpoint)}&region=us-east-1` +
      `&path-style=true`,
    env: {
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    },
  };
}

/**
 * The proxy worker (adapters/serve/workerd.ts, bundled once into `dir/worker.js`) on workerd (npm), in
 * front of `upstream`, with its default store: in memory, per isolate (`CACHE_MAX_BYTES` in `bindings`
 * caps it). Its isolate is sampled over workerd's inspector like the R2 pair's (`peaks`).
 */
export async function startWorkerdProxy(
  upstream: RegistryProcess,
  dir: string,
  bindings: Record<string, string> = {},
): Promise<MemoryProxy> {
  const [{ buildWorker }, { workerdConfig }, workerd] = await Promise.all([
    import("../adapters/serve/build_workerd.ts"),
    import("../adapters/serve/workerd_config.ts"),
    import("npm:workerd@^1.20261117.1"),
  ]);
  await Deno.mkdir(dir, { recursive: true });
  try {
    await Deno.stat(`${dir}/worker.js`);
  } catch {
    await buildWorker(`${dir}/worker.js`);
  }
  const port = freePort();
  const inspector = freePort();
  await Deno.writeTextFile(
    `${dir}/config.capnp`,
    workerdConfig({
      worker: "worker.js",
      address: `127.0.0.1:${port}`,
      bindings: { UPSTREAMS: JSON.stringify({ up: upstream.url }), DEFAULT_UPSTREAM: "up", ...bindings },
      allow: ["public", "private", "local"],
    }),
  );
  const binary = (workerd as unknown as { default: { default: string } | string }).default;
  const child = new Deno.Command(typeof binary === "string" ? binary : binary.default, {
    args: ["serve", `${dir}/config.capnp`, "--experimental", `--inspector-addr=127.0.0.1:${inspector}`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let sampler: IsolateSampler | undefined;
  const stop = async () => {
    await sampler?.close();
    try {
      child.kill("SIGTERM");
    } catch {
      // gone
    }
    await child.status;
    await stderr;
  };
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/`);
      await res.body?.cancel();
      // The isolate of the config's one service, "proxy" (workerd names inspector targets by service).
      sampler = await IsolateSampler.open(`ws://127.0.0.1:${inspector}/proxy`);
      const peaks = sampler.peaks.bind(sampler);
      return { host: `127.0.0.1:${port}`, pid: child.pid, stop, peaks };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error(`workerd did not answer on port ${port}: ${await stderr}`);
}

/** The pids of this process's `workerd` children (Miniflare spawns one per instance). */
function workerdChildren(): Set<number> {
  const pids = new Set<number>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      // pid (comm) state ppid …: comm may hold spaces, so split after its closing parenthesis.
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      if (comm === "workerd" && ppid === Deno.pid) pids.add(Number(entry.name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * The real bundled proxy worker (adapters/serve/workerd.ts through `buildWorker`, once into `dir/worker.js`)
 * in Miniflare's workerd with an R2 bucket bound as `BLOBS`: the deployment of issue K (the cache in R2,
 * memory only a small front). Miniflare's R2 lives in the same workerd process (a Durable Object over
 * SQLite and blob files, persisted under `dir/r2-ROUND` so the objects' bytes sit on disk, not in the
 * process), so the process's peak RSS is the worker's plus the R2 simulator's.
 */
export async function startWorkerdR2Proxy(
  upstream: RegistryProcess,
  dir: string,
  round: number,
): Promise<MemoryProxy> {
  const [{ buildWorker }, { Miniflare }] = await Promise.all([
    import("../adapters/serve/build_workerd.ts"),
    import("npm:miniflare@^4.20260730.0"),
  ]);
  await Deno.mkdir(dir, { recursive: true });
  try {
    await Deno.stat(`${dir}/worker.js`);
  } catch {
    await buildWorker(`${dir}/worker.js`);
  }
  const persist = `${dir}/r2-${round}`;
  const before = workerdChildren();
  const inspector = freePort();
  const mf = new Miniflare({
    modules: true,
    scriptPath: `${dir}/worker.js`,
    // Module names are relative to this root (the default, the working directory, is not above `dir`).
    modulesRoot: dir,
    compatibilityDate: "2025-01-01",
    compatibilityFlags: ["nodejs_compat"],
    bindings: { UPSTREAMS: JSON.stringify({ up: upstream.url }), DEFAULT_UPSTREAM: "up" },
    r2Buckets: ["BLOBS"],
    r2Persist: persist,
    host: "127.0.0.1",
    port: 0,
    inspectorPort: inspector,
  });
  let sampler: IsolateSampler | undefined;
  const stop = async () => {
    await sampler?.close();
    await mf.dispose();
    await Deno.remove(persist, { recursive: true }).catch(() => {});
  };
  try {
    const url = await mf.ready;
    const res = await fetch(new URL("/v2/", url));
    await res.body?.cancel();
    const pids = [...workerdChildren()].filter((pid) => !before.has(pid));
    if (pids.length !== 1) throw new Error(`expected one new workerd process, found ${pids.length}`);
    // The worker's isolate (Miniflare names an unnamed worker `core:user:`).
    sampler = await IsolateSampler.open(`ws://127.0.0.1:${inspector}/core:user:`);
    const peaks = sampler.peaks.bind(sampler);
    return { host: url.host, pid: pids[0], stop, peaks };
  } catch (e) {
    await stop();
    throw e;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Samples a workerd isolate's memory over the V8 inspector (`Runtime.getHeapUsage` every 50 ms): the JS
 * heap (`totalSize`, what V8 reserved) and the ArrayBuffer backing stores (`backingStorageSize`), the two
 * parts of the isolate's memory that the worker's code decides; peaks are of the samples, so a spike
 * shorter than 50 ms may be missed.
 */
class IsolateSampler {
  #ws: WebSocket;
  #id = 0;
  #waiting = new Map<number, (value: Record<string, number>) => void>();
  #heap = 0;
  #buffers = 0;
  #on = true;
  #loop: Promise<void> = Promise.resolve();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      this.#waiting.get(m.id)?.(m.result ?? {});
      this.#waiting.delete(m.id);
    };
  }

  static async open(url: string): Promise<IsolateSampler> {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`cannot open the workerd inspector at ${url}`));
    });
    const sampler = new IsolateSampler(ws);
    sampler.#loop = sampler.#run();
    return sampler;
  }

  #usage(): Promise<Record<string, number>> {
    const id = ++this.#id;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#ws.send(JSON.stringify({ id, method: "Runtime.getHeapUsage" }));
    });
  }

  async #run(): Promise<void> {
    while (this.#on) {
      const usage = await this.#usage();
      this.#heap = Math.max(this.#heap, usage.totalSize ?? 0);
      this.#buffers = Math.max(this.#buffers, usage.backingStorageSize ?? 0);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The peaks since the last call, in MiB; starts a new period. */
  peaks(): Promise<Record<string, number>> {
    const peaks = { isolateHeapMiB: this.#heap / 1048576, isolateBuffersMiB: this.#buffers / 1048576 };
    this.#heap = 0;
    this.#buffers = 0;
    return Promise.resolve(peaks);
  }

  async close(): Promise<void> {
    this.#on = false;
    // The pending request is answered before the socket closes (or the close ends the wait).
    for (const resolve of this.#waiting.values()) resolve({});
    await this.#loop;
    this.#ws.close();
  }
}
