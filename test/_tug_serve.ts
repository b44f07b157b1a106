/**
 * `tug serve` as a separate process: in front of one upstream registry with a fresh folder store
 * (`startTugServe`, for tests that measure the proxy process itself), or with any arguments and environment
 * (`spawnTugServe`, for the object-storage tests that run several over one bucket).
 *
 * @module
 */
import { assert } from "./_assert.ts";

const MAIN = new URL("../adapters/cli/main.ts", import.meta.url).pathname;

/** A running `tug serve`; disposing it stops the process (SIGTERM, SIGKILL after 5 s) and removes its store. */
export interface TugServe extends AsyncDisposable {
  /** The process (its stderr is piped and left unread). */
  readonly server: Deno.ChildProcess;
  /** `http://127.0.0.1:PORT`. */
  readonly base: string;
  /** The store folder. */
  readonly dir: string;
}

/** Ports for processes told theirs up front (deploy recipes, workerd): below the ephemeral range. */
export { freePort } from "./harness/port.ts";

/** Peak and current resident memory of a process, in bytes (Linux /proc). */
export async function memory(pid: number): Promise<{ peak: number; now: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { peak: kb("VmHWM"), now: kb("VmRSS") };
}

/**
 * Reads `tug serve --listen 127.0.0.1:0`'s first stdout line, `tug proxy listening on URL`, written once it
 * has bound (bounded: 60 s, then the process is killed), and keeps reading stdout so the process never
 * blocks on a full pipe. The URL is undefined when the process ended without listening.
 *
 * Port 0 and this line, rather than a port picked by the test and bound later by the child: between the
 * two, any connect() on the machine may take that port as its local port (a poll of /healthz can even
 * connect to itself), and then the server fails to bind or another process answers on it.
 */
async function boundUrl(
  child: Deno.ChildProcess,
): Promise<{ url: string | undefined; drained: Promise<void> }> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const kill = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, 60_000);
  let text = "";
  let url: string | undefined;
  try {
    for (;;) {
      url = /listening on (http:\/\/\S+)/.exec(text)?.[1];
      if (url !== undefined) break;
      const { done, value } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    clearTimeout(kill);
  }
  const drained = (async () => {
    try {
      while (!(await reader.read()).done) { /* discard */ }
    } catch { /* the process is gone */ }
  })();
  return { url, drained };
}

/**
 * Starts `tug serve` on a port it picks (port 0) with a fresh store and `upstream` as its default; ready
 * when it returns.
 */
export async function startTugServe(
  upstream: string,
  dirPrefix: string,
  extraArgs: readonly string[] = [],
): Promise<TugServe> {
  const dir = await Deno.makeTempDir({ prefix: dirPrefix });
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      MAIN,
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--store",
      dir,
      "--upstream",
      `local=${upstream}`,
      "--default-upstream",
      "local",
      ...extraArgs,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { url, drained } = await boundUrl(server);
  const stop = async () => {
    server.kill("SIGTERM");
    const status = await Promise.race([
      server.status,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000)),
    ]);
    if (status === undefined) {
      server.kill("SIGKILL");
      await server.status;
    }
    await drained;
    await server.stderr.cancel();
    await Deno.remove(dir, { recursive: true });
  };
  if (url === undefined) {
    // The process ended (or was killed at the bound) without listening: its stderr says why.
    const why = await new Response(server.stderr).text();
    await server.status;
    await drained;
    await Deno.remove(dir, { recursive: true });
    throw new Error(`tug serve did not start: ${why}`);
  }
  try {
    const res = await fetch(`${url}/healthz`);
    await res.body?.cancel();
    assert(res.ok, `tug serve answered /healthz with ${res.status}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { server, base: url, dir, [Symbol.asyncDispose]: stop };
}

/** A `tug serve` process started by {@linkcode spawnTugServe}; disposing it stops it. */
export interface ServeProcess extends AsyncDisposable {
  /** `127.0.0.1:PORT`, as clients name the registry. */
  readonly host: string;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The process (a test may kill it). */
  readonly child: Deno.ChildProcess;
  /** Stops it (SIGTERM) and resolves with what it wrote on stderr. */
  stop(): Promise<string>;
}

/**
 * `tug serve --no-web` on a port it picks (port 0) with `args` and exactly `env` as its environment; ready
 * when it says it listens and /healthz answers (bounded: 60 s), else it fails with the process's stderr.
 */
export async function spawnTugServe(
  args: readonly string[],
  env: Record<string, string>,
): Promise<ServeProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", MAIN, "serve", "--listen", "127.0.0.1:0", "--no-web", ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const { url, drained } = await boundUrl(child);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone (killed by the test) */ }
    await child.status;
    await drained;
    return await stderr;
  };
  if (url !== undefined) {
    try {
      const res = await fetch(`${url}/healthz`);
      await res.body?.cancel();
      if (res.ok) {
        return {
          host: new URL(url).host,
          url,
          child,
          stop,
          [Symbol.asyncDispose]: async () => void await stop(),
        };
      }
    } catch { /* reported with its stderr below */ }
  }
  throw new Error(`tug serve did not start: ${await stop()}`);
}
