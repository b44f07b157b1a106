/**
 * Measuring helpers for the benchmark: timed subprocesses with their peak RSS (`/usr/bin/time`), peak RSS
 * of a running process (`VmHWM` in /proc), summaries, and the A B A B pair runner.
 *
 * @module
 */

/** One measured run. */
export interface Sample {
  /** Wall time in seconds. */
  wall: number;
  /** Peak resident set size in bytes, when known. */
  rss?: number;
  /** Anything else worth keeping (counts, heap sizes). */
  extra?: Record<string, number>;
}

/** min / median / max of a list of numbers. */
export interface Summary {
  min: number;
  median: number;
  max: number;
  n: number;
}

/** Summarises `values` (the median of an even count is the mean of the middle two). */
export function summarize(values: number[]): Summary {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  if (n === 0) return { min: NaN, median: NaN, max: NaN, n };
  const median = n % 2 === 1 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return { min: v[0], median, max: v[n - 1], n };
}

/** Runs a command to completion and returns its wall time and peak RSS (from `/usr/bin/time -f %M`). */
export async function timed(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Sample & { stdout: string }> {
  const rssFile = await Deno.makeTempFile({ prefix: "tug-bench-rss-" });
  try {
    const started = performance.now();
    const out = await new Deno.Command("/usr/bin/time", {
      args: ["-f", "%M", "-o", rssFile, cmd, ...args],
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const wall = (performance.now() - started) / 1000;
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).slice(-3000);
      throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code}):\n${err}`);
    }
    const kb = Number((await Deno.readTextFile(rssFile)).trim().split("\n").pop());
    return {
      wall,
      rss: Number.isFinite(kb) ? kb * 1024 : undefined,
      stdout: new TextDecoder().decode(out.stdout),
    };
  } finally {
    await Deno.remove(rssFile).catch(() => {});
  }
}

/** The peak RSS (`VmHWM`) of a running process, in bytes; undefined when it is gone. */
export function peakRss(pid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** One side of a pair. */
export interface Contender {
  /** Shown in the table, e.g. `tug pull`. */
  label: string;
  /** Runs once and measures. `round` is -1 for warm-ups. */
  run(round: number): Promise<Sample | Record<string, Sample>>;
}

/** The summary of one side (for one metric name when a run yields several). */
export interface SideResult {
  label: string;
  wall: Summary;
  /** Peak RSS over all rounds, and its median, in bytes. */
  rssMax?: number;
  rssMedian?: number;
  extra?: Record<string, Summary>;
  samples: Sample[];
}

/** A finished pair: `a` is tug, `b` the peer; `ratio` = median(a) / median(b). */
export interface PairResult {
  name: string;
  a: SideResult;
  b: SideResult;
  ratio: number;
  /** min(a) / min(b): a second view when one side had a noisy run or two. */
  ratioMin: number;
  target?: { max?: number; min?: number; rssMax?: number; text: string };
  /** Peak RSS over all rounds, tug / peer (the "unpack memory" rows). */
  rssRatio?: number;
  met?: boolean;
  notes?: string[];
}

function side(label: string, samples: Sample[]): SideResult {
  const rss = samples.map((s) => s.rss).filter((r): r is number => r !== undefined);
  const keys = new Set(samples.flatMap((s) => Object.keys(s.extra ?? {})));
  const extra: Record<string, Summary> = {};
  for (const k of keys) {
    extra[k] = summarize(samples.map((s) => s.extra?.[k]).filter((x): x is number => x !== undefined));
  }
  return {
    label,
    wall: summarize(samples.map((s) => s.wall)),
    ...(rss.length ? { rssMax: Math.max(...rss), rssMedian: summarize(rss).median } : {}),
    ...(keys.size ? { extra } : {}),
    samples,
  };
}

/**
 * Runs `a` and `b` alternately (A B A B …): `warmup` discarded rounds, then `rounds` measured ones. A run
 * may return several named samples (e.g. a cold and a warm pull); each name becomes its own pair.
 * Alternating keeps both sides under the same background load, which is what makes the ratio of medians
 * meaningful on a shared machine.
 */
export async function runPair(
  name: string,
  a: Contender,
  b: Contender,
  options: { rounds: number; warmup: number; log: (line: string) => void },
): Promise<PairResult[]> {
  const { rounds, warmup, log } = options;
  for (let i = 0; i < warmup; i++) {
    log(`  warm-up ${i + 1}/${warmup}`);
    await a.run(-1);
    await b.run(-1);
  }
  const as = new Map<string, Sample[]>();
  const bs = new Map<string, Sample[]>();
  const add = (to: Map<string, Sample[]>, got: Sample | Record<string, Sample>) => {
    const named = "wall" in got && typeof got.wall === "number" ? { "": got as Sample } : got as Record<
      string,
      Sample
    >;
    for (const [k, s] of Object.entries(named)) to.set(k, [...(to.get(k) ?? []), s]);
  };
  for (let i = 0; i < rounds; i++) {
    const ra = await a.run(i);
    const rb = await b.run(i);
    add(as, ra);
    add(bs, rb);
    const fmt = (r: Sample | Record<string, Sample>) =>
      "wall" in r && typeof r.wall === "number"
        ? `${(r as Sample).wall.toFixed(2)} s`
        : Object.entries(r as Record<string, Sample>).map(([k, s]) => `${k} ${s.wall.toFixed(2)} s`).join(
          ", ",
        );
    log(`  round ${i + 1}/${rounds}: ${a.label} ${fmt(ra)} | ${b.label} ${fmt(rb)}`);
  }
  const out: PairResult[] = [];
  for (const [k, samplesA] of as) {
    const A = side(a.label, samplesA);
    const B = side(b.label, bs.get(k) ?? []);
    out.push({
      name: k ? `${name} (${k})` : name,
      a: A,
      b: B,
      ratio: A.wall.median / B.wall.median,
      ratioMin: A.wall.min / B.wall.min,
    });
  }
  return out;
}

/** A temporary folder removed by `cleanup()`. */
export async function tempDir(prefix: string, root?: string): Promise<string> {
  return await Deno.makeTempDir({ prefix, dir: root });
}

/** `rm -rf` that never throws. */
export async function removeAll(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch(() => {});
}
