// Helpers shared by the proxy integration tests (test/proxy_*_test.ts).
import { createProxy, type ProxyOptions } from "../src/proxy/create_proxy.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import type { Store } from "../src/store/types.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";
import { serveDeno } from "../adapters/serve/deno.ts";
import type { RunningServer } from "../adapters/serve/types.ts";

/** A proxy served by Deno.serve on a free port of 127.0.0.1. */
export interface TestProxy extends AsyncDisposable {
  readonly url: string;
  /** `127.0.0.1:PORT`, the registry part of image references through the proxy. */
  readonly host: string;
  readonly store: Store;
  readonly app: ReturnType<typeof createProxy>;
  readonly server: RunningServer;
}

/** Starts a proxy (memory store unless given) in this process. */
export async function startProxy(
  options: Partial<ProxyOptions> & Pick<ProxyOptions, "upstreams">,
): Promise<TestProxy> {
  const store = options.store ?? new MemoryStore();
  const app = createProxy({ hasher: nodeHasher, ...options, store });
  const server = await serveDeno(app, { hostname: "127.0.0.1", port: 0 });
  return {
    url: server.url,
    host: new URL(server.url).host,
    store,
    app,
    server,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** Runs a command; throws with its stderr when it fails. */
export async function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  })
    .output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${stderr}`);
  return new TextDecoder().decode(out.stdout);
}

/** `skopeo copy docker://SRC oci:DIR:ref` over plain http. */
export function skopeoCopy(source: string, dir: string, extra: string[] = []): Promise<string> {
  return run("skopeo", [
    "copy",
    "--quiet",
    "--src-tls-verify=false",
    ...extra,
    `docker://${source}`,
    `oci:${dir}:img`,
  ]);
}

/** Every file under `blobs/` of an OCI layout, by digest, with its bytes. */
export async function layoutBlobs(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const algo of Deno.readDir(`${dir}/blobs`)) {
    for await (const file of Deno.readDir(`${dir}/blobs/${algo.name}`)) {
      out.set(`${algo.name}:${file.name}`, await Deno.readFile(`${dir}/blobs/${algo.name}/${file.name}`));
    }
  }
  return out;
}

/** Count of upstream access-log entries matching method and path fragment. */
export function countRequests(
  log: Array<{ method: string; path: string }>,
  method: string,
  fragment: string,
): number {
  return log.filter((e) => e.method === method && e.path.includes(fragment)).length;
}

/** Reads a response body to bytes. */
export async function bytesOf(response: Response): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Waits (bounded, 2 s) until the store holds `digest` (with `size` bytes, when given): a fill commits just
 * after its last byte was sent, and s3rver writes an object in place, so a HEAD meanwhile sees it grow.
 * Answers the size last seen.
 */
export async function waitForBlob(store: Store, digest: string, size?: number): Promise<number | undefined> {
  let seen: number | undefined;
  for (let i = 0; i < 100; i++) {
    seen = (await store.blobs.stat(digest))?.size;
    if (seen !== undefined && (size === undefined || seen === size)) return seen;
    await new Promise((r) => setTimeout(r, 20));
  }
  return seen;
}
