// The real bundled worker (adapters/serve/build_workerd.ts) in the real workerd without an R2 binding: its
// cache is the isolate's memory, so a blob larger than STREAM_THROUGH_ABOVE is neither cached nor shared;
// each client streams it from an upstream GET of its own, verified (docs/proxy.md, "On workerd").
import workerdPackage from "npm:workerd@^1.20261117.1";
import { assert, assertEquals } from "./_assert.ts";
import { coldBlob, sha256 } from "./_fleet.ts";
import { freePort } from "./_tug_serve.ts";
import { buildWorker } from "../adapters/serve/build_workerd.ts";
import { workerdConfig } from "../adapters/serve/workerd_config.ts";

/** workerd serving the bundled worker with `bindings` on a loopback port; stopped on dispose. */
async function startWorkerd(tmp: string, bindings: Record<string, string>) {
  await buildWorker(`${tmp}/worker.js`);
  const port = freePort();
  await Deno.writeTextFile(
    `${tmp}/config.capnp`,
    workerdConfig({
      worker: "worker.js",
      address: `127.0.0.1:${port}`,
      bindings,
      allow: ["public", "private", "local"],
    }),
  );
  const binary = (workerdPackage as unknown as { default: string }).default;
  const child = new Deno.Command(binary, {
    args: ["serve", `${tmp}/config.capnp`, "--experimental"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = new Response(child.stderr).text();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    await log;
  };
  const url = `http://127.0.0.1:${port}`;
  // Bounded: 150 tries, 100 ms apart.
  for (let i = 0; i < 150; i++) {
    try {
      const res = await fetch(`${url}/healthz`);
      await res.body?.cancel();
      if (res.ok) return { url, [Symbol.asyncDispose]: stop };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error(`workerd did not answer on ${url}: ${await log}`);
}

/** Reads a body to its end or its error: the bytes received, and whether it broke off. */
async function drain(res: Response): Promise<{ bytes: Uint8Array; broken: boolean }> {
  const parts: Uint8Array[] = [];
  let broken = false;
  try {
    for await (const part of res.body!) parts.push(part);
  } catch {
    broken = true;
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { bytes, broken };
}

Deno.test("the worker on workerd without BLOBS: a blob over STREAM_THROUGH_ABOVE reaches each of 4 clients from a GET of its own, verified, and is not kept; one under it is shared and cached; a flipped byte breaks the client's body", async () => {
  // Slow enough that the 4 clients overlap (each transfer takes ~0.4 s).
  await using big = await coldBlob(3 << 20, 8 << 20);
  await using small = await coldBlob(100_000, 1 << 20);
  await using bad = await coldBlob(3 << 20, 8 << 20);
  bad.upstream.clearRules();
  bad.upstream.addRule({ match: bad.digest, fault: { kind: "flip", atByte: 2 << 20 }, times: Infinity });
  assert(big.size > 1 << 20 && bad.size > 1 << 20 && small.size < 1 << 20);
  const tmp = await Deno.makeTempDir({ prefix: "tug-workerd-stream-" });
  try {
    await using worker = await startWorkerd(tmp, {
      UPSTREAMS: JSON.stringify({ big: big.upstream.url, small: small.upstream.url, bad: bad.upstream.url }),
      DEFAULT_UPSTREAM: "big",
      CACHE_MAX_BYTES: "4MiB",
      STREAM_THROUGH_ABOVE: "1MiB",
    });
    const gets = (blob: { upstream: typeof big.upstream; digest: string }) =>
      blob.upstream.requests(blob.digest).filter((r) => r.method === "GET").length;
    const pull = async (path: string) => {
      const res = await fetch(`${worker.url}${path}`);
      assertEquals(res.status, 200, path);
      return { length: res.headers.get("content-length"), ...await drain(res) };
    };

    const cold = await Promise.all(Array.from({ length: 4 }, () => pull(`/v2/big/${big.path.slice(4)}`)));
    for (const got of cold) {
      assertEquals(got.broken, false);
      // workerd sends a stream body chunked (no Content-Length), as it does for the shared fill's.
      assert(got.length === null || got.length === String(big.size), `Content-Length ${got.length}`);
      assertEquals(await sha256(got.bytes), big.digest);
    }
    assertEquals(gets(big), 4, "one upstream GET per client for a blob over the limit");
    // Warm: nothing was kept, so the next client's bytes come from a GET of its own again.
    const warm = await pull(`/v2/big/${big.path.slice(4)}`);
    assertEquals(await sha256(warm.bytes), big.digest);
    assertEquals(gets(big), 5, "not kept in the memory store");

    const shared = await Promise.all(
      Array.from({ length: 4 }, () => pull(`/v2/small/${small.path.slice(4)}`)),
    );
    for (const got of shared) assertEquals(await sha256(got.bytes), small.digest);
    const again = await pull(`/v2/small/${small.path.slice(4)}`);
    assertEquals(await sha256(again.bytes), small.digest);
    assertEquals(gets(small), 1, "a blob under the limit: one upstream GET for all, then the cache");

    const broken = await Promise.all(Array.from({ length: 2 }, () => pull(`/v2/bad/${bad.path.slice(4)}`)));
    for (const got of broken) {
      assert(got.broken, "the body of a blob that failed its digest check breaks off");
      assert(got.bytes.length < bad.size, `${got.bytes.length} of ${bad.size} bytes given`);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
