// docs/proxy.md's worker over an S3 endpoint, run as written: the block is taken from the page, bundled with
// build_workerd.ts and run on workerd (the npm binary) against radosgw (a real S3 service that verifies
// signatures) in place of R2's S3 endpoint. skopeo pulls through it; the blobs land in the bucket.
import workerdPackage from "npm:workerd@^1.20261117.1";
import { assert, assertEquals } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { sharedRadosgw } from "./harness/radosgw.ts";
import { freePort } from "./harness/port.ts";
import { layoutBlobs, skopeoCopy } from "./_proxy_helpers.ts";
import { buildWorker } from "../adapters/serve/build_workerd.ts";
import { workerdConfig } from "../adapters/serve/workerd_config.ts";
import { S3Bucket } from "../adapters/s3/s3_bucket.ts";

const root = new URL("../", import.meta.url).pathname;

/** The ```ts block of docs/proxy.md that defines the worker over an S3 endpoint. */
async function docsWorker(): Promise<string> {
  const page = await Deno.readTextFile(`${root}docs/proxy.md`);
  const block = [...page.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
    .find((code) => code.includes("createWorker<Env>") && code.includes("r2.cloudflarestorage.com"));
  assert(block !== undefined, "docs/proxy.md has the worker over R2's S3 endpoint");
  return block;
}

Deno.test("docs/proxy.md's worker over an S3 endpoint runs on workerd: skopeo pulls through it, the blobs land in the bucket (radosgw)", async () => {
  const { registry, images } = await sharedRegistry();
  const rgw = await sharedRadosgw();
  await rgw.createBucket("registry-cache");
  const tmp = await Deno.makeTempDir({ prefix: "tug-s3-worker-docs-" });
  try {
    // As the page says, with its imports resolved from the repository and radosgw for the account's endpoint.
    const source = (await docsWorker())
      .replaceAll('from "../', `from "${root}`)
      .replace('"https://ACCOUNT_ID.r2.cloudflarestorage.com"', JSON.stringify(rgw.endpoint))
      .replace(/^console\.assert.*$/m, "export default worker;");
    await Deno.writeTextFile(`${tmp}/my_worker.ts`, source);
    await buildWorker(`${tmp}/worker.js`, { entry: `${tmp}/my_worker.ts` });
    const port = freePort();
    await Deno.writeTextFile(
      `${tmp}/config.capnp`,
      workerdConfig({
        worker: "worker.js",
        address: `127.0.0.1:${port}`,
        allow: ["public", "private", "local"],
        bindings: {
          UPSTREAMS: JSON.stringify({ local: registry.url }),
          R2_ACCESS_KEY_ID: rgw.accessKeyId,
          R2_SECRET_ACCESS_KEY: rgw.secretAccessKey,
        },
      }),
    );
    const binary = (workerdPackage as unknown as { default: string }).default;
    const child = new Deno.Command(binary, {
      args: ["serve", `${tmp}/config.capnp`, "--experimental"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    try {
      let ready = false;
      for (let i = 0; i < 150 && !ready; i++) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/healthz`);
          ready = res.ok;
          await res.body?.cancel();
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert(ready, "workerd answered /healthz within 15 s");
      const image = images.small;
      await skopeoCopy(`127.0.0.1:${port}/${image.repository}:${image.tag}`, `${tmp}/out`);
      const pulled = await layoutBlobs(`${tmp}/out`);
      const bucket = new S3Bucket({
        bucket: "registry-cache",
        endpoint: rgw.endpoint,
        credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
      });
      const keys = new Set<string>();
      for await (const { key } of bucket.list("tug/blobs/")) keys.add(key);
      for (const layer of image.layers) {
        assert(pulled.has(layer.digest), layer.digest);
        // A fill commits just after its last byte was sent: wait for it, bounded.
        const key = `tug/blobs/${layer.digest.replace(":", "/")}`;
        for (let i = 0; i < 100 && !keys.has(key); i++) {
          await new Promise((r) => setTimeout(r, 50));
          if (await bucket.head(key)) keys.add(key);
        }
        assert(keys.has(key), `${key} is in the bucket`);
        assertEquals((await bucket.head(key))?.size, layer.size);
      }
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await stderr;
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
