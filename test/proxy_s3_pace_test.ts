// `tug serve --store s3://…` (s3rver, a real S3 API server) with many clients on a cold blob: the bucket
// cannot give a blob back before it is committed, so the fill paces the upstream to its slowest client and
// every client streams the verified blob from it, with one upstream GET and nothing read back from the bucket.
import { spawnTugServe } from "./_tug_serve.ts";
import { assertEquals } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { S3RVER_CREDENTIALS, startS3rver } from "./harness/s3rver.ts";
import { countRequests } from "./_proxy_helpers.ts";
import { forwarder, hashBody } from "./_forwarder.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";

Deno.test("tug serve --store s3://… gives 8 concurrent clients of a cold blob its verified bytes with one upstream GET and no read of the blob from the bucket", async () => {
  const { registry, images } = await sharedRegistry();
  const layer = images.large.layers[0];
  await using s3 = await startS3rver();
  await using bucket = forwarder(s3.endpoint);
  // The blob's bytes wait until every client got its headers, so all 8 join the fill at byte 0.
  await using upstream = forwarder(
    registry.url,
    (method, path) => method === "GET" && path.endsWith(`/blobs/${layer.digest}`),
  );
  await using serve = await spawnTugServe([
    "--store",
    `s3://${s3.bucket}/pace?endpoint=${bucket.url}&region=us-east-1&path-style=true`,
    "--upstream",
    `local=${upstream.url}`,
    "--default-upstream",
    "local",
  ], {
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  });
  const url = `${serve.url}/v2/${images.large.repository}/blobs/${layer.digest}`;
  const answers = await Promise.all(Array.from({ length: 8 }, () => fetch(url)));
  upstream.open();
  const got = await Promise.all(answers.map(async (answer, i) => {
    assertEquals(answer.status, 200, `client ${i}`);
    // Different speeds: every other client waits a macrotask after each read.
    if (i % 2 === 0) return await hashBody(answer.body!);
    return await hashBody(answer.body!.pipeThrough(
      new TransformStream({
        transform: async (chunk, controller) => {
          await new Promise((r) => setTimeout(r, 0));
          controller.enqueue(chunk);
        },
      }),
    ));
  }));
  for (const result of got) assertEquals(result, { digest: layer.digest, bytes: layer.size });
  assertEquals(countRequests(upstream.log, "GET", `/blobs/${layer.digest}`), 1, "one upstream GET");
  const object = `/pace/blobs/${layer.digest.replace(":", "/")}`;
  assertEquals(
    bucket.log.filter((e) => e.method === "GET" && e.path.endsWith(object)).length,
    0,
    "no client read the blob back from the bucket",
  );
  // The blob is committed to the bucket just after the last byte went out: wait for it, bounded (s3rver
  // writes a completed multipart object in place, so its size grows until then).
  const objects = new S3Bucket({ bucket: s3.bucket, endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS });
  const key = `pace/blobs/${layer.digest.replace(":", "/")}`;
  let size = (await objects.head(key))?.size;
  for (let i = 0; i < 400 && size !== layer.size; i++) {
    await new Promise((r) => setTimeout(r, 25));
    size = (await objects.head(key))?.size;
  }
  assertEquals(size, layer.size, "committed to the bucket");
  const reads = bucket.log.filter((e) => e.method === "GET" && e.path.endsWith(object)).length;
  // A new client is served from the bucket, without the upstream.
  const again = await fetch(url);
  assertEquals(await hashBody(again.body!), { digest: layer.digest, bytes: layer.size });
  assertEquals(countRequests(upstream.log, "GET", `/blobs/${layer.digest}`), 1);
  assertEquals(bucket.log.filter((e) => e.method === "GET" && e.path.endsWith(object)).length, reads + 1);
});
