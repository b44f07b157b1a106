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

/** A port nobody listens on at the moment, on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Peak and current resident memory of a process, in bytes (Linux /proc). */
export async function memory(pid: number): Promise<{ peak: number; now: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { peak: kb("VmHWM"), now: kb("VmRSS") };
}

/** Starts `tug serve` on a free port with a fresh store and `upstream` as its default; ready when it returns. */
export async function startTugServe(
  upstream: string,
  dirPrefix: string,
  extraArgs: readonly string[] = [],
): Promise<TugServe> {
  const dir = await Deno.makeTempDir({ prefix: dirPrefix });
  const port = freePort();
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      MAIN,
      "serve",
      "--listen",
      `127.0.0.1:${port}`,
      "--store",
      dir,
      "--upstream",
      `local=${upstream}`,
      "--default-upstream",
      "local",
      ...extraArgs,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
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
    await server.stderr.cancel();
    await Deno.remove(dir, { recursive: true });
  };
  try {
    // Ready when /healthz answers (bounded: 30 s).
    for (let i = 0;; i++) {
      try {
        const res = await fetch(`${base}/healthz`);
        await res.body?.cancel();
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      assert(i < 300, "tug serve did not start within 30 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { server, base, dir, [Symbol.asyncDispose]: stop };
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
 * `tug serve --no-web` on a free port with `args` and exactly `env` as its environment; ready when /healthz
 * answers (bounded: 30 s), else it fails with the process's stderr.
 */
export async function spawnTugServe(
  args: readonly string[],
  env: Record<string, string>,
): Promise<ServeProcess> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", MAIN, "serve", "--listen", `127.0.0.1:${port}`, "--no-web", ...args],
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone (killed by the test) */ }
    await child.status;
    return await stderr;
  };
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      const res = await fetch(`${url}/healthz`);
      await res.body?.cancel();
      if (res.ok) {
        return {
          host: `127.0.0.1:${port}`,
          url,
          child,
          stop,
          [Symbol.asyncDispose]: async () => void await stop(),
        };
      }
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`tug serve did not start: ${await stop()}`);
}
