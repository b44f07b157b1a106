/**
 * Helpers for tests that run the real `tug` command as a subprocess (Deno, or Node with the bundle).
 *
 * @module
 */
import { OciLayoutStore } from "../adapters/fs/oci_layout_store.ts";
import { assertEquals } from "./_assert.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Path of the Deno entry point of the command line. */
export const MAIN = `${ROOT}adapters/cli/main.ts`;

/** What one run of `tug` printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** How to run `tug`. */
export interface RunTugOptions {
  /** Extra environment (merged over an isolated one: no user docker config, no tug config). */
  env?: Record<string, string>;
  /** `deno` (default) runs main.ts; `node` runs the bundle at `bundle`. */
  runtime?: "deno" | "node";
  /** The Node bundle (default dist/tug.mjs). */
  bundle?: string;
  /** Kill after this many milliseconds (default 120 s). */
  timeoutMs?: number;
}

/**
 * Runs `tug ARGS…` and collects its exit code and output. The environment never sees the user's docker or
 * tug config: DOCKER_CONFIG and TUG_CONFIG point at paths that do not exist unless the test sets them.
 */
export async function runTug(args: string[], options: RunTugOptions = {}): Promise<CliRun> {
  const runtime = options.runtime ?? "deno";
  const command = runtime === "deno" ? Deno.execPath() : "node";
  const prefix = runtime === "deno" ? ["run", "-A", MAIN] : [options.bundle ?? `${ROOT}dist/tug.mjs`];
  const env: Record<string, string> = {
    DOCKER_CONFIG: "/nonexistent/tug-test-docker-config",
    TUG_CONFIG: "/nonexistent/tug-test-config.json",
    ...options.env,
  };
  const out = await new Deno.Command(command, {
    args: [...prefix, ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs another program (skopeo, podman, umoci) and returns its stdout; fails the test when it exits non-zero. */
export async function runTool(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(180_000),
  }).output();
  const dec = new TextDecoder();
  assertEquals(out.code, 0, `${cmd} ${args.join(" ")} failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

/** A throwaway store folder, removed on dispose. */
export async function tempDir(prefix = "tug-cli-"): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix });
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** Opens the OCI layout a command wrote, to check what it holds. */
export function openStore(dir: string): Promise<OciLayoutStore> {
  return OciLayoutStore.open(dir);
}

/** Reads a blob of the store whole (small blobs only). */
export async function readBlob(store: OciLayoutStore, digest: string): Promise<Uint8Array> {
  return new Uint8Array(await new Response(await store.blobs.get(digest)).arrayBuffer());
}

/** Every file under `dir` (relative path → size), plus index.json's text: to show a store did not change. */
export async function snapshot(dir: string): Promise<{ files: Record<string, number>; index: string }> {
  const files: Record<string, number> = {};
  const walk = async (rel: string) => {
    for await (const entry of Deno.readDir(`${dir}/${rel}`)) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory) await walk(path);
      else files[path] = (await Deno.stat(`${dir}/${path}`)).size;
    }
  };
  await walk("");
  return { files, index: await Deno.readTextFile(`${dir}/index.json`) };
}

/** Forwards every request to `upstream`, pacing response bodies to `rate` bytes per second. */
export function throttlingProxy(upstream: string, rate: number): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const headers = new Headers(req.headers);
    headers.delete("host");
    const res = await fetch(`${upstream}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      redirect: "manual",
    });
    if (!res.body) return new Response(null, { status: res.status, headers: res.headers });
    const start = performance.now();
    let sent = 0;
    const paced = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        async transform(chunk, controller) {
          // Hand bytes on in slices of at most 64 KiB, each no earlier than the rate allows.
          for (let at = 0; at < chunk.length; at += 64 * 1024) {
            const part = chunk.subarray(at, at + 64 * 1024);
            sent += part.length;
            const due = start + (sent / rate) * 1000;
            const wait = due - performance.now();
            if (wait > 1) await new Promise((r) => setTimeout(r, wait));
            controller.enqueue(part);
          }
        },
      }),
    );
    return new Response(paced, { status: res.status, headers: res.headers });
  });
}
