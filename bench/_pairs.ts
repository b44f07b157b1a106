/**
 * The command-line pairs of the benchmark: tug pull vs skopeo copy, tug serve vs docker-registry in proxy
 * mode (client: skopeo copy), tug unpack vs umoci unpack. Each contender runs as its own process, as a user
 * would run it; outputs go to fresh folders that are removed right before the next run (see `Outputs`).
 *
 * @module
 */

import type { RegistryProcess } from "../test/harness/mod.ts";
import type { S3rverProcess } from "../test/harness/s3rver.ts";
import { startDistributionProxy, tugS3Store } from "./_memory.ts";
import { type Contender, peakRss, removeAll, type Sample, timed } from "./_measure.ts";

/** What every pair needs to know. */
export interface PairContext {
  /** The repository root (where adapters/cli/main.ts is). */
  repo: string;
  /** Scratch folder for outputs. */
  work: string;
  /** The registry that holds the benchmark image. */
  upstream: RegistryProcess;
  /** `host/bench/image:v1` on `upstream`. */
  reference: string;
  /** Repository path of the image (`bench/image`). */
  repository: string;
  /** Layer digests and sizes, to check what each tool wrote. */
  layers: Array<{ digest: string; size: number }>;
  /** The image configuration blob. */
  config: { digest: string; size: number };
  log: (line: string) => void;
}

const deno = Deno.execPath();

function tugArgs(ctx: Pick<PairContext, "repo">, ...args: string[]): string[] {
  return ["run", "-A", `${ctx.repo}/adapters/cli/main.ts`, ...args];
}

/**
 * `deno run` flags of deno.json's `serve` task (`deno task serve`, how the docs run tug serve: V8 flags for a
 * long-running server, see docs/performance.md), so the bench measures the server as it is deployed.
 */
export function serveTaskFlags(repo: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${repo}/deno.json`)) as { tasks: Record<string, string> };
  const words = config.tasks.serve.split(/\s+/);
  const run = words.indexOf("run");
  const main = words.findIndex((w) => w.endsWith("adapters/cli/main.ts"));
  if (words[0] !== "deno" || run < 0 || main < run) {
    throw new Error(
      `deno.json's serve task is not "deno run … adapters/cli/main.ts serve": ${config.tasks.serve}`,
    );
  }
  return words.slice(run + 1, main);
}

/**
 * Output folders of one contender. The previous run's output is removed right before the next run starts,
 * not right after it ends: this VM's balloon driver hands freed memory back to the host within seconds,
 * and a run that must fault ~700 MB of fresh page cache back in loses 0.7–1.3 s to it (measured: the same
 * 600 MB write took 110 ms right after a delete and 800–1400 ms a few seconds later). Both sides of every
 * pair get the same treatment.
 */
class Outputs {
  #previous: string[] = [];
  readonly #root: string;
  readonly #name: string;
  readonly #sync: boolean;
  #n = 0;
  /** With `sync`, `sync(1)` runs after the removal, so no run pays for the previous run's writeback. */
  constructor(root: string, name: string, options: { sync?: boolean } = {}) {
    this.#root = root;
    this.#name = name;
    this.#sync = options.sync ?? false;
  }
  /** Removes the previous outputs and returns `count` new (not yet existing) paths. */
  async next(count = 1): Promise<string[]> {
    for (const p of this.#previous) await removeAll(p);
    if (this.#sync) await new Deno.Command("sync", { stdout: "null", stderr: "null" }).output();
    this.#previous = Array.from({ length: count }, () => `${this.#root}/${this.#name}-${this.#n++}`);
    return this.#previous;
  }
  async clear(): Promise<void> {
    for (const p of this.#previous) await removeAll(p);
    this.#previous = [];
  }
}

/** Checks that an OCI layout holds every layer blob at its size (once per contender, outside timing). */
async function checkLayout(dir: string, layers: PairContext["layers"], who: string): Promise<void> {
  for (const l of layers) {
    const path = `${dir}/blobs/sha256/${l.digest.slice(7)}`;
    let size = -1;
    try {
      size = (await Deno.stat(path)).size;
    } catch {
      // reported below
    }
    if (size !== l.size) throw new Error(`${who} did not store layer ${l.digest} (${path}: ${size} bytes)`);
  }
}

/** (a) Cold pull into an empty store: `tug pull` vs `skopeo copy docker://… oci:…`. */
export function pullPair(ctx: PairContext): [Contender, Contender] {
  const tugOut = new Outputs(ctx.work, "tug-pull");
  const skopeoOut = new Outputs(ctx.work, "skopeo-pull");
  let checkedA = false;
  let checkedB = false;
  return [{
    label: "tug pull",
    async run() {
      const [store] = await tugOut.next();
      const s = await timed(deno, tugArgs(ctx, "pull", "--store", store, "-q", ctx.reference), {
        cwd: ctx.repo,
      });
      if (!checkedA) await checkLayout(store, ctx.layers, "tug pull");
      checkedA = true;
      return s;
    },
  }, {
    label: "skopeo copy",
    async run() {
      const [dir] = await skopeoOut.next();
      const s = await timed("skopeo", [
        "copy",
        "-q",
        "--src-tls-verify=false",
        `docker://${ctx.reference}`,
        `oci:${dir}:bench`,
      ]);
      if (!checkedB) await checkLayout(dir, ctx.layers, "skopeo copy");
      checkedB = true;
      return s;
    },
  }];
}

/**
 * (a') The cost of Docker's strict check: cold `tug pull --verify-diffids` (every layer decompressed and
 * hashed against the config's diff_ids before the name is recorded) vs a plain cold `tug pull`.
 */
export function verifyDiffIdsPair(ctx: PairContext): [Contender, Contender] {
  const strictOut = new Outputs(ctx.work, "tug-pull-verify");
  const plainOut = new Outputs(ctx.work, "tug-pull-plain");
  const contender = (label: string, out: Outputs, extra: string[]): Contender => {
    let checked = false;
    return {
      label,
      async run() {
        const [store] = await out.next();
        const s = await timed(deno, tugArgs(ctx, "pull", "--store", store, "-q", ...extra, ctx.reference), {
          cwd: ctx.repo,
        });
        if (!checked) await checkLayout(store, ctx.layers, label);
        checked = true;
        return s;
      },
    };
  };
  return [
    contender("tug pull --verify-diffids", strictOut, ["--verify-diffids"]),
    contender("tug pull", plainOut, []),
  ];
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing answered ${url} within ${timeoutMs} ms`);
}

/** GETs of each layer blob in the upstream's access log since `from`. */
async function upstreamBlobGets(ctx: PairContext, from: number): Promise<{ max: number; total: number }> {
  const entries = (await ctx.upstream.accessLog()).slice(from);
  let max = 0;
  let total = 0;
  for (const l of ctx.layers) {
    const n = entries.filter((e) => e.method === "GET" && e.path.endsWith(`/blobs/${l.digest}`)).length;
    max = Math.max(max, n);
    total += n;
  }
  return { max, total };
}

/** A proxy process that one round pulls through twice (cold, then warm). */
export interface RunningProxy {
  host: string;
  pid: number;
  stop(): Promise<void>;
}

/** Who pulls through the proxies: skopeo (a real client), or curl fetching every blob, 3 at a time. */
export type ProxyClient = "skopeo" | "curl";

/**
 * GETs the manifest, the config and every layer through `host` with curl, 3 transfers at a time, into
 * /dev/null, and checks every byte count: the proxy's own speed without a client's hashing and writing.
 */
async function curlPull(ctx: PairContext, host: string): Promise<Sample> {
  const base = `http://${host}/v2/${ctx.repository}`;
  const blobs = [ctx.config, ...ctx.layers];
  const args = [
    "-s",
    "--fail",
    "--parallel",
    "--parallel-max",
    "3",
    "-w",
    "%{url_effective} %{size_download}\n",
  ];
  args.push(
    "-H",
    "Accept: application/vnd.oci.image.manifest.v1+json",
    "-o",
    "/dev/null",
    `${base}/manifests/v1`,
  );
  for (const b of blobs) args.push("-o", "/dev/null", `${base}/blobs/${b.digest}`);
  const { stdout, ...sample } = await timed("curl", args);
  for (const b of blobs) {
    const line = stdout.split("\n").find((l) => l.includes(b.digest));
    if (Number(line?.split(" ")[1]) !== b.size) throw new Error(`curl through ${host}: ${b.digest}: ${line}`);
  }
  return sample;
}

function proxyContender(
  ctx: PairContext,
  label: string,
  name: string,
  client: ProxyClient,
  start: (cache: string) => Promise<RunningProxy>,
): Contender {
  const out = new Outputs(ctx.work, name);
  return {
    label,
    async run() {
      const [cache, coldDir, warmDir] = await out.next(3);
      const proxy = await start(cache);
      try {
        const ref = `${proxy.host}/${ctx.repository}:v1`;
        const copy = (dir: string): Promise<Sample> =>
          client === "curl" ? curlPull(ctx, proxy.host) : timed("skopeo", [
            "copy",
            "-q",
            "--src-tls-verify=false",
            `docker://${ref}`,
            `oci:${dir}:bench`,
          ]);
        const before = (await ctx.upstream.accessLog()).length;
        const cold: Sample = await copy(coldDir);
        const afterCold = (await ctx.upstream.accessLog()).length;
        const coldGets = await upstreamBlobGets(ctx, before);
        if (client === "skopeo") await checkLayout(coldDir, ctx.layers, `skopeo through ${label}`);
        const warm: Sample = await copy(warmDir);
        const warmGets = await upstreamBlobGets(ctx, afterCold);
        const rss = peakRss(proxy.pid);
        // The client's RSS is skopeo's; the figure that matters is the proxy's own peak.
        return {
          cold: {
            wall: cold.wall,
            rss,
            extra: { upstreamGetsPerBlobMax: coldGets.max, upstreamBlobGets: coldGets.total },
          },
          warm: { wall: warm.wall, rss, extra: { upstreamBlobGets: warmGets.total } },
        };
      } finally {
        await proxy.stop();
      }
    },
  };
}

/**
 * `tug serve` as its own process with `store` (a folder or `s3://…`) in front of the bench upstream, ready
 * when it returns; `env` is added to the environment (S3 credentials).
 */
export async function startTugServe(
  ctx: Pick<PairContext, "repo" | "upstream">,
  store: string,
  env: Record<string, string> = {},
): Promise<RunningProxy> {
  const port = freePort();
  const child = new Deno.Command(deno, {
    args: [
      "run",
      ...serveTaskFlags(ctx.repo),
      `${ctx.repo}/adapters/cli/main.ts`,
      "serve",
      "--listen",
      `127.0.0.1:${port}`,
      "--store",
      store,
      "--upstream",
      `up=${ctx.upstream.url}`,
      "--default-upstream",
      "up",
    ],
    cwd: ctx.repo,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Drained as it comes (a full pipe would stall the server); shown when it does not start.
  const stderr = new Response(child.stderr).text();
  try {
    await waitHttp(`http://127.0.0.1:${port}/v2/`, 20_000);
  } catch (err) {
    child.kill("SIGKILL");
    await child.status;
    throw new Error(`tug serve did not start: ${await stderr}`, { cause: err });
  }
  return {
    host: `127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
      }, 5000);
      await child.status;
      await stderr;
      clearTimeout(timer);
    },
  };
}

/** (b) Pulls through a pull-through cache, cold then warm: `tug serve` vs docker-registry in proxy mode. */
export function proxyPair(
  ctx: PairContext,
  client: ProxyClient = "skopeo",
  s3?: S3rverProcess,
): [Contender, Contender] {
  // With `s3` both caches live in that s3rver's bucket, each run under its own prefix (removed after it).
  const prefix = (cache: string) => cache.split("/").at(-1)!;
  const dropPrefix = (p: string) => removeAll(`${s3!.dir}/${s3!.bucket}/${p}`);
  const tug = proxyContender(ctx, "tug serve", "tug-proxy", client, async (cache) => {
    if (s3 === undefined) return await startTugServe(ctx, cache);
    const { store, env } = tugS3Store(s3, prefix(cache));
    const proxy = await startTugServe(ctx, store, env);
    return { ...proxy, stop: () => proxy.stop().finally(() => dropPrefix(prefix(cache))) };
  });
  const distribution = proxyContender(ctx, "registry proxy", "registry-proxy", client, async (cache) => {
    const proxy = await startDistributionProxy(
      ctx.upstream,
      cache,
      s3 && { server: s3, root: prefix(cache) },
    );
    return s3 ? { ...proxy, stop: () => proxy.stop().finally(() => dropPrefix(prefix(cache))) } : proxy;
  });
  return [tug, distribution];
}

/** (c) Unpacks the image from one OCI layout (a tug store): `tug unpack` vs `umoci unpack --rootless`. */
export function unpackPair(ctx: PairContext, store: string): [Contender, Contender] {
  // An unpack writes ~1.9 GB into ~70 000 files: the kernel is still writing one run's data back to disk
  // when the next starts (measured: 24 to 56 s for the same unpack), so every run starts after a sync.
  const tugOut = new Outputs(ctx.work, "tug-unpack", { sync: true });
  const umociOut = new Outputs(ctx.work, "umoci-unpack", { sync: true });
  return [{
    label: "tug unpack",
    async run() {
      const [dir] = await tugOut.next();
      return await timed(deno, tugArgs(ctx, "unpack", "--store", store, "-q", ctx.reference, dir), {
        cwd: ctx.repo,
      });
    },
  }, {
    label: "umoci unpack",
    async run() {
      const [bundle] = await umociOut.next();
      return await timed("umoci", ["unpack", "--rootless", "--image", `${store}:${ctx.reference}`, bundle]);
    },
  }];
}
