// The bundled worker on the real workerd with its default store (in memory, per isolate; an isolate has
// 128 MB): 8 clients of a cold blob larger than the in-memory cache get its verified bytes from one upstream
// GET, while the worker holds only its fill's window, not the blob.
import workerdPackage from "npm:workerd@^1.20261117.1";
import { assert, assertEquals } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { countRequests } from "./_proxy_helpers.ts";
import { forwarder, hashBody } from "./_forwarder.ts";
import { freePort, memory } from "./_tug_serve.ts";
import { buildWorker } from "../adapters/serve/build_workerd.ts";
import { workerdConfig } from "../adapters/serve/workerd_config.ts";

const MiB = 1024 * 1024;

/** workerd serving `dir/worker.js` with `bindings`; ready when it answers (bounded: 20 s). */
async function startWorkerd(dir: string, bindings: Record<string, string>) {
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/config.capnp`,
    workerdConfig({
      worker: "worker.js",
      address: `127.0.0.1:${port}`,
      bindings,
      allow: ["public", "private", "local"],
    }),
  );
  const binary = (workerdPackage as unknown as { default: string }).default;
  const child = new Deno.Command(binary, {
    args: ["serve", `${dir}/config.capnp`, "--experimental"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    await stderr;
  };
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(`${url}/healthz`);
      await res.body?.cancel();
      if (res.ok) return { url, pid: child.pid, [Symbol.asyncDispose]: stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`workerd did not answer on ${url}: ${await stderr}`);
}

Deno.test("the worker on workerd with its default in-memory store streams a blob larger than its cache to 8 clients from one upstream GET, growing by less than 100 MiB", async () => {
  const { registry, images } = await sharedRegistry();
  const layer = images.large.layers[0];
  assert(layer.size > 32 * MiB, `the fixture (${layer.size} bytes) is larger than the default cache`);
  const tmp = await Deno.makeTempDir({ prefix: "tug-workerd-memory-" });
  try {
    await buildWorker(`${tmp}/worker.js`);
    // The blob's bytes wait until every client got its headers, so all 8 join the one fill at byte 0.
    await using upstream = forwarder(
      registry.url,
      (method, path) => method === "GET" && path.endsWith(`/blobs/${layer.digest}`),
    );
    await using worker = await startWorkerd(tmp, {
      UPSTREAMS: JSON.stringify({ local: upstream.url }),
      DEFAULT_UPSTREAM: "local",
    });
    const before = await memory(worker.pid);
    const url = `${worker.url}/v2/${images.large.repository}/blobs/${layer.digest}`;
    const answers = await Promise.all(Array.from({ length: 8 }, () => fetch(url)));
    upstream.open();
    const got = await Promise.all(answers.map(async (answer, i) => {
      assertEquals(answer.status, 200, `client ${i}`);
      return await hashBody(answer.body!);
    }));
    for (const result of got) assertEquals(result, { digest: layer.digest, bytes: layer.size });
    assertEquals(countRequests(upstream.log, "GET", `/blobs/${layer.digest}`), 1, "one upstream GET");
    const { peak } = await memory(worker.pid);
    console.log(
      `[workerd memory] 8 clients, ${(layer.size / MiB).toFixed(0)} MiB blob: workerd peak ${
        (peak / MiB).toFixed(1)
      } MiB (${(before.peak / MiB).toFixed(1)} MiB before)`,
    );
    // The blob was never held whole: workerd grows by the garbage V8 lets pile up before it collects
    // ArrayBuffers (about 64 MiB) and its own buffers, ~75 MiB; holding the 64 MiB blob and the copies of
    // 8 clients reading it back grew it by ~150 MiB.
    assert(peak - before.peak < 100 * MiB, `workerd grew by ${((peak - before.peak) / MiB).toFixed(1)} MiB`);
    // Not kept: the cache is smaller than the blob, so the next client is streamed from the upstream again.
    const again = await fetch(url);
    assertEquals(await hashBody(again.body!), { digest: layer.digest, bytes: layer.size });
    assertEquals(countRequests(upstream.log, "GET", `/blobs/${layer.digest}`), 2);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
