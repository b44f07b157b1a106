/**
 * Runs s3rver (npm, an S3 API server on the file system) on 127.0.0.1 for tests: `deno run -A
 * test/harness/s3rver_main.ts DIR BUCKET`. Prints `{"port":N}` once it listens; exits when its stdin closes
 * (the test process that started it is gone) or on SIGTERM.
 *
 * @module
 */
import S3rver from "npm:s3rver@^3.7.1";
import process from "node:process";

const [directory, bucket] = Deno.args;
if (!directory || !bucket) {
  console.error("usage: s3rver_main.ts DIR BUCKET");
  Deno.exit(2);
}
// Under Deno's Node layer, a read of an object that a concurrent DELETE removes fails twice: once in s3rver's
// handler (which answers the request), and once more as an uncaught ENOENT from the file's `open`, which
// would end the process (on Node it does not). Tests that race readers, writers and deleters of one key
// (download leases) met it as "connection refused" for every later request. The stray error is reported and
// the server goes on, as it does on Node.
process.on("uncaughtException", (err: Error & { code?: string }) => {
  console.error(`s3rver: uncaught ${err.code ?? ""} ${err.message}`);
  if (err.code !== "ENOENT") Deno.exit(1);
});
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket, configs: [] }],
});
const address = await server.run() as { port: number };
console.log(JSON.stringify({ port: address.port }));
// s3rver's close() waits for every connection that is not idle after a request, and a connection that
// fetch opened and never sent a request on (seen with `ss`: no bytes either way) kept it waiting 173 s in
// about 1 stop in 10. A test server owes nobody a
// graceful close: it gets a second, then the process ends.
const stop = async () => {
  await Promise.race([
    server.close().catch(() => {}),
    new Promise((resolve) => setTimeout(resolve, 1000)),
  ]);
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
// The parent holds our stdin: EOF means it is gone, so nothing outlives a crashed test run.
for await (const _ of Deno.stdin.readable) { /* keep reading until EOF */ }
await stop();
