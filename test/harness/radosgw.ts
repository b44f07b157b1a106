/**
 * Ceph's radosgw (Debian's `radosgw`, `ceph-mon`, `ceph-osd`, `ceph-common`) as a real S3 server for the
 * object-store tests: a throw-away one-node Ceph cluster in a temporary folder. Unlike s3rver it honours
 * conditional writes (`If-None-Match: *` on PUT answers 412 when the object exists) and S3's 5 MiB minimum
 * part size, so the S3 store and the lease that shares one download between replicas are tested against
 * what AWS S3 does.
 *
 * What runs (all on 127.0.0.1, ports picked at run time, never Ceph's fixed 6789/3300):
 * - one monitor (`ceph-mon`, msgr2 only, no cephx: nothing but this test process can reach it);
 * - one OSD with the `memstore` object store (objects in memory, nothing written to disk);
 * - no manager: radosgw serves S3 without one (the manager only reports statistics);
 * - `radosgw` with the beast frontend.
 *
 * Pools have one replica and one placement group each; the harness creates radosgw's pools itself so
 * that the first request does not pay for creating them. Each daemon runs in its own session
 * (`setsid`), detached from Deno (no child handle stays open, so tests keep Deno's sanitizers on). A shell
 * watchdog kills the daemons and removes the folder when the Deno process dies without stopping them; an
 * `unload` listener does the same when it exits normally.
 *
 * @module
 */

import { AwsClient } from "npm:aws4fetch@^1.0.20";
import { freePort } from "./port.ts";

/** A running one-node Ceph cluster with radosgw. */
export interface Radosgw {
  /** `http://127.0.0.1:PORT`, radosgw's S3 endpoint (path-style buckets). */
  readonly endpoint: string;
  /** The region requests are signed for (radosgw accepts any; `us-east-1`). */
  readonly region: string;
  /** The access key of the S3 user the harness created. */
  readonly accessKeyId: string;
  /** Its secret key. */
  readonly secretAccessKey: string;
  /** Creates a bucket owned by that user (no error when it already has it). */
  createBucket(name: string): Promise<void>;
  /** Kills every daemon of the cluster and removes its folder. Idempotent. */
  stop(): Promise<void>;
  /** The process ids of the monitor, the OSD and radosgw (to measure their memory). */
  readonly pids: readonly number[];
  /** The cluster's folder (configuration, logs). */
  readonly dir: string;
  /** Milliseconds each start step took, in order. */
  readonly timings: ReadonlyArray<{ step: string; ms: number }>;
}

/** The S3 user's keys (fixed: the cluster is private to the test process and thrown away). */
const ACCESS_KEY = "TUGRADOSGWTEST";
const SECRET_KEY = "tug-radosgw-test-secret";
const REGION = "us-east-1";

/**
 * radosgw's pools (Ceph Pacific, zone `default`). Created up front with one placement group each: left
 * to radosgw, each is made by the first request that needs it, with the default 8 placement groups.
 */
const POOLS = [
  ".rgw.root",
  "default.rgw.control",
  "default.rgw.meta",
  "default.rgw.log",
  "default.rgw.buckets.index",
  "default.rgw.buckets.data",
  "default.rgw.buckets.non-ec",
];

/** Clusters started and not stopped yet: folder → process-group ids. */
const live = new Map<string, number[]>();
let unloadHooked = false;

function killGroups(pgids: readonly number[]): void {
  for (const pgid of pgids) {
    try {
      Deno.kill(-pgid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/** Kills every cluster this process started and has not stopped yet (synchronous: used at exit). */
function killAll(): void {
  for (const [dir, pgids] of live) {
    killGroups(pgids);
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Best effort at exit.
    }
  }
  live.clear();
}

/** True while `pid` runs (a zombie counts as gone). */
function running(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

async function tail(path: string, lines = 25): Promise<string> {
  try {
    const text = await Deno.readTextFile(path);
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `fetch` bounded by `ms`, with no timer left behind (tests keep Deno's op sanitizer on). */
async function fetchWithin(ms: number, request: Request): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${ms} ms`)), ms);
  try {
    const res = await fetch(request, { signal: controller.signal });
    return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts a one-node Ceph cluster with radosgw in a temporary folder; ready to serve S3 when it returns.
 * Every step is bounded in time and a failure names the step and shows the daemon's log tail; the
 * daemons started so far are killed and the folder removed before the error is thrown.
 *
 * @example
 * ```ts ignore
 * const rgw = await startRadosgw();
 * try {
 *   await rgw.createBucket("cache");
 * } finally {
 *   await rgw.stop();
 * }
 * ```
 */
export async function startRadosgw(): Promise<Radosgw> {
  const dir = await Deno.makeTempDir({ prefix: "tug-radosgw-" });
  const pgids: number[] = [];
  live.set(dir, pgids);
  if (!unloadHooked) {
    unloadHooked = true;
    globalThis.addEventListener("unload", killAll);
  }
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // SIGKILL: the cluster is thrown away, and memstore would otherwise write its objects to disk.
    killGroups(pgids);
    for (let i = 0; i < 100 && pgids.some(running); i++) await delay(50);
    live.delete(dir);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const timings: { step: string; ms: number }[] = [];
  const conf = `${dir}/ceph.conf`;
  const logOf = (name: string) => `${dir}/${name}.log`;

  /** Runs a command to completion within `timeoutMs`; throws naming the step, with output and log. */
  const run = async (
    step: string,
    cmd: string,
    args: string[],
    opts: { timeoutMs: number; log?: string; stdin?: string },
  ): Promise<string> => {
    const started = performance.now();
    const child = new Deno.Command(cmd, {
      args,
      cwd: dir,
      stdin: opts.stdin !== undefined ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (opts.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(opts.stdin));
      await writer.close();
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, opts.timeoutMs);
    const out = await child.output().finally(() => clearTimeout(timer));
    const text = new TextDecoder().decode(out.stdout);
    if (timedOut || !out.success) {
      const why = timedOut ? `did not finish within ${opts.timeoutMs} ms` : `exited with code ${out.code}`;
      throw new Error(
        `radosgw harness: ${step} (${cmd} ${args.join(" ")}) ${why}\n` +
          `stdout: ${text.trim().slice(-2000)}\nstderr: ${
            new TextDecoder().decode(out.stderr).trim().slice(-2000)
          }` +
          (opts.log ? `\n${opts.log} (tail):\n${await tail(opts.log)}` : ""),
      );
    }
    timings.push({ step, ms: Math.round(performance.now() - started) });
    return text;
  };

  /** Starts a daemon in its own session, detached from Deno; returns its pid (= its process group). */
  const spawn = async (name: string, cmd: string, args: string[]): Promise<number> => {
    const script = `setsid "$@" >"${dir}/${name}.out" 2>&1 </dev/null &\necho $!`;
    const out = await new Deno.Command("sh", {
      args: ["-c", script, "sh", cmd, ...args],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const pid = Number(new TextDecoder().decode(out.stdout).trim());
    if (!out.success || !Number.isInteger(pid) || pid <= 0) {
      throw new Error(
        `radosgw harness: cannot start ${name}: ${new TextDecoder().decode(out.stderr).trim()}`,
      );
    }
    pgids.push(pid);
    await Deno.writeTextFile(`${dir}/pgids`, pgids.join(" "));
    return pid;
  };

  /** Waits until `ready()` holds, within `timeoutMs`, while `pid` runs; throws naming the step. */
  const waitFor = async (
    step: string,
    pid: number,
    log: string,
    timeoutMs: number,
    ready: () => Promise<boolean>,
  ): Promise<void> => {
    const started = performance.now();
    // Bounded in count and time: polls every 100 ms.
    for (let i = 0; i < Math.ceil(timeoutMs / 100); i++) {
      if (await ready()) {
        timings.push({ step, ms: Math.round(performance.now() - started) });
        return;
      }
      if (!running(pid)) {
        throw new Error(
          `radosgw harness: ${step}: the daemon (pid ${pid}) exited\n${log} (tail):\n${await tail(log)}\n` +
            `stdout/stderr: ${await tail(log.replace(/\.log$/, ".out"), 10)}`,
        );
      }
      await delay(100);
    }
    throw new Error(
      `radosgw harness: ${step} did not happen within ${timeoutMs} ms\n${log} (tail):\n${await tail(log)}`,
    );
  };

  try {
    // The watchdog: when this Deno process is gone and the folder is still there, it kills the daemons'
    // process groups (listed in the folder) and removes the folder. It ends once stop() removed the folder.
    const watchdog = `( while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done
if [ -d "$2" ]; then for g in $(cat "$2/pgids"); do kill -s KILL -- "-$g"; done; rm -rf "$2"; fi ) >/dev/null 2>&1 </dev/null &`;
    await run("watchdog", "sh", ["-c", watchdog, "sh", String(Deno.pid), dir], { timeoutMs: 5_000 });
    const fsid = crypto.randomUUID();
    const monPort = freePort();
    // `$name` is Ceph's own metavariable (mon.a, osd.0, client.rgw): one log, socket and folder per daemon.
    await Deno.writeTextFile(
      conf,
      `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
mon initial members = a
ms bind msgr1 = false
public addr = 127.0.0.1
# No cephx: the cluster listens on 127.0.0.1 only and lives as long as one test process.
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
run dir = ${dir}
admin socket = ${dir}/$name.asok
log file = ${dir}/$name.log
pid file = ${dir}/$name.pid
keyring = ${dir}/keyring
mon data = ${dir}/$name
osd data = ${dir}/$name
# One OSD: one replica, one placement group per pool, placement by OSD rather than by host.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
# Shared CI disks are often more than 70 % full; the monitor must not warn or stop for it.
mon data avail warn = 1
mon data avail crit = 0
# The monitor commits a change at most once per paxos propose interval (1 s by default); each pool
# creation is one change.
paxos propose interval = 0.05
paxos min wait = 0.01
osd objectstore = memstore
# memstore allocates as objects arrive; this is only the capacity the OSD reports.
memstore device bytes = 4294967296
osd op num threads per shard = 1
osd op num shards = 1

[client.rgw]
rgw thread pool size = 32
rgw enable usage log = false
`,
    );

    await run("monmaptool", "monmaptool", [
      "--create",
      "--addv",
      "a",
      `[v2:127.0.0.1:${monPort}]`,
      "--fsid",
      fsid,
      `${dir}/monmap`,
    ], { timeoutMs: 10_000 });
    await run("ceph-mon --mkfs", "ceph-mon", ["--mkfs", "-i", "a", "--monmap", `${dir}/monmap`, "-c", conf], {
      timeoutMs: 20_000,
      log: logOf("mon.a"),
    });
    const mon = await spawn("mon.a", "ceph-mon", ["-f", "-i", "a", "-c", conf]);
    // The first command also waits for the monitor to form its quorum of one.
    const osdId = (await run(
      "ceph osd create (monitor up)",
      "ceph",
      ["-c", conf, "--connect-timeout", "20", "osd", "create"],
      { timeoutMs: 25_000, log: logOf("mon.a") },
    )).trim();
    if (osdId !== "0") {
      throw new Error(`radosgw harness: ceph osd create gave id ${JSON.stringify(osdId)}, not 0`);
    }
    if (!running(mon)) throw new Error(`radosgw harness: ceph-mon exited\n${await tail(logOf("mon.a"))}`);
    await Deno.mkdir(`${dir}/osd.0`);
    await run("ceph-osd --mkfs", "ceph-osd", ["--mkfs", "-i", "0", "-c", conf], {
      timeoutMs: 20_000,
      log: logOf("osd.0"),
    });
    const osd = await spawn("osd.0", "ceph-osd", ["-f", "-i", "0", "-c", conf]);
    // The pools are created by the monitor alone; their placement groups wait for the OSD.
    const poolCommands = POOLS.map((pool) => `osd pool create ${pool} 1 1\n`).join("");
    await run("create radosgw's pools", "ceph", ["-c", conf, "--connect-timeout", "20"], {
      timeoutMs: 30_000,
      log: logOf("mon.a"),
      stdin: poolCommands,
    });
    await waitFor("ceph-osd active", osd, logOf("osd.0"), 30_000, async () => {
      try {
        return (await Deno.readTextFile(logOf("osd.0"))).includes("state: booting -> active");
      } catch {
        return false;
      }
    });
    await run("radosgw-admin user create", "radosgw-admin", [
      "-c",
      conf,
      "user",
      "create",
      "--uid",
      "tug",
      "--display-name",
      "tug tests",
      "--access-key",
      ACCESS_KEY,
      "--secret-key",
      SECRET_KEY,
    ], { timeoutMs: 60_000, log: logOf("client.admin") });
    // radosgw asks for cephx and a secure monitor connection unless told otherwise on its command line
    // (rgw_main.cc sets both as its own defaults). Its port is picked last, to keep the time another
    // process could take it short.
    const rgwPort = freePort();
    const rgw = await spawn("client.rgw", "radosgw", [
      "-f",
      "-n",
      "client.rgw",
      "-c",
      conf,
      "--auth-client-required",
      "none",
      "--ms-mon-client-mode",
      "crc",
      "--rgw-frontends",
      `beast endpoint=127.0.0.1:${rgwPort}`,
    ]);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await waitFor("radosgw serving S3", rgw, logOf("client.rgw"), 30_000, async () => {
      try {
        return (await fetchWithin(2_000, new Request(`${endpoint}/`))).status === 200;
      } catch {
        return false;
      }
    });

    const client = new AwsClient({
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET_KEY,
      service: "s3",
      region: REGION,
      retries: 0,
    });
    return {
      endpoint,
      region: REGION,
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET_KEY,
      pids: [mon, osd, rgw],
      dir,
      timings,
      async createBucket(name: string): Promise<void> {
        const request = await client.sign(`${endpoint}/${encodeURIComponent(name)}`, { method: "PUT" });
        const res = await fetchWithin(30_000, request);
        const text = await res.text();
        if (res.ok || text.includes("<Code>BucketAlreadyOwnedByYou</Code>")) return;
        throw new Error(`radosgw: creating bucket ${name} answered ${res.status}: ${text.slice(0, 300)}`);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

let shared: Promise<Radosgw> | undefined;

/**
 * The process-wide cluster, started on first call and killed when the process exits (tests must not stop
 * it; give each test its own bucket). A failed start is not cached: the next call tries again.
 *
 * @example
 * ```ts ignore
 * const rgw = await sharedRadosgw();
 * await rgw.createBucket("my-test");
 * ```
 */
export function sharedRadosgw(): Promise<Radosgw> {
  if (shared) return shared;
  const starting = startRadosgw();
  shared = starting;
  starting.catch(() => {
    if (shared === starting) shared = undefined;
  });
  return starting;
}
