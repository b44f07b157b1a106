// `tug serve --store s3://…` and `tug prune --store s3://…` as a newcomer types them: every mistake is one
// line on stderr naming what was wrong and what to do, a usage error exits 2 before anything starts, a
// bucket that cannot be used exits 1 at start (not on the first client request), and no secret is printed.
// Against real S3 servers: s3rver, and Ceph radosgw (which verifies signatures; s3rver does not).
import { assert, assertEquals } from "./_assert.ts";
import type { CliRun } from "./_cli.ts";
import { S3RVER_CREDENTIALS, startS3rver } from "./harness/s3rver.ts";
import { sharedRadosgw } from "./harness/radosgw.ts";
import { spawnTugServe } from "./_tug_serve.ts";

const SECRET = "sEcReT-not-to-be-printed";

/** `tug ARGS…` run from a fresh folder outside the repository; the folder's entries after the run. */
async function tugIn(args: string[], env: Record<string, string>): Promise<CliRun & { left: string[] }> {
  const cwd = await Deno.makeTempDir({ prefix: "tug-s3-errors-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-check",
        new URL("../adapters/cli/main.ts", import.meta.url).pathname,
        ...args,
      ],
      cwd,
      env: { DOCKER_CONFIG: "/nonexistent/d", TUG_CONFIG: "/nonexistent/t.json", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const left: string[] = [];
    for await (const e of Deno.readDir(cwd)) left.push(e.name);
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr), left };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

/** The run failed with `code`, one line on stderr containing every `parts`, nothing secret, nothing served. */
function assertOneLine(run: CliRun, code: number, parts: string[]): void {
  assertEquals(run.code, code, `exit code; stderr: ${run.stderr}`);
  const lines = run.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, `one line on stderr, got: ${run.stderr}`);
  for (const part of parts) assert(lines[0].includes(part), `stderr names "${part}": ${run.stderr}`);
  assert(!run.stderr.includes(SECRET) && !run.stdout.includes(SECRET), "a secret was printed");
  assert(!run.stdout.includes("listening"), `tug serve started: ${run.stdout}`);
}

const serve = ["serve", "--listen", "127.0.0.1:0", "--no-web", "--store"];

Deno.test("tug serve --store with a mistyped bucket URL (s3:/, s3:, gs://, r2://) is a usage error, and creates no folder", async () => {
  const env = { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: SECRET };
  for (
    const [value, hint] of [["s3:/cache/tug", "s3://"], ["s3:cache", "s3://"], ["gs://cache/tug", "s3://"], [
      "r2://cache",
      "r2.cloudflarestorage.com",
    ]]
  ) {
    const run = await tugIn([...serve, value], env);
    assertOneLine(run, 2, [value, hint]);
    assertEquals(run.left, [], `tug serve --store ${value} wrote a folder`);
  }
});

Deno.test("tug serve --store S3://BUCKET (scheme in capitals) is the bucket, not a folder named S3:", async () => {
  await using s3 = await startS3rver();
  const run = await tugIn([...serve, `S3://no-such-bucket/tug?endpoint=${s3.endpoint}`], {
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  });
  // Taken as a bucket URL: the start-up check finds the bucket missing (a folder would have served).
  assertOneLine(run, 1, ["no-such-bucket", "does not exist"]);
  assertEquals(run.left, []);
});

Deno.test("tug serve --store s3://… refuses an invalid bucket name, a port, user info and a fragment with the fix", async () => {
  const env = { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: SECRET };
  const cases: [string, string[]][] = [
    ["s3://My_Bucket/tug", ["My_Bucket", "lowercase"]],
    ["s3://", ["names no bucket", "s3://BUCKET"]],
    ["s3:///tug", ["names no bucket"]],
    ["s3://ab/tug", ['"ab"', "3 to 63"]],
    ["s3://cache:9000/tug", ["port", "endpoint="]],
    [`s3://id:${SECRET}@cache/tug`, ["AWS_ACCESS_KEY_ID"]],
    ["s3://cache/tug#x", ["#"]],
    ["s3://cache/tug?endpoint=127.0.0.1:9000", ["endpoint", "http://"]],
    ["s3://cache/tug?endpoint=ftp://127.0.0.1", ["endpoint", "http://"]],
    [`s3://cache/tug?endpoint=http://id:${SECRET}@127.0.0.1:9000`, ["endpoint", "AWS_ACCESS_KEY_ID"]],
    ["s3://cache/tug?endpoint=http://127.0.0.1:9000&path-style=false", ["path-style=false", "host name"]],
    ["s3://cache/tug?endpont=http://127.0.0.1:9000", ['"endpont"', "endpoint"]],
    ["s3://cache/tug?path_style=true", ['"path_style"', "path-style"]],
    ["s3://cache/tug?path-style=yes", ["path-style", "true or false"]],
    // An unset shell variable: endpoint=$S3_ENDPOINT.
    ["s3://cache/tug?endpoint=&region=us-east-1", ['"endpoint" is empty']],
    ["s3://cache/tug?region=", ['"region" is empty']],
  ];
  for (const [value, parts] of cases) assertOneLine(await tugIn([...serve, value], env), 2, parts);
});

Deno.test("tug serve --store s3://… names the missing AWS variable (exit 2)", async () => {
  const run = await tugIn([...serve, "s3://cache/tug"], { AWS_ACCESS_KEY_ID: "id" });
  // What to do when the keys are in ~/.aws (which tug does not read): the AWS CLI exports them.
  assertOneLine(run, 2, ["AWS_SECRET_ACCESS_KEY", "aws configure export-credentials --format env"]);
  assert(!run.stderr.includes("AWS_ACCESS_KEY_ID and"), run.stderr);
});

Deno.test("tug serve --store s3://… checks the bucket at start: missing bucket, unknown key id, refused connection, a web server that is not S3", async () => {
  await using s3 = await startS3rver();
  const good = { AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: SECRET };
  // s3rver checks the key id, not the signature: its secret does not matter here.
  assertOneLine(await tugIn([...serve, `s3://nosuch/tug?endpoint=${s3.endpoint}`], good), 1, [
    '"nosuch"',
    "does not exist",
    s3.endpoint,
  ]);
  assertOneLine(
    await tugIn([...serve, `s3://${s3.bucket}/tug?endpoint=${s3.endpoint}`], {
      ...good,
      AWS_ACCESS_KEY_ID: "WHO",
    }),
    1,
    ["AWS_ACCESS_KEY_ID", "InvalidAccessKeyId"],
  );
  // A port nobody listens on.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = closed.addr.port;
  closed.close();
  assertOneLine(await tugIn([...serve, `s3://cache/tug?endpoint=http://127.0.0.1:${port}`], good), 1, [
    `http://127.0.0.1:${port}`,
    "cannot reach",
    // The reason, not only "fetch failed".
    "refused",
  ]);
  // A web server answering HTML to everything.
  await using web = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("<!doctype html><title>Welcome</title>", { headers: { "content-type": "text/html" } }),
  );
  const html = `http://127.0.0.1:${web.addr.port}`;
  assertOneLine(await tugIn([...serve, `s3://cache/tug?endpoint=${html}`], good), 1, [html, "not an S3"]);
});

Deno.test("tug serve --store s3://… on radosgw: a wrong secret key fails at start naming AWS_SECRET_ACCESS_KEY", async () => {
  const rgw = await sharedRadosgw();
  await rgw.createBucket("stranger");
  const run = await tugIn([...serve, `s3://stranger/tug?endpoint=${rgw.endpoint}`], {
    AWS_ACCESS_KEY_ID: rgw.accessKeyId,
    AWS_SECRET_ACCESS_KEY: SECRET,
  });
  assertOneLine(run, 1, ["SignatureDoesNotMatch", "AWS_SECRET_ACCESS_KEY"]);
});

Deno.test("tug prune --store s3://… --dry-run checks the bucket first and names a missing one", async () => {
  await using s3 = await startS3rver();
  const env = {
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  };
  const run = await tugIn(["prune", "--dry-run", "--store", `s3://nosuch/tug?endpoint=${s3.endpoint}`], env);
  assertOneLine(run, 1, ['"nosuch"', "does not exist"]);
  const ok = await tugIn(
    ["prune", "--dry-run", "--store", `s3://${s3.bucket}/tug?endpoint=${s3.endpoint}`],
    env,
  );
  assertEquals(ok.code, 0, ok.stderr);
  assert(ok.stdout.includes("Space that would be reclaimed: 0B"), ok.stdout);
});

Deno.test("tug serve and tug prune --cache-max-bytes name the size forms they take (10GB) for a bad one, and take 10GB", async () => {
  for (
    const args of [["serve", "--cache-max-bytes", "ten"], [
      "prune",
      "--cache-max-bytes",
      "-1",
      "--store",
      "s3://cache/t",
    ]]
  ) {
    const run = await tugIn(args, { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: SECRET });
    assertOneLine(run, 2, ["--cache-max-bytes", "10GB"]);
  }
  // A size is accepted: with a folder store, tug serve then fails only for the folder's sake (here: a file).
  const run = await tugIn([...serve, "/dev/null/x", "--cache-max-bytes", "10GB"], {});
  assert(!run.stderr.includes("--cache-max-bytes"), run.stderr);
});

Deno.test("tug serve --cache-evict-interval without --store s3:// and --cache-max-bytes is a usage error", async () => {
  const run = await tugIn([...serve, "/tmp/unused-tug-store", "--cache-evict-interval", "30"], {});
  assertOneLine(run, 2, ["--cache-evict-interval", "--cache-max-bytes"]);
});

Deno.test("tug serve --store s3://… names AWS_ENDPOINT_URL when the endpoint from the environment is not an http(s) URL", async () => {
  const run = await tugIn([...serve, "s3://cache/tug"], {
    AWS_ACCESS_KEY_ID: "id",
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_ENDPOINT_URL: "minio.internal:9000",
  });
  assertOneLine(run, 2, ['AWS_ENDPOINT_URL "minio.internal:9000"', "http://"]);
});

/** Starts `tug serve ARGS…`, waits for /healthz (≤ 30 s), stops it; returns what it printed on stderr. */
async function serveStderr(args: string[], env: Record<string, string>): Promise<string> {
  // spawnTugServe fails, with the process's stderr, when /healthz does not answer.
  const serve = await spawnTugServe(args, env);
  return await serve.stop();
}

Deno.test("tug serve --redirect warns at start when the bucket is on the proxy's host name (clients would send it the proxy's Authorization)", async () => {
  await using s3 = await startS3rver();
  const env = {
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  };
  const same = await serveStderr(
    ["--redirect", "--store", `s3://${s3.bucket}/t?endpoint=${s3.endpoint}`],
    env,
  );
  const lines = same.trimEnd().split("\n");
  assertEquals(lines.length, 1, same);
  for (const part of ["--redirect", "127.0.0.1", "Authorization", "--public-url"]) {
    assert(lines[0].includes(part), `the warning names "${part}": ${same}`);
  }
  // The bucket under another host name than the proxy's: nothing to warn about.
  const other = s3.endpoint.replace("127.0.0.1", "localhost");
  assertEquals(
    await serveStderr(["--redirect", "--store", `s3://${s3.bucket}/t?endpoint=${other}`], env),
    "",
  );
});

Deno.test("tug pull and tug images --store s3://… are usage errors naming tug serve, and create no folder named s3:", async () => {
  for (const args of [["pull", "--store", "s3://cache/x", "alpine"], ["images", "--store", "s3://cache/x"]]) {
    const run = await tugIn(args, { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: SECRET });
    assertOneLine(run, 2, ["s3://cache/x", "folder", "tug serve"]);
    assertEquals(run.left, [], `tug ${args[0]} wrote a folder`);
  }
});
