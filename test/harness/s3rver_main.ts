/**
 * Runs s3rver (npm, an S3 API server on the file system) on 127.0.0.1 for tests: `deno run -A
 * test/harness/s3rver_main.ts DIR BUCKET`. Prints `{"port":N}` once it listens; exits when its stdin closes
 * (the test process that started it is gone) or on SIGTERM.
 *
 * @module
 */
import S3rver from "npm:s3rver@^3.7.1";

const [directory, bucket] = Deno.args;
if (!directory || !bucket) {
  console.error("usage: s3rver_main.ts DIR BUCKET");
  Deno.exit(2);
}
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket, configs: [] }],
});
const address = await server.run() as { port: number };
console.log(JSON.stringify({ port: address.port }));
const stop = async () => {
  await server.close().catch(() => {});
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
// The parent holds our stdin: EOF means it is gone, so nothing outlives a crashed test run.
for await (const _ of Deno.stdin.readable) { /* keep reading until EOF */ }
await stop();
