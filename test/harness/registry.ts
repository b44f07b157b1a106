/**
 * Starts a real registry (the Debian `docker-registry` package, distribution 2.8.2) for tug's tests.
 *
 * The registry runs detached from the Deno process (started through `sh`, which exits at once), so no child
 * process handle or pending op stays open in the test: Deno's resource and op sanitizers stay on. A small
 * shell watchdog kills the registry if the test process dies without stopping it, and an `unload` listener
 * kills every registry still running when the test process exits normally.
 *
 * @module
 */

import { freePort } from "./port.ts";

/** Where the registry checks credentials: an htpasswd file or a token server. */
export type RegistryAuthOptions =
  | {
    /** Basic auth against a bcrypt htpasswd file the harness writes (`htpasswd -Bbn`). */
    htpasswd: { users: Record<string, string>; realm?: string };
  }
  | {
    /** Bearer tokens issued by a token server (see `token_server.ts`). */
    token: { realm: string; service: string; issuer: string; rootCertBundle: string };
  };

/** How to start a registry; every field is optional. */
export interface RegistryOptions {
  /** Require credentials (distribution's `auth` section). */
  auth?: RegistryAuthOptions;
  /** Run as a pull-through cache of `remoteurl` (distribution's `proxy` section). */
  proxy?: { remoteurl: string; username?: string; password?: string };
  /** Accept and serve schema1 manifests (`compatibility.schema1.enabled`). */
  schema1?: boolean;
  /**
   * Serve HTTPS with this certificate and key (PEM file paths). The certificate must name 127.0.0.1; a
   * certificate from a CA holds the chain up to the CA, which the readiness probe then trusts. With
   * `clientCas` the registry asks every client for a certificate from one of those CAs (distribution's
   * `http.tls.clientcas`) and the probe presents `client`.
   */
  tls?: {
    certificate: string;
    key: string;
    clientCas?: string[];
    client?: { certificate: string; key: string };
  };
  /** Deep-merged into the generated configuration last, to set anything else distribution knows. */
  extra?: Record<string, unknown>;
  /** Use this storage folder (kept on stop) instead of a fresh temporary one (removed on stop). */
  storageDir?: string;
  /** The registry binary; default `$TUG_TEST_REGISTRY_BIN`, else `docker-registry` on PATH. */
  binary?: string;
  /** How long to wait for `GET /v2/` to answer, in milliseconds (default 15000). */
  readyTimeoutMs?: number;
}

/** One line of the registry's access log (Apache combined format). */
export interface AccessLogEntry {
  /** HTTP method. */
  method: string;
  /** Request target as sent, e.g. `/v2/tug/small/blobs/sha256:…`. */
  path: string;
  /** Response status. */
  status: number;
  /** Response bytes written. */
  size: number;
  /** The client's User-Agent (`Go-http-client/1.1` for a proxying registry). */
  userAgent: string;
}

const ACCESS_LINE = /^\S+ \S+ \S+ \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) (\d+|-) "[^"]*" "([^"]*)"$/;

/** Parses the access log lines out of a registry log (other lines are skipped). */
export function parseAccessLog(log: string): AccessLogEntry[] {
  const out: AccessLogEntry[] = [];
  for (const line of log.split("\n")) {
    const m = ACCESS_LINE.exec(line);
    if (!m) continue;
    out.push({
      method: m[1],
      path: m[2],
      status: Number(m[3]),
      size: m[4] === "-" ? 0 : Number(m[4]),
      userAgent: m[5],
    });
  }
  return out;
}

/** A running registry. */
export interface RegistryProcess {
  /** Base URL, `http://127.0.0.1:PORT` (or `https://` with `tls`). */
  readonly url: string;
  /** `127.0.0.1:PORT`, the registry part of an image reference. */
  readonly host: string;
  /** TCP port on 127.0.0.1. */
  readonly port: number;
  /** Process id of the registry. */
  readonly pid: number;
  /** Storage root (`storage.filesystem.rootdirectory`). */
  readonly storageDir: string;
  /** The YAML configuration the registry was started with. */
  readonly configPath: string;
  /** The file that receives the registry's stdout and stderr (application and access log). */
  readonly logPath: string;
  /** Reads the whole log so far (application log lines and access log lines, interleaved). */
  readLog(): Promise<string>;
  /**
   * The access log so far, one entry per request, oldest first (includes the harness's own readiness
   * GET /v2/ and any seeding). To count what a test caused, take `accessLog()` before and after.
   */
  accessLog(): Promise<AccessLogEntry[]>;
  /** Kills the registry (SIGTERM, then SIGKILL after 5 s) and removes its temporary folders. Idempotent. */
  stop(): Promise<void>;
  /** Same as `stop()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Registries started and not stopped yet: pid → temporary folder. */
const live = new Map<number, string>();
let unloadHooked = false;

/** Kills every registry this process started and has not stopped yet (synchronous: used at exit). */
export function killAllRegistries(): void {
  for (const [pid, dir] of live) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Best effort at exit.
    }
  }
  live.clear();
}

function hookUnload(): void {
  if (unloadHooked) return;
  unloadHooked = true;
  globalThis.addEventListener("unload", killAllRegistries);
}

/** Finds the registry binary or throws the error every test should show when it is missing. */
export async function findRegistryBinary(binary?: string): Promise<string> {
  const wanted = binary ?? Deno.env.get("TUG_TEST_REGISTRY_BIN") ?? "docker-registry";
  const candidates = wanted.includes("/")
    ? [wanted]
    : (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":").filter(Boolean).map((d) => `${d}/${wanted}`);
  for (const candidate of candidates) {
    try {
      const info = await Deno.stat(candidate);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return candidate;
    } catch {
      // Not here; try the next folder.
    }
  }
  throw new Error(
    `docker-registry not found: install the Debian package docker-registry (looked for "${wanted}"` +
      `${wanted.includes("/") ? "" : " on PATH"})`,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Deep-merges `extra` into `base` (objects merge key by key; anything else replaces; `null` removes the key,
 * e.g. `{ storage: { filesystem: null, s3: {…} } }` swaps the storage driver).
 */
export function deepMerge(
  base: Record<string, unknown>,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    if (value === null) {
      delete out[key];
      continue;
    }
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

async function htpasswdLine(user: string, password: string): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("htpasswd", {
      args: ["-Bbn", user, password],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
  } catch (error) {
    throw new Error("htpasswd not found: install the Debian package apache2-utils", { cause: error });
  }
  if (!out.success) {
    throw new Error(`htpasswd -Bbn ${user} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout).trim();
}

function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Field 3 (after the parenthesised command name) is the state; a zombie has exited already.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function tail(path: string, lines = 30): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Builds the distribution configuration (as an object; YAML is a superset of the JSON it is written as). */
async function buildConfig(
  options: RegistryOptions,
  dir: string,
  storageDir: string,
  port: number,
): Promise<Record<string, unknown>> {
  const config: Record<string, unknown> = {
    version: "0.1",
    // Access logging on: tests count upstream GETs in the log (distribution logs one line per request).
    log: { level: "info", formatter: "text", accesslog: { disabled: false } },
    storage: {
      filesystem: { rootdirectory: storageDir },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: {
      addr: `127.0.0.1:${port}`,
      secret: crypto.randomUUID(),
      headers: { "X-Content-Type-Options": ["nosniff"] },
    },
  };
  if (options.tls) {
    (config.http as Record<string, unknown>).tls = {
      certificate: options.tls.certificate,
      key: options.tls.key,
      ...(options.tls.clientCas ? { clientcas: options.tls.clientCas } : {}),
    };
  }
  if (options.auth && "htpasswd" in options.auth) {
    const lines = [];
    for (const [user, password] of Object.entries(options.auth.htpasswd.users)) {
      lines.push(await htpasswdLine(user, password));
    }
    const path = `${dir}/htpasswd`;
    await Deno.writeTextFile(path, lines.join("\n") + "\n");
    config.auth = { htpasswd: { realm: options.auth.htpasswd.realm ?? "tug-test", path } };
  } else if (options.auth && "token" in options.auth) {
    const t = options.auth.token;
    config.auth = {
      token: { realm: t.realm, service: t.service, issuer: t.issuer, rootcertbundle: t.rootCertBundle },
    };
  }
  if (options.proxy) {
    const proxy: Record<string, string> = { remoteurl: options.proxy.remoteurl };
    if (options.proxy.username !== undefined) proxy.username = options.proxy.username;
    if (options.proxy.password !== undefined) proxy.password = options.proxy.password;
    config.proxy = proxy;
  }
  if (options.schema1) config.compatibility = { schema1: { enabled: true } };
  return options.extra ? deepMerge(config, options.extra) : config;
}

async function spawnDetached(binary: string, configPath: string, logPath: string): Promise<number> {
  // `sh` starts the registry in the background and exits, so Deno holds no child handle. The watchdog
  // subshell polls once a second and kills the registry when this Deno process is gone.
  const script = `"$0" serve "$1" >"$2" 2>&1 </dev/null &
r=$!
echo $r
( while kill -0 "$3" 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 1; done; kill $r 2>/dev/null ) \
  >/dev/null 2>&1 </dev/null &`;
  const out = await new Deno.Command("sh", {
    args: ["-c", script, binary, configPath, logPath, String(Deno.pid)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // Distribution overrides its configuration from REGISTRY_* variables; keep the test's environment out.
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/tmp" },
  }).output();
  const pid = Number(new TextDecoder().decode(out.stdout).trim());
  if (!out.success || !Number.isInteger(pid) || pid <= 0) {
    throw new Error(`Cannot start ${binary}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return pid;
}

async function waitReady(
  url: string,
  pid: number,
  logPath: string,
  timeoutMs: number,
  tls?: { certificate: string; client?: { certificate: string; key: string } },
): Promise<"ready" | "exited"> {
  const client = tls
    ? Deno.createHttpClient({
      caCerts: [await Deno.readTextFile(tls.certificate)],
      ...(tls.client
        ? {
          cert: await Deno.readTextFile(tls.client.certificate),
          key: await Deno.readTextFile(tls.client.key),
        }
        : {}),
    })
    : undefined;
  const deadline = Date.now() + timeoutMs;
  let lastError = "no answer";
  try {
    while (Date.now() < deadline) {
      if (!processAlive(pid)) return "exited";
      try {
        const res = await fetch(`${url}/v2/`, { client, signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        // 401 means it is up and asks for credentials (auth configured).
        if (res.status === 200 || res.status === 401) return "ready";
        lastError = `status ${res.status}`;
      } catch (error) {
        lastError = String(error);
      }
      await delay(40);
    }
  } finally {
    client?.close();
  }
  throw new Error(
    `docker-registry did not answer GET ${url}/v2/ within ${timeoutMs} ms (last: ${lastError}); ` +
      `log tail:\n${await tail(logPath)}`,
  );
}

/**
 * Starts `docker-registry serve CONFIG` on 127.0.0.1 with a free port and waits until `GET /v2/` answers.
 *
 * @example Start, use and stop a registry
 * ```ts ignore
 * await using registry = await startRegistry();
 * const res = await fetch(`${registry.url}/v2/`);
 * await res.body?.cancel();
 * ```
 */
export async function startRegistry(options: RegistryOptions = {}): Promise<RegistryProcess> {
  const binary = await findRegistryBinary(options.binary);
  const dir = await Deno.makeTempDir({ prefix: "tug-registry-" });
  const storageDir = options.storageDir ?? `${dir}/storage`;
  await Deno.mkdir(storageDir, { recursive: true });
  const configPath = `${dir}/config.yml`;
  const logPath = `${dir}/registry.log`;
  const scheme = options.tls ? "https" : "http";
  const timeoutMs = options.readyTimeoutMs ?? 15_000;
  hookUnload();
  let failure = "";
  // The free port is only reserved until we close it; if another process takes it first the registry
  // exits with "address already in use", so try a few ports.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = freePort();
    const config = await buildConfig(options, dir, storageDir, port);
    await Deno.writeTextFile(configPath, JSON.stringify(config, null, 2) + "\n");
    const pid = await spawnDetached(binary, configPath, logPath);
    live.set(pid, dir);
    const url = `${scheme}://127.0.0.1:${port}`;
    let state: "ready" | "exited";
    try {
      state = await waitReady(url, pid, logPath, timeoutMs, options.tls);
    } catch (error) {
      await killPid(pid);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
    if (state === "exited") {
      live.delete(pid);
      failure = await tail(logPath);
      if (/address already in use/.test(failure)) continue;
      break;
    }
    return makeProcess({ url, port, pid, storageDir, configPath, logPath, dir });
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  throw new Error(`docker-registry exited before answering GET /v2/; log tail:\n${failure}`);
}

async function killPid(pid: number): Promise<void> {
  try {
    Deno.kill(pid, "SIGTERM");
  } catch {
    live.delete(pid);
    return;
  }
  for (let i = 0; i < 100 && processAlive(pid); i++) await delay(50);
  if (processAlive(pid)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Exited meanwhile.
    }
    for (let i = 0; i < 40 && processAlive(pid); i++) await delay(50);
  }
  live.delete(pid);
}

function makeProcess(p: {
  url: string;
  port: number;
  pid: number;
  storageDir: string;
  configPath: string;
  logPath: string;
  dir: string;
}): RegistryProcess {
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      await killPid(p.pid);
      // A caller's storageDir lives outside `dir`, so it survives; ours is inside and goes with it.
      await Deno.remove(p.dir, { recursive: true }).catch(() => {});
    })();
  return {
    url: p.url,
    host: `127.0.0.1:${p.port}`,
    port: p.port,
    pid: p.pid,
    storageDir: p.storageDir,
    configPath: p.configPath,
    logPath: p.logPath,
    readLog: () => Deno.readTextFile(p.logPath),
    accessLog: async () => parseAccessLog(await Deno.readTextFile(p.logPath)),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
