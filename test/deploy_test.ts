// docs/deploy.md's recipes, run as written: this file reads the doc, takes the fenced blocks whose info
// string has `test=NAME` (`file=PATH`: a file to write; `role=serve`: a server to start and stop; anything
// else: a check run with `bash -e -o pipefail`), replaces only the placeholders of PLACEHOLDERS below (hosts,
// ports, paths, and the image name), and runs them against real things: a docker-registry standing in for
// Docker Hub, s3rver for the bucket, Debian's containerd and podman, wrangler and workerd from npm.
//
// Every pull is checked to have gone through tug (the stand-in's access log shows tug's User-Agent only: a
// client that fell back to the upstream itself would show its own) and, where the cache is shared, that the
// second pull (another replica, a restart) made no upstream blob GET.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { type AccessLogEntry, sharedRegistry } from "./harness/mod.ts";
import { S3RVER_CREDENTIALS, startS3rver } from "./harness/s3rver.ts";
import { createCertificate } from "./harness/certificate.ts";
import { countRequests } from "./_proxy_helpers.ts";
import { freePort } from "./_tug_serve.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const DOC = `${ROOT}/docs/deploy.md`;
const MAIN = `${ROOT}/adapters/cli/main.ts`;
/** The wrangler the Workers recipe runs (npm; through Deno, since it needs Node 22 and CI has Node 20). */
const WRANGLER = "npm:wrangler@4.164.0";

/** One fenced block of the doc that a recipe tests. */
interface Block {
  recipe: string;
  lang: string;
  file?: string;
  role?: string;
  text: string;
  /** Line of the opening fence (for messages). */
  line: number;
}

/** The blocks marked `test=NAME` in docs/deploy.md, in order. */
async function docBlocks(): Promise<Block[]> {
  const lines = (await Deno.readTextFile(DOC)).split("\n");
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S+)(.*)$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf("```", i + 1);
    assert(end > i, `docs/deploy.md:${i + 1}: unclosed fence`);
    const attrs = Object.fromEntries([...open[2].matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
    if (attrs.test !== undefined) {
      out.push({
        recipe: attrs.test,
        lang: open[1],
        ...(attrs.file !== undefined ? { file: attrs.file } : {}),
        ...(attrs.role !== undefined ? { role: attrs.role } : {}),
        text: lines.slice(i + 1, end).join("\n") + "\n",
        line: i + 1,
      });
    }
    i = end;
  }
  return out;
}

/** The blocks of one recipe: its files by name, its servers and its checks. */
async function recipe(name: string) {
  const blocks = (await docBlocks()).filter((b) => b.recipe === name);
  assert(blocks.length > 0, `docs/deploy.md has no block marked test=${name}`);
  const files = new Map(blocks.filter((b) => b.file !== undefined).map((b) => [b.file!, b]));
  return {
    file(path: string): Block {
      const block = files.get(path);
      assert(block !== undefined, `docs/deploy.md has no block test=${name} file=${path}`);
      return block;
    },
    serve: blocks.filter((b) => b.file === undefined && b.role === "serve"),
    checks: blocks.filter((b) => b.file === undefined && b.role === undefined),
  };
}

/**
 * What the doc's hosts, ports and paths stand for in a test. Only these are replaced; everything else runs
 * as written. (Longer strings first, so `https://registry-1.docker.io` goes before `registry-1.docker.io`.)
 */
interface Placeholders {
  /** The stand-in for Docker Hub: `127.0.0.1:PORT` of a plain-http docker-registry. */
  upstream: string;
  /** `127.0.0.1:PORT` for `cache.internal:5000`, `0.0.0.0:5000` and `https://mirror.example` (http). */
  tug?: string;
  /** The load balancer, `127.0.0.1:PORT` (https), for `mirror.example` and nginx's `listen 443`. */
  mirror?: string;
  /** The fleet's replicas, `127.0.0.1:PORT` each, for `10.0.0.11:5000` and `10.0.0.12:5000`. */
  replicas?: string[];
  /** `127.0.0.1:PORT` for `localhost:8000` / `PORT=8000` (Deno) and `localhost:8787` / `--port 8787` (wrangler). */
  local?: string;
  /** s3rver's `http://127.0.0.1:PORT` for `http://s3.internal:7480`. */
  s3?: string;
  /** The test's temporary folder: `/var/cache/tug`, `/etc/containerd/certs.d`, `/tmp/alpine` go under it. */
  tmp: string;
  /** The folder holding the `tug` (and `wrangler`) commands, for `/usr/local/bin/tug`. */
  bin: string;
}

function substitute(text: string, p: Placeholders): string {
  const pairs: Array<[string, string | undefined]> = [
    ["https://registry-1.docker.io", `http://${p.upstream}`],
    ["registry-1.docker.io", p.upstream],
    ["library/alpine:3.20", "tug/small:v1"],
    ["cache.internal:5000", p.tug],
    ["0.0.0.0:5000", p.tug],
    ["/etc/nginx/tls/mirror.example", `${p.tmp}/tls/mirror`],
    ["listen 443", p.mirror ? `listen ${p.mirror}` : undefined],
    ["mirror.example", p.mirror],
    ["10.0.0.11:5000", p.replicas?.[0]],
    ["10.0.0.12:5000", p.replicas?.[1]],
    ["localhost:8000", p.local],
    ["PORT=8000", p.local ? `PORT=${p.local.split(":")[1]}` : undefined],
    ["localhost:8787", p.local],
    ["--port 8787", p.local ? `--port ${p.local.split(":")[1]}` : undefined],
    ["http://s3.internal:7480", p.s3],
    ["/usr/local/bin/tug", `${p.bin}/tug`],
    ["/var/cache/tug", `${p.tmp}/var-cache-tug`],
    ["/etc/containerd/certs.d", `${p.tmp}/certs.d`],
    ["/tmp/alpine", `${p.tmp}/alpine`],
  ];
  let out = text;
  for (const [from, to] of pairs) if (to !== undefined) out = out.replaceAll(from, to);
  return out;
}

/** Whether a server answers: `ready` is a URL that must answer 200, or a probe. */
async function isReady(ready: string | (() => Promise<boolean>)): Promise<boolean> {
  if (typeof ready !== "string") return await ready();
  try {
    const res = await fetch(ready, { signal: AbortSignal.timeout(5000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false; // not listening yet
  }
}

/** A scratch folder with `tug` and `wrangler` commands; stops every process started through it on dispose. */
class Bench implements AsyncDisposable {
  readonly #stops: Array<() => Promise<void>> = [];
  private constructor(readonly tmp: string, readonly bin: string) {}

  static async create(): Promise<Bench> {
    const tmp = await Deno.makeTempDir({ prefix: "tug-deploy-" });
    const bin = `${tmp}/bin`;
    await Deno.mkdir(bin);
    const deno = Deno.execPath();
    const tool = async (name: string, command: string) => {
      await Deno.writeTextFile(`${bin}/${name}`, `#!/bin/sh\nexec ${command} "$@"\n`);
      await Deno.chmod(`${bin}/${name}`, 0o755);
    };
    await tool("tug", `'${deno}' run -A --no-check '${MAIN}'`);
    await tool("wrangler", `'${deno}' run -A ${WRANGLER}`);
    return new Bench(tmp, bin);
  }

  /** The environment of every command: tug and deno first on PATH, plus `extra`. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    const denoDir = Deno.execPath().replace(/\/[^/]*$/, "");
    return { PATH: `${this.bin}:${denoDir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`, ...extra };
  }

  /** Runs `script` with bash (-e, pipefail) in `cwd`, bounded by `timeoutMs`; returns its output, throws on failure. */
  async run(
    script: string,
    options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
  ) {
    const out = await new Deno.Command("bash", {
      args: ["-e", "-o", "pipefail", "-c", script],
      cwd: options.cwd ?? this.tmp,
      env: this.env(options.env),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(options.timeoutMs ?? 180_000),
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (!out.success) throw new Error(`failed (exit ${out.code}):\n${script}\n--- output:\n${text}`);
    return text;
  }

  /**
   * Starts `script` in its own process group (output to a log file), ready when `ready` answers 200
   * (bounded by `timeoutMs`); stopped (the whole group: SIGTERM, then SIGKILL) on dispose or by `stop()`.
   */
  async start(
    script: string,
    ready: string | (() => Promise<boolean>),
    options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<{ stop: () => Promise<void>; log: () => Promise<string> }> {
    const name = `serve-${this.#stops.length}`;
    const file = `${this.tmp}/${name}.sh`;
    const logPath = `${this.tmp}/${name}.log`;
    await Deno.writeTextFile(file, script);
    // setsid: the server and all its children (deno, workerd) form one group, stopped together.
    const child = new Deno.Command("setsid", {
      args: ["bash", "-c", 'exec bash -e "$0" >"$1" 2>&1', file, logPath],
      cwd: options.cwd ?? this.tmp,
      env: this.env(options.env),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let exited = false;
    const status = child.status.then((s) => {
      exited = true;
      return s;
    });
    const log = () => Deno.readTextFile(logPath).catch(() => "");
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      const signal = (sig: Deno.Signal) => {
        try {
          Deno.kill(-child.pid, sig);
          return true;
        } catch {
          return false; // the group is empty
        }
      };
      signal("SIGTERM");
      // Wait (bounded: 10 s) for the group to empty, then kill what is left.
      for (let i = 0; i < 100 && signal("SIGCONT"); i++) await new Promise((r) => setTimeout(r, 100));
      signal("SIGKILL");
      await status;
    };
    this.#stops.push(stop);
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      if (await isReady(ready)) break;
      if (exited || Date.now() > deadline) {
        const why = exited ? "it exited" : "timed out";
        await stop();
        throw new Error(`${script}\ndid not answer ${ready} (${why}):\n${await log()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return { stop, log };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const stop of this.#stops.reverse()) await stop();
    await Deno.remove(this.tmp, { recursive: true });
  }
}

/** The small image's blobs (config and layers), which the checks pull as `library/alpine:3.20`. */
async function smallImage() {
  const { registry, images } = await sharedRegistry();
  const blobs = [images.small.config.digest, ...images.small.layers.map((l) => l.digest)];
  return { registry, blobs, manifest: images.small.manifestDigest };
}

/** What the stand-in saw since `mark`: every request must come from tug. */
async function upstreamSince(mark: number): Promise<AccessLogEntry[]> {
  const { registry } = await sharedRegistry();
  const log = (await registry.accessLog()).slice(mark);
  for (const e of log) assert(e.userAgent.startsWith("tug-proxy"), `not from tug: ${JSON.stringify(e)}`);
  return log;
}

/** Each blob was fetched from the stand-in exactly `times` times. */
function assertBlobGets(log: AccessLogEntry[], blobs: string[], times: number, when: string) {
  for (const digest of blobs) {
    assertEquals(countRequests(log, "GET", `/blobs/${digest}`), times, `${when}: ${digest}`);
  }
}

/** `systemd-analyze verify` of the doc's unit (with tug's path substituted): no error, no warning. */
async function verifyUnit(bench: Bench, p: Placeholders): Promise<void> {
  const path = `${bench.tmp}/tug.service`;
  await Deno.writeTextFile(path, substitute((await recipe("mirror")).file("tug.service").text, p));
  const out = await new Deno.Command("systemd-analyze", {
    args: ["verify", path],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assertEquals({ code: out.code, text }, { code: 0, text: "" }, "systemd-analyze verify tug.service");
}

/** Starts the mirror from the systemd unit's ExecStart line, as written. */
async function startMirror(bench: Bench, p: Placeholders) {
  const unit = substitute((await recipe("mirror")).file("tug.service").text, p);
  const execStart = /^ExecStart=(.+)$/m.exec(unit)?.[1];
  assert(execStart !== undefined, "the unit has an ExecStart line");
  return await bench.start(`exec ${execStart}\n`, `http://${p.tug}/healthz`);
}

Deno.test("docs/deploy.md: the Docker Hub mirror's systemd unit verifies, its ExecStart serves and caches; a second copy makes no upstream blob GET", async () => {
  const { registry, blobs } = await smallImage();
  await using bench = await Bench.create();
  const p: Placeholders = {
    upstream: registry.host,
    tug: `127.0.0.1:${freePort()}`,
    tmp: bench.tmp,
    bin: bench.bin,
  };
  await verifyUnit(bench, p);
  await startMirror(bench, p);
  const { checks } = await recipe("mirror");
  assertEquals(checks.length, 1);
  const mark = (await registry.accessLog()).length;
  const first = await bench.run(substitute(checks[0].text, p));
  assertStringIncludes(first, `realm="http://${p.tug}/token"`);
  assertBlobGets(await upstreamSince(mark), blobs, 1, "cold");
  const again = (await registry.accessLog()).length;
  await bench.run(substitute(checks[0].text, p));
  assertBlobGets(await upstreamSince(again), blobs, 0, "warm");
  // The copy landed where the check says, and it is the image.
  const index = JSON.parse(await Deno.readTextFile(`${bench.tmp}/alpine/index.json`));
  assertEquals(index.manifests[0].annotations["org.opencontainers.image.ref.name"], "3.20");
});

Deno.test("docs/deploy.md: containerd's ctr pulls through the mirror with the hosts.toml as written", async () => {
  const { registry, blobs, manifest } = await smallImage();
  await using bench = await Bench.create();
  const p: Placeholders = {
    upstream: registry.host,
    tug: `127.0.0.1:${freePort()}`,
    tmp: bench.tmp,
    bin: bench.bin,
  };
  await startMirror(bench, p);
  const doc = await recipe("containerd");
  const hostsPath = `${bench.tmp}/certs.d/docker.io/hosts.toml`;
  await Deno.mkdir(`${bench.tmp}/certs.d/docker.io`, { recursive: true });
  assertEquals(doc.file("docker.io/hosts.toml").text.length > 0, true);
  await Deno.writeTextFile(hostsPath, substitute(doc.file("docker.io/hosts.toml").text, p));

  // A throw-away containerd: its own root, state and sockets under the scratch folder, no CRI.
  const ctd = `${bench.tmp}/containerd`;
  await Deno.mkdir(ctd);
  await Deno.writeTextFile(
    `${ctd}/config.toml`,
    `version = 2
root = "${ctd}/root"
state = "${ctd}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "${ctd}/containerd.sock"
[ttrpc]
  address = "${ctd}/containerd-ttrpc.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "${ctd}/opt"
`,
  );
  const env = { CONTAINERD_ADDRESS: `${ctd}/containerd.sock`, CONTAINERD_SNAPSHOTTER: "native" };
  // Ready when its socket answers `ctr version`.
  const containerd = await bench.start(`exec containerd --config '${ctd}/config.toml'\n`, async () => {
    const out = await new Deno.Command("ctr", { args: ["version"], env, stdout: "null", stderr: "null" })
      .output();
    return out.success;
  });
  const mark = (await registry.accessLog()).length;
  for (const check of doc.checks) await bench.run(substitute(check.text, p), { env });
  assertBlobGets(await upstreamSince(mark), blobs, 1, "ctr pull");
  const images = await bench.run("ctr images ls", { env });
  assertStringIncludes(images, "docker.io/tug/small:v1");
  assertStringIncludes(images, manifest);
  await containerd.stop();
});

Deno.test("docs/deploy.md: podman pulls through the mirror with the registries.conf as written", async () => {
  const { registry, blobs, manifest } = await smallImage();
  await using bench = await Bench.create();
  const p: Placeholders = {
    upstream: registry.host,
    tug: `127.0.0.1:${freePort()}`,
    tmp: bench.tmp,
    bin: bench.bin,
  };
  await startMirror(bench, p);
  const doc = await recipe("podman");
  await Deno.writeTextFile(`${bench.tmp}/registries.conf`, substitute(doc.file("registries.conf").text, p));
  // podman's own storage under the scratch folder (vfs), so the machine's images are never touched.
  await Deno.writeTextFile(
    `${bench.tmp}/storage.conf`,
    `[storage]\ndriver = "vfs"\ngraphroot = "${bench.tmp}/podman/root"\nrunroot = "${bench.tmp}/podman/run"\n`,
  );
  const env = {
    CONTAINERS_REGISTRIES_CONF: `${bench.tmp}/registries.conf`,
    CONTAINERS_STORAGE_CONF: `${bench.tmp}/storage.conf`,
  };
  const mark = (await registry.accessLog()).length;
  for (const check of doc.checks) await bench.run(substitute(check.text, p), { env });
  assertBlobGets(await upstreamSince(mark), blobs, 1, "podman pull");
  const digest = await bench.run("podman image inspect --format '{{.Digest}}' docker.io/tug/small:v1", {
    env,
  });
  assertEquals(digest.trim(), manifest);
});

/**
 * podman's configuration for one client machine: its own storage (vfs) under the scratch folder, so the
 * machine's images are never touched, and the test's certificate as the trusted roots (for podman and curl).
 */
async function podmanClient(bench: Bench, name: string, caFile: string): Promise<Record<string, string>> {
  const dir = `${bench.tmp}/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/storage.conf`,
    `[storage]\ndriver = "vfs"\ngraphroot = "${dir}/root"\nrunroot = "${dir}/run"\n`,
  );
  await Deno.writeTextFile(`${dir}/registries.conf`, "");
  return {
    CONTAINERS_STORAGE_CONF: `${dir}/storage.conf`,
    CONTAINERS_REGISTRIES_CONF: `${dir}/registries.conf`,
    SSL_CERT_FILE: caFile,
    CURL_CA_BUNDLE: caFile,
  };
}

/** The requests a `tug serve` answered so far (its /metrics). */
async function requestsServed(replica: string): Promise<number> {
  const text = await (await fetch(`http://${replica}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^tug_proxy_requests_total(?:\{[^}]*\})? (\d+)$/gm)) total += Number(m[1]);
  return total;
}

Deno.test("docs/deploy.md: two tug serve replicas over one S3 bucket behind nginx share the cache and each other's tokens", async () => {
  const { registry, blobs } = await smallImage();
  await using s3 = await startS3rver("registry-cache");
  await using bench = await Bench.create();
  const doc = await recipe("fleet");
  assertEquals(doc.serve.length, 1);
  const p: Placeholders = {
    upstream: registry.host,
    mirror: `127.0.0.1:${freePort()}`,
    replicas: [`127.0.0.1:${freePort()}`, `127.0.0.1:${freePort()}`],
    s3: s3.endpoint,
    tmp: bench.tmp,
    bin: bench.bin,
  };
  const env = {
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    TUG_TOKEN_SECRET: Array.from(
      crypto.getRandomValues(new Uint8Array(32)),
      (b) => b.toString(16).padStart(2, "0"),
    )
      .join(""),
  };
  for (const replica of p.replicas!) {
    await bench.start(substitute(doc.serve[0].text, { ...p, tug: replica }), `http://${replica}/healthz`, {
      env,
    });
  }

  // nginx with the doc's server block, its certificate (for 127.0.0.1) at the paths the block names.
  await Deno.mkdir(`${bench.tmp}/tls`);
  const cert = await createCertificate(`${bench.tmp}/tls`, { name: "mirror" });
  await Deno.rename(cert.certificatePath, `${bench.tmp}/tls/mirror.crt`);
  await Deno.rename(cert.keyPath, `${bench.tmp}/tls/mirror.key`);
  const ca = `${bench.tmp}/tls/ca.pem`;
  await Deno.writeTextFile(ca, cert.certificatePem);
  const nginx = `${bench.tmp}/nginx`;
  await Deno.mkdir(nginx);
  await Deno.writeTextFile(`${nginx}/tug.conf`, substitute(doc.file("tug.conf").text, p));
  // The machine's nginx.conf around the doc's conf.d file: one worker (so round robin alternates strictly).
  await Deno.writeTextFile(
    `${nginx}/nginx.conf`,
    `user root;\nworker_processes 1;\ndaemon off;\npid ${nginx}/nginx.pid;\nerror_log ${nginx}/error.log;\n` +
      `events {}\nhttp {\n  access_log ${nginx}/access.log;\n  include ${nginx}/tug.conf;\n}\n`,
  );
  await bench.start(`exec nginx -e stderr -p '${nginx}/' -c '${nginx}/nginx.conf'\n`, async () => {
    const out = await new Deno.Command("curl", {
      args: ["-fsS", "--cacert", ca, `https://${p.mirror}/healthz`],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  });

  // Each check is a fresh client machine (its own podman storage).
  const check = async (client: string) => {
    const clientEnv = await podmanClient(bench, client, ca);
    for (const c of doc.checks) await bench.run(substitute(c.text, p), { env: clientEnv });
  };
  const before = await Promise.all(p.replicas!.map(requestsServed));
  const mark = (await registry.accessLog()).length;
  await check("client-0");
  assertBlobGets(await upstreamSince(mark), blobs, 1, "first client");
  const again = (await registry.accessLog()).length;
  await check("client-1");
  assertBlobGets(await upstreamSince(again), blobs, 0, "second client");
  // nginx sent requests to both replicas: tokens one issued were opened by the other.
  const after = await Promise.all(p.replicas!.map(requestsServed));
  for (const i of [0, 1]) {
    assert(after[i] > before[i], `replica ${i} answered requests (${before[i]} → ${after[i]})`);
  }
});

/** A deployer's project folder: tug's checkout as `tug/` next to the files the recipe writes. */
async function project(bench: Bench, name: string): Promise<string> {
  const dir = `${bench.tmp}/${name}`;
  await Deno.mkdir(dir);
  await Deno.symlink(ROOT, `${dir}/tug`);
  return dir;
}

Deno.test("docs/deploy.md: the Deno Deploy main.ts serves over S3 when run by deno; a restarted one makes no upstream blob GET", async () => {
  const { registry, blobs } = await smallImage();
  await using s3 = await startS3rver("registry-cache");
  await using bench = await Bench.create();
  const doc = await recipe("deno-deploy");
  const dir = await project(bench, "deploy");
  const p: Placeholders = {
    upstream: registry.host,
    local: `127.0.0.1:${freePort()}`,
    s3: s3.endpoint,
    tmp: bench.tmp,
    bin: bench.bin,
  };
  await Deno.writeTextFile(`${dir}/main.ts`, substitute(doc.file("main.ts").text, p));
  // The block is `ts ignore` in the doc (its imports are relative to the deployer's folder): checked here.
  await bench.run("deno check main.ts", { cwd: dir });
  assertEquals(doc.serve.length, 1);
  const env = {
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    TUG_TOKEN_SECRET: "5a".repeat(32),
  };
  const pullOnce = async (when: string, times: number) => {
    const server = await bench.start(substitute(doc.serve[0].text, p), `http://${p.local}/healthz`, {
      cwd: dir,
      env,
    });
    const mark = (await registry.accessLog()).length;
    for (const check of doc.checks) await bench.run(substitute(check.text, p), { cwd: dir });
    assertBlobGets(await upstreamSince(mark), blobs, times, when);
    await server.stop();
  };
  await pullOnce("cold", 1);
  // A new deployment (or another isolate) over the same bucket.
  await Deno.remove(`${bench.tmp}/alpine`, { recursive: true });
  await pullOnce("after a restart", 0);
});

Deno.test("docs/deploy.md: the Workers bundle and wrangler.toml pass wrangler's dry run, wrangler dev serves from R2 across a restart, and its Cron Trigger's event writes the cache's index", async () => {
  const { registry, blobs } = await smallImage();
  await using bench = await Bench.create();
  const doc = await recipe("workers");
  const dir = await project(bench, "worker");
  const p: Placeholders = {
    upstream: registry.host,
    local: `127.0.0.1:${freePort()}`,
    tmp: bench.tmp,
    bin: bench.bin,
  };
  await Deno.writeTextFile(`${dir}/wrangler.toml`, substitute(doc.file("wrangler.toml").text, p));
  // No metrics, no cf.json from Cloudflare: wrangler stays off the network; its config and logs stay here.
  const env = {
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    XDG_CONFIG_HOME: `${bench.tmp}/xdg`,
    CI: "true",
  };
  const [build, dryRun, pull, cron] = doc.checks;
  assertEquals([doc.checks.length, doc.serve.length], [4, 1]);
  await bench.run(substitute(build.text, p), { cwd: dir, env, timeoutMs: 300_000 });
  // The first wrangler run on a fresh machine also fetches wrangler and workerd from npm.
  const dry = await bench.run(substitute(dryRun.text, p), { cwd: dir, env, timeoutMs: 600_000 });
  assertMatch(dry, /env\.BLOBS \(tug-cache\)\s+R2 Bucket/);
  assertStringIncludes(dry, "env.UPSTREAMS");
  assertStringIncludes(dry, "env.BUCKET_MAX_BYTES");
  assert((await Deno.stat(`${dir}/dist/upload/worker.js`)).size > 100_000, "the upload holds the bundle");

  const serveAndPull = async (when: string, times: number) => {
    const server = await bench.start(substitute(doc.serve[0].text, p), `http://${p.local}/healthz`, {
      cwd: dir,
      env,
      timeoutMs: 120_000,
    });
    const mark = (await registry.accessLog()).length;
    await bench.run(substitute(pull.text, p), { cwd: dir });
    assertBlobGets(await upstreamSince(mark), blobs, times, when);
    // Every blob is in the local R2 bucket before the worker stops (a fill commits after its last byte went
    // out): asked through wrangler itself, bounded.
    for (const digest of blobs) {
      const key = `tug-cache/blobs/${digest.replace(":", "/")}`;
      for (let i = 0;; i++) {
        try {
          await bench.run(`wrangler r2 object get '${key}' --local --pipe >/dev/null`, { cwd: dir, env });
          break;
        } catch (err) {
          if (i >= 20) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
    // The Cron Trigger's event: one eviction pass (nothing over the cap here), which writes the index with
    // every blob pulled; the block prints it (among curl's and wrangler's own output).
    const out = await bench.run(substitute(cron.text, p), { cwd: dir, env });
    const index = out.slice(out.indexOf('{"kind":"tug-object-lru-index"'));
    assert(index.length < out.length, `the index is printed (${when}):\n${out}`);
    for (const digest of blobs) {
      assertStringIncludes(index, `"${digest}"`, `${digest} in the index (${when})`);
    }
    await server.stop();
    const log = await server.log();
    assert(!/ENOTFOUND|getaddrinfo|EAI_AGAIN/.test(log), `wrangler dev tried to reach the network:\n${log}`);
  };
  await serveAndPull("cold", 1);
  await Deno.remove(`${bench.tmp}/alpine`, { recursive: true });
  await serveAndPull("after a restart", 0);
});

Deno.test("tug serve with a TUG_TOKEN_SECRET that is not 64 hex digits exits 2 naming it, before listening", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", MAIN, "serve", "--listen", `127.0.0.1:${freePort()}`, "--no-web"],
    env: { TUG_TOKEN_SECRET: "not-hex" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  assertEquals(out.code, 2);
  assertStringIncludes(new TextDecoder().decode(out.stderr), "TUG_TOKEN_SECRET must be 64 hex digits");
});
