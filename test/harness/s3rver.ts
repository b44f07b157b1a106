/**
 * s3rver (npm: an S3 API server over a folder) as a child process on 127.0.0.1, for the object-store tests:
 * a real S3 implementation, no hand-written fake. `await using s3 = await startS3rver()`.
 *
 * @module
 */

const MAIN = new URL("./s3rver_main.ts", import.meta.url).pathname;

/**
 * s3rver's built-in credentials. It refuses an unknown access key id and an expired presigned URL, but does not
 * verify SigV4 signatures themselves (its source: "Signature version 4 calculation is unimplemented").
 */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/** A running s3rver with one bucket; disposing it stops the process and removes its folder. */
export interface S3rverProcess extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** The bucket it was started with. */
  readonly bucket: string;
  /** The folder s3rver keeps the objects in. */
  readonly dir: string;
  /** The process id (to measure its memory). */
  readonly pid: number;
  /** Stops the process (SIGTERM, SIGKILL after 5 s) and removes its folder. */
  stop(): Promise<void>;
}

/** Starts s3rver on a free port with an empty `bucket`; ready when it returns (bounded: 60 s). */
export async function startS3rver(bucket = "tug-test"): Promise<S3rverProcess> {
  const dir = await Deno.makeTempDir({ prefix: "tug-s3rver-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", MAIN, dir, bucket],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stopped = false;
  // s3rver dying under a test shows as "connection refused" far from its cause: say so where it happened.
  child.status.then(async (status) => {
    if (!stopped) console.error(`s3rver (pid ${child.pid}) exited with ${status.code}: ${await stderr}`);
  });
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await child.stdin.close().catch(() => {});
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await reader.cancel().catch(() => {});
    // Bounded: a server that does not end on SIGTERM is killed after 5 s.
    const kill = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 5000);
    await child.status;
    clearTimeout(kill);
    await stderr;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    let text = "";
    const deadline = setTimeout(() => child.kill("SIGKILL"), 60_000);
    try {
      while (!text.includes("\n")) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`s3rver exited before listening: ${await stderr}`);
        text += value;
      }
    } finally {
      clearTimeout(deadline);
    }
    const { port } = JSON.parse(text.slice(0, text.indexOf("\n"))) as { port: number };
    return {
      endpoint: `http://127.0.0.1:${port}`,
      bucket,
      dir,
      pid: child.pid,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
