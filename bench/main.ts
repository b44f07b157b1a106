/**
 * tug's benchmark against the tools users would pick instead, on the same machine in the same run:
 *
 * - (a) cold `tug pull` vs `skopeo copy docker://… oci:…` — wall time and peak RSS;
 * - (a') the cost of `tug pull --verify-diffids` (Docker's diffID check during the pull) over a plain pull;
 * - (b) a pull through `tug serve` vs through docker-registry in proxy mode (client: skopeo copy), cold and
 *   warm, with the upstream GETs per blob counted in the upstream registry's access log; the same with curl
 *   as the client (`proxy-curl`: every blob, 3 at a time, into /dev/null), which leaves the client's own
 *   hashing and writing out and so shows the proxies themselves;
 * - (b') proxy memory (`proxy-memory`): 8 curl clients at once on one cold 250 MB blob through `tug serve` and
 *   through docker-registry in proxy mode, peak RSS of each proxy process (VmHWM) and the wall time, cold then
 *   warm; `proxy-memory-s3`, `proxy-s3`, `proxy-curl-s3`: the same pairs with both caches in one s3rver (tug
 *   `--store s3://…`, distribution's `s3` driver); `proxy-memory-workerd`: the proxy worker on workerd (its
 *   default in-memory store) under the same load; `proxy-memory-workerd-r2`: the bundled worker in Miniflare's
 *   workerd over an R2 binding `BLOBS`, with its isolate's heap and buffers sampled (see bench/_memory.ts);
 * - (c) `tug unpack` vs `umoci unpack --rootless`, and the peak RSS of both ("unpack memory") on the bench
 *   image and on two decompression bombs: a gzip and a zstd layer of one file of zeros (1 GiB; 256 MiB with
 *   `--quick`), built by test/_bombs.ts;
 * - (d) in headless Chromium, listing a gzip layer's files with tug vs a bare DecompressionStream drain.
 *
 * Self-contained: it starts its own docker-registry, builds the image from real files under /usr (cached in
 * `~/.cache/tug-bench`, or `$TUG_BENCH_CACHE`), pushes it, and runs each pair A B A B … after a warm-up.
 * Ratios are of medians (tug / peer), which holds up on a shared, noisy machine better than any single
 * time. Results go to the terminal and to `bench/results/<date>-<mode>.json`.
 *
 * ```sh
 * deno task bench                 # ~680 MB image, 5 rounds (about 10 minutes; the first run builds the image)
 * deno task bench:quick           # ~70 MB image, 3 rounds (smoke run)
 * deno task bench --only pull,unpack --rounds 7
 * deno task bench --quick --only proxy-memory,proxy-memory-s3,proxy-curl-s3   # issue K's memory and S3 rows
 * ```
 *
 * @module
 */

import { startRegistry } from "../test/harness/mod.ts";
import { benchImage, type ImageSpec, pushBenchImage } from "./_image.ts";
import { type PairResult, removeAll, runPair, timed } from "./_measure.ts";
import {
  type PairContext,
  proxyPair,
  pullPair,
  startTugServe,
  unpackPair,
  verifyDiffIdsPair,
} from "./_pairs.ts";
import {
  MEMORY_CLIENTS,
  memoryContender,
  pushMemoryBlob,
  startBenchS3,
  startDistributionProxy,
  startWorkerdProxy,
  startWorkerdR2Proxy,
  tugS3Store,
} from "./_memory.ts";
import { pushBombImages } from "./_bombs.ts";
import { browserPair } from "./_browser.ts";

const PAIRS = [
  "pull",
  "verify-diffids",
  "proxy",
  "proxy-curl",
  "proxy-memory",
  "proxy-s3",
  "proxy-curl-s3",
  "proxy-memory-s3",
  "proxy-memory-workerd",
  "proxy-memory-workerd-r2",
  "unpack",
  "browser",
] as const;
type PairName = typeof PAIRS[number];

interface Options {
  quick: boolean;
  rounds: number;
  warmup: number;
  only: PairName[];
  cache: string;
  write: boolean;
}

function parseOptions(args: string[]): Options {
  const quick = args.includes("--quick");
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const known = new Set(["--quick", "--rounds", "--warmup", "--only", "--no-write", "--help"]);
  for (let i = 0; i < args.length; i++) {
    if (!known.has(args[i])) throw new Error(`unknown option ${args[i]} (see bench/main.ts)`);
    if (["--rounds", "--warmup", "--only"].includes(args[i])) i++;
  }
  if (args.includes("--help")) {
    console.log(
      `Usage: deno task bench [--quick] [--rounds N] [--warmup N] [--only ${PAIRS.join(",")}] [--no-write]`,
    );
    Deno.exit(0);
  }
  const only = (value("--only")?.split(",") ?? [...PAIRS]) as PairName[];
  for (const p of only) if (!PAIRS.includes(p)) throw new Error(`unknown pair "${p}": ${PAIRS.join(", ")}`);
  const rounds = Number(value("--rounds") ?? (quick ? 3 : 5));
  const warmup = Number(value("--warmup") ?? 1);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds must be a positive integer");
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error("--warmup must be a non-negative integer");
  const cache = Deno.env.get("TUG_BENCH_CACHE") ?? `${Deno.env.get("HOME") ?? "/tmp"}/.cache/tug-bench`;
  return { quick, rounds, warmup, only, cache, write: !args.includes("--no-write") };
}

const FULL: ImageSpec = { name: "full-v1", layers: 5, layerBytes: 120e6, browserLayerBytes: 250e6 };
const QUICK: ImageSpec = { name: "quick-v1", layers: 5, layerBytes: 12e6, browserLayerBytes: 25e6 };
/** Size of the one file of zeros in each bomb layer. */
const BOMB_BYTES = { full: 1 << 30, quick: 256 << 20 };
/** The unpack memory target, in decimal megabytes (100e6 bytes = 95.4 MiB). */
const UNPACK_RSS_MAX = 100e6;

/** Targets from the benchmark's brief (ratios of medians, tug / peer). */
const TARGETS: Record<string, { max?: number; min?: number; rssMax?: number; text: string }> = {
  "cold pull": { max: 0.5, rssMax: 80 * 1024 * 1024, text: "≤ 0.5 × skopeo, peak RSS ≤ 80 MiB" },
  "pull through a proxy (cold)": { max: 0.5, text: "≤ 0.5 ×, one upstream GET per blob" },
  "pull through a proxy (warm)": { max: 0.7, text: "≤ 0.7 ×" },
  "proxy, curl client (cold)": { max: 0.5, text: "≤ 0.5 ×, one upstream GET per blob" },
  "proxy, curl client (warm)": { max: 0.7, text: "≤ 0.7 ×" },
  // Issue K (7): memory and speed of the proxy, with its filesystem store and with an S3 store (s3rver).
  "proxy memory (cold)": {
    max: 0.8,
    rssMax: 64 * 1024 * 1024,
    text: "peak RSS ≤ 64 MiB (distribution: 35–40 MiB), time ≤ 0.8 ×",
  },
  "proxy memory (warm)": { max: 0.5, rssMax: 64 * 1024 * 1024, text: "peak RSS ≤ 64 MiB, time ≤ 0.5 ×" },
  "proxy memory, S3 store (cold)": {
    max: 0.8,
    rssMax: 64 * 1024 * 1024,
    text: "peak RSS ≤ 64 MiB, time ≤ 0.8 ×",
  },
  "proxy memory, S3 store (warm)": {
    max: 0.5,
    rssMax: 64 * 1024 * 1024,
    text: "peak RSS ≤ 64 MiB, time ≤ 0.5 ×",
  },
  "proxy memory, workerd (cold)": { rssMax: 128 * 1024 * 1024, text: "workerd's peak RSS < 128 MiB" },
  "proxy memory, workerd (warm)": { rssMax: 128 * 1024 * 1024, text: "workerd's peak RSS < 128 MiB" },
  "pull through a proxy, S3 store (cold)": { max: 0.8, text: "≤ 0.8 ×, one upstream GET per blob" },
  "pull through a proxy, S3 store (warm)": { max: 0.5, text: "≤ 0.5 ×" },
  "proxy, curl client, S3 store (cold)": { max: 0.8, text: "≤ 0.8 ×, one upstream GET per blob" },
  "proxy, curl client, S3 store (warm)": { max: 0.5, text: "≤ 0.5 ×" },
  "unpack": { max: 0.7, text: "≤ 0.7 × umoci" },
  // A memory target only: the time of these rows is shown, not judged.
  "unpack memory": {
    rssMax: UNPACK_RSS_MAX,
    text: "≤ 100 MB peak RSS (decimal: 100e6 bytes = 95.4 MiB), every image and bomb",
  },
  // Time ratio ≤ 1/0.7 is throughput ≥ 0.7 × the bare decoder; heap flat: under 32 MB at the peak.
  "browser: list a gzip layer": { max: 1 / 0.7, text: "throughput ≥ 0.7 × DecompressionStream, flat heap" },
};

async function version(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    return new TextDecoder().decode(out.stdout).trim().split("\n")[0];
  } catch {
    return "missing";
  }
}

async function machine(): Promise<Record<string, unknown>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const load = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return {
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown",
    cores: navigator.hardwareConcurrency,
    memTotalKiB: Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0),
    loadAverageAtStart: load.trim(),
    kernel: Deno.osRelease(),
  };
}

async function tools(): Promise<Record<string, string>> {
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    skopeo: await version("skopeo", ["--version"]),
    umoci: await version("umoci", ["--version"]),
    "docker-registry": await version("docker-registry", ["--version"]),
    chromium: await version("chromium", ["--version"]),
    tug: await version(Deno.execPath(), ["run", "-A", "adapters/cli/main.ts", "version"]),
    tugCommit: await version("git", ["rev-parse", "--short", "HEAD"]),
  };
}

const mb = (bytes?: number) => bytes === undefined ? "—" : `${(bytes / 1048576).toFixed(1)} MiB`;
const s = (x: number) => Number.isFinite(x) ? `${x.toFixed(2)} s` : "—";

function judge(result: PairResult): void {
  const base = result.name.replace(/ \((cold|warm)\)$/, "").replace(/^unpack memory: .*$/, "unpack memory");
  const t = TARGETS[result.name] ?? TARGETS[base];
  if (!t) return;
  result.target = { max: t.max, min: t.min, rssMax: t.rssMax, text: t.text };
  const notes: string[] = [];
  let met = t.max === undefined || result.ratio <= t.max;
  if (t.rssMax !== undefined) {
    const ok = (result.a.rssMax ?? Infinity) <= t.rssMax;
    if (!ok) {
      notes.push(`peak RSS ${mb(result.a.rssMax)} > ${mb(t.rssMax)} (${(t.rssMax / 1e6).toFixed(0)} MB)`);
    }
    met &&= ok;
  }
  const gets = result.a.extra?.upstreamGetsPerBlobMax;
  if (gets !== undefined) {
    const ok = gets.max === 1 && gets.min === 1;
    notes.push(
      `upstream GETs per blob: tug ${gets.max}, peer ${result.b.extra?.upstreamGetsPerBlobMax?.max ?? "?"}`,
    );
    met &&= ok;
  }
  const heap = result.a.extra?.heapPeakMB;
  if (heap !== undefined) {
    notes.push(`throughput: tug ${(1 / result.ratio).toFixed(2)} × the bare decoder`);
    notes.push(
      `JS heap peak growth: tug ${heap.max.toFixed(1)} MB, bare ${
        result.b.extra?.heapPeakMB?.max.toFixed(1)
      } MB`,
    );
    met &&= heap.max <= 32;
  }
  result.notes = [...(result.notes ?? []), ...notes];
  result.met = met;
}

function print(result: PairResult): void {
  const row = (x: PairResult["a"]) =>
    `    ${x.label.padEnd(22)} min ${s(x.wall.min)}  median ${s(x.wall.median)}  max ${s(x.wall.max)}` +
    (x.rssMax !== undefined ? `  peak RSS ${mb(x.rssMax)}` : "");
  console.log(`\n  ${result.name}`);
  console.log(row(result.a));
  console.log(row(result.b));
  const verdict = result.met === undefined ? "" : result.met ? "  (target met)" : "  (target NOT met)";
  if (result.rssRatio !== undefined) {
    console.log(
      `    peak RSS: tug ${mb(result.a.rssMax)} (${((result.a.rssMax ?? NaN) / 1e6).toFixed(1)} MB), ` +
        `peer ${mb(result.b.rssMax)}; ratio (tug / peer): ${
          Number.isFinite(result.rssRatio) ? result.rssRatio.toFixed(2) : "—"
        }${verdict}`,
    );
    if (!result.name.startsWith("proxy memory")) {
      if (result.target) console.log(`    target: ${result.target.text}`);
      for (const n of result.notes ?? []) console.log(`    ${n}`);
      return;
    }
  }
  console.log(
    `    ratio (median tug / median peer): ${result.ratio.toFixed(2)}${verdict}; ` +
      `of the minimums: ${result.ratioMin.toFixed(2)}`,
  );
  if (result.target) console.log(`    target: ${result.target.text}`);
  for (const n of result.notes ?? []) console.log(`    ${n}`);
}

/**
 * The "unpack memory" rows: peak RSS of `tug unpack` and `umoci unpack --rootless` on the bench image (the
 * samples of the unpack pair just run) and on the two bombs, which are pushed, pulled into `store` with
 * `tug pull`, and unpacked A B A B like the other pairs. umoci 0.4.7 (Debian) cannot read zstd layers
 * ("blob is not correct mediatype"): its side of that row is then left empty and the reason noted.
 */
async function unpackMemory(
  ctx: PairContext,
  store: string,
  image: PairResult,
  options: Options,
  pairOptions: { rounds: number; warmup: number; log: (line: string) => void },
  upstream: Parameters<typeof pushBombImages>[0],
): Promise<PairResult[]> {
  const rows: PairResult[] = [{ ...image, name: "unpack memory: bench image", rssRatio: rssRatio(image) }];
  const bombBytes = options.quick ? BOMB_BYTES.quick : BOMB_BYTES.full;
  ctx.log(`\n== unpack memory: bombs of ${bombBytes / (1 << 20)} MiB of zeros (gzip, zstd)`);
  for (const bomb of await pushBombImages(upstream, bombBytes)) {
    await timed(Deno.execPath(), [
      "run",
      "-A",
      "adapters/cli/main.ts",
      "pull",
      "--store",
      store,
      "-q",
      bomb.reference,
    ]);
    // A folder of its own: the outputs of the pair before are still there (removed with the pair's folder).
    const work = `${ctx.work}/${bomb.reference.split("/").at(-1)!.replace(/[^a-z0-9-]/g, "-")}`;
    await Deno.mkdir(work);
    const [a, b] = unpackPair({ ...ctx, work, reference: bomb.reference }, store);
    const name = `unpack memory: ${bomb.label}`;
    // umoci 0.4.7 (Debian) refuses zstd layers ("blob is not correct mediatype"): its side is then left
    // empty, with the reason in the notes, and tug is measured alone.
    let unsupported: string | undefined;
    const peer = {
      label: b.label,
      async run(round: number) {
        if (unsupported === undefined) {
          try {
            return await b.run(round);
          } catch (err) {
            const message = String((err as Error)?.message ?? err);
            const why = /blob is not correct mediatype[^\n]*/.exec(message)?.[0];
            if (why === undefined) throw err;
            unsupported = why;
          }
        }
        return { wall: NaN };
      },
    };
    const [row] = await runPair(name, a, peer, pairOptions);
    if (unsupported !== undefined) row.notes = [`umoci unpack cannot: ${unsupported}`];
    row.rssRatio = rssRatio(row);
    row.notes = [
      ...(row.notes ?? []),
      `layer: ${(bomb.layerBytes / 1e6).toFixed(2)} MB compressed, one file of ${
        bomb.fileBytes / (1 << 20)
      } MiB of zeros`,
      `time (median): tug ${s(row.a.wall.median)}, umoci ${s(row.b.wall.median)}`,
    ];
    rows.push(row);
  }
  rows[0].notes = [
    `time (median): tug ${s(image.a.wall.median)}, umoci ${s(image.b.wall.median)} (the unpack pair's runs)`,
  ];
  return rows;
}

function rssRatio(r: PairResult): number {
  return (r.a.rssMax ?? NaN) / (r.b.rssMax ?? NaN);
}

/** The workerd isolate's own peaks (sampled over the inspector, see bench/_memory.ts), as a note. */
function isolateNote(r: PairResult): string | undefined {
  const heap = r.a.extra?.isolateHeapMiB;
  const buffers = r.a.extra?.isolateBuffersMiB;
  if (heap === undefined || buffers === undefined) return undefined;
  return `the worker's isolate alone (sampled every 50 ms over the inspector): V8 heap ` +
    `${heap.max.toFixed(1)} MiB + ArrayBuffers ${buffers.max.toFixed(1)} MiB = ` +
    `${(heap.max + buffers.max).toFixed(1)} MiB (goal: under 128 MB)`;
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const repo = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
  Deno.chdir(repo);
  const log = (line: string) => console.log(line);
  const spec = options.quick ? QUICK : FULL;
  const image = await benchImage(spec, options.cache, log);
  log(
    `image: ${image.layers.length} gzip layers, ${(image.compressedBytes / 1e6).toFixed(0)} MB compressed, ` +
      `${(image.uncompressedBytes / 1e6).toFixed(0)} MB of tar; browser layer ${
        (image.browserLayer.size / 1e6).toFixed(0)
      } MB gzip`,
  );
  const work = await Deno.makeTempDir({ prefix: "tug-bench-" });
  const results: PairResult[] = [];
  const unavailable: Record<string, string> = {};
  await using upstream = await startRegistry();
  try {
    const repository = "bench/image";
    let started = performance.now();
    const reference = await pushBenchImage(image, upstream.host, repository);
    log(`pushed ${reference} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const ctx: PairContext = {
      repo,
      work,
      upstream,
      reference,
      repository,
      layers: image.layers.map((l) => ({ digest: l.digest, size: l.size })),
      config: { digest: image.config.digest, size: image.config.size },
      log,
    };
    const pairOptions = { rounds: options.rounds, warmup: options.warmup, log };
    let memoryBlob: Awaited<ReturnType<typeof pushMemoryBlob>> | undefined;
    for (const name of options.only) {
      started = performance.now();
      log(`\n== ${name} (${options.warmup} warm-up, ${options.rounds} rounds, A B A B)`);
      const pairWork = `${work}/${name}`;
      await Deno.mkdir(pairWork);
      const pctx = { ...ctx, work: pairWork };
      let got: PairResult[] = [];
      if (name === "pull") {
        const [a, b] = pullPair(pctx);
        got = await runPair("cold pull", a, b, pairOptions);
      } else if (name === "verify-diffids") {
        const [a, b] = verifyDiffIdsPair(pctx);
        got = await runPair("pull --verify-diffids", a, b, pairOptions);
      } else if (name === "proxy") {
        const [a, b] = proxyPair(pctx);
        got = await runPair("pull through a proxy", a, b, pairOptions);
      } else if (name === "proxy-curl") {
        const [a, b] = proxyPair(pctx, "curl");
        got = await runPair("proxy, curl client", a, b, pairOptions);
      } else if (name === "proxy-s3" || name === "proxy-curl-s3") {
        await using s3 = await startBenchS3();
        const [a, b] = proxyPair(pctx, name === "proxy-s3" ? "skopeo" : "curl", s3);
        got = await runPair(
          name === "proxy-s3" ? "pull through a proxy, S3 store" : "proxy, curl client, S3 store",
          a,
          b,
          pairOptions,
        );
      } else if (name === "proxy-memory" || name === "proxy-memory-s3") {
        memoryBlob ??= await pushMemoryBlob(upstream, options.cache);
        const blob = memoryBlob;
        await using s3 = name === "proxy-memory-s3" ? await startBenchS3() : undefined;
        let n = 0;
        const a = memoryContender("tug serve", blob, async () => {
          const cache = `${pairWork}/tug-${n++}`;
          if (s3 === undefined) {
            const proxy = await startTugServe(pctx, cache);
            return { ...proxy, stop: () => proxy.stop().finally(() => removeAll(cache)) };
          }
          const prefix = cache.split("/").at(-1)!;
          const { store, env } = tugS3Store(s3, prefix);
          const proxy = await startTugServe(pctx, store, env);
          return {
            ...proxy,
            stop: () => proxy.stop().finally(() => removeAll(`${s3.dir}/${s3.bucket}/${prefix}`)),
          };
        });
        const b = memoryContender("registry proxy", blob, async () => {
          const cache = `${pairWork}/registry-${n++}`;
          const prefix = cache.split("/").at(-1)!;
          const proxy = await startDistributionProxy(upstream, cache, s3 && { server: s3, root: prefix });
          return {
            ...proxy,
            stop: () =>
              proxy.stop().finally(async () => {
                await removeAll(cache);
                if (s3) await removeAll(`${s3.dir}/${s3.bucket}/${prefix}`);
              }),
          };
        });
        got = await runPair(`proxy memory${s3 ? ", S3 store" : ""}`, a, b, pairOptions);
        for (const r of got) {
          r.rssRatio = rssRatio(r);
          // The peak before the first client (after one GET /v2/): what the process holds before any transfer.
          const idle = (side: typeof r.a) => side.extra?.idleRssMiB;
          const idleText = (s: typeof r.a) => {
            const i = idle(s);
            return i ? `${i.median.toFixed(1)} MiB (${i.min.toFixed(1)}–${i.max.toFixed(1)})` : "?";
          };
          r.notes = [
            `load: ${MEMORY_CLIENTS} curl clients at once on one ${blob.size / 1e6} MB blob (fresh proxy, ` +
            `empty cache; warm: the same again); peak RSS of the proxy process (VmHWM)`,
            ...(idle(r.a)
              ? [`idle RSS before the first client: tug ${idleText(r.a)}, peer ${idleText(r.b)}`]
              : []),
          ];
        }
      } else if (name === "proxy-memory-workerd") {
        memoryBlob ??= await pushMemoryBlob(upstream, options.cache);
        const blob = memoryBlob;
        let n = 0;
        // The worker's default store: in memory, per isolate (the R2 store needs Miniflare; see docs).
        const a = memoryContender(
          "tug on workerd",
          blob,
          () => startWorkerdProxy(upstream, `${pairWork}/workerd`),
        );
        const b = memoryContender("registry proxy", blob, async () => {
          const cache = `${pairWork}/registry-${n++}`;
          const proxy = await startDistributionProxy(upstream, cache);
          return { ...proxy, stop: () => proxy.stop().finally(() => removeAll(cache)) };
        });
        got = await runPair("proxy memory, workerd", a, b, pairOptions);
        for (const r of got) {
          r.rssRatio = rssRatio(r);
          r.notes = [
            `load: ${MEMORY_CLIENTS} curl clients at once on one ${blob.size / 1e6} MB blob; the worker's ` +
            `default in-memory store (CACHE_MAX_BYTES 32 MiB; a blob over STREAM_THROUGH_ABOVE, 8 MiB, is ` +
            `streamed to each client from an upstream GET of its own, not cached)`,
          ];
          const note = isolateNote(r);
          if (note !== undefined) r.notes.push(note);
        }
      } else if (name === "proxy-memory-workerd-r2") {
        memoryBlob ??= await pushMemoryBlob(upstream, options.cache);
        const blob = memoryBlob;
        let n = 0;
        // The deployment issue K is about: the bundled worker over an R2 binding BLOBS (Miniflare's R2).
        const a = memoryContender(
          "tug on workerd + R2",
          blob,
          (round) => startWorkerdR2Proxy(upstream, `${pairWork}/workerd`, round),
        );
        const b = memoryContender("registry proxy", blob, async () => {
          const cache = `${pairWork}/registry-${n++}`;
          const proxy = await startDistributionProxy(upstream, cache);
          return { ...proxy, stop: () => proxy.stop().finally(() => removeAll(cache)) };
        });
        got = await runPair("proxy memory, workerd + R2", a, b, pairOptions);
        for (const r of got) {
          r.rssRatio = rssRatio(r);
          r.notes = [
            `load: ${MEMORY_CLIENTS} curl clients at once on one ${blob.size / 1e6} MB blob; the bundled ` +
            `worker in Miniflare's workerd over an R2 binding BLOBS (default 32 MiB memory front); the RSS ` +
            `is the workerd process's, which also runs Miniflare's R2 (bucket files on disk)`,
          ];
          const note = isolateNote(r);
          if (note !== undefined) r.notes.push(note);
        }
      } else if (name === "unpack") {
        const help = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "adapters/cli/main.ts", "unpack", "--help"],
          stdout: "null",
          stderr: "null",
        }).output();
        if (!help.success) {
          unavailable.unpack = "not available yet: this checkout has no `tug unpack`";
        } else {
          const store = `${pairWork}/store`;
          await timed(Deno.execPath(), [
            "run",
            "-A",
            "adapters/cli/main.ts",
            "pull",
            "--store",
            store,
            "-q",
            reference,
          ]);
          const [a, b] = unpackPair(pctx, store);
          got = await runPair("unpack", a, b, pairOptions);
          got.push(...await unpackMemory(pctx, store, got[0], options, pairOptions, upstream));
        }
      } else if (name === "browser") {
        got = await browserPair(image.browserLayer.path, pairOptions);
      }
      await removeAll(pairWork);
      const pull = results.find((r) => r.name === "cold pull");
      if (name === "proxy" && pull) {
        // skopeo is the client of both proxies: its own pull straight from the upstream is the floor.
        const floor = `client floor: skopeo copy straight from the upstream took ${
          s(pull.b.wall.median)
        } (median, pull pair)`;
        for (const r of got) r.notes = [floor];
      }
      for (const r of got) {
        judge(r);
        print(r);
        results.push(r);
      }
      if (unavailable[name]) console.log(`\n  ${name}: ${unavailable[name]}`);
      log(`  (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    }
  } finally {
    await removeAll(work);
  }

  const report = {
    date: new Date().toISOString(),
    mode: options.quick ? "quick" : "full",
    command: `deno task bench${options.quick ? ":quick" : ""} ${
      Deno.args.filter((a) => a !== "--quick").join(" ")
    }`
      .trim(),
    machine: await machine(),
    tools: await tools(),
    image: {
      layers: image.layers.map((l) => ({ digest: l.digest, size: l.size, tarSize: l.tarSize })),
      compressedBytes: image.compressedBytes,
      uncompressedBytes: image.uncompressedBytes,
      browserLayer: { size: image.browserLayer.size, tarSize: image.browserLayer.tarSize },
      source: "files under /usr (lib, share, bin, libexec, sbin), shuffled with a fixed seed, gzip -6",
    },
    rounds: options.rounds,
    warmup: options.warmup,
    results: results.map((r) => ({
      ...r,
      a: { ...r.a, samples: r.a.samples },
      b: { ...r.b, samples: r.b.samples },
    })),
    unavailable,
  };
  console.log(
    "\nsummary (ratio = median tug / median peer, wall time; peak RSS for unpack memory; lower is better)",
  );
  for (const r of results) {
    const ratio = r.rssRatio !== undefined
      ? `${mb(r.a.rssMax)} vs ${mb(r.b.rssMax)} peak RSS` +
        (r.name.startsWith("proxy memory") ? `, time ${r.ratio.toFixed(2)}` : "")
      : r.ratio.toFixed(2);
    console.log(`  ${r.name.padEnd(32)} ${ratio}  ${r.met === undefined ? "" : r.met ? "met" : "NOT met"}`);
  }
  for (const [k, v] of Object.entries(unavailable)) console.log(`  ${k.padEnd(32)} ${v}`);
  if (options.write) {
    await Deno.mkdir(`${repo}/bench/results`, { recursive: true });
    const stamp = report.date.replace(/[:.]/g, "-").slice(0, 19);
    const path = `${repo}/bench/results/${stamp}-${report.mode}.json`;
    await Deno.writeTextFile(path, JSON.stringify(report, null, 2) + "\n");
    console.log(`\nwrote ${path}`);
  }
}

await main();
