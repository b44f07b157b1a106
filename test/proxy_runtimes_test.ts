// The same pull through the proxy on each runtime: Deno (tug serve), Node 20 (the esbuild bundle of tug)
// and workerd (the npm workerd binary), plus podman pulling through it.
import * as esbuild from "npm:esbuild@^0.28.2";
import { npmSpecifiers } from "../build/npm_specifiers.ts";
import workerdPackage from "npm:workerd@^1.20261117.1";
import { assert, assertEquals } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { countRequests, layoutBlobs, run, skopeoCopy, startProxy } from "./_proxy_helpers.ts";
import { buildWorker } from "../adapters/serve/build_workerd.ts";
import { workerdConfig } from "../adapters/serve/workerd_config.ts";
import { freePort } from "./_tug_serve.ts";

const root = new URL("../", import.meta.url).pathname;

/**
 * A process started through `sh -c exec …` with its output in a log file; killed on dispose. Without `url`,
 * it is a `tug serve --listen 127.0.0.1:0`: its URL is the one its log says it listens on (port 0: a port the
 * test picked could be taken by any connect() on the machine before the process binds it).
 */
async function startProcess(command: string[], log: string, url?: string) {
  const line = command.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const child = new Deno.Command("sh", {
    args: ["-c", `exec ${line} >'${log}' 2>&1`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
  };
  let ready = false;
  for (let i = 0; i < 150 && !ready; i++) {
    url ??= /listening on (http:\/\/\S+)/.exec(await Deno.readTextFile(log).catch(() => ""))?.[1];
    try {
      if (url === undefined) throw new Error("not listening yet");
      const res = await fetch(`${url}/healthz`);
      ready = res.ok;
      await res.body?.cancel();
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (!ready || url === undefined) {
    await stop();
    throw new Error(
      `${command[0]} did not answer on ${url}: ${await Deno.readTextFile(log).catch(() => "")}`,
    );
  }
  return { host: new URL(url).host, [Symbol.asyncDispose]: stop };
}

/** workerd serving `tmp/worker.js` with `bindings` on a free loopback port; stopped on dispose. */
async function startWorkerd(tmp: string, bindings: Record<string, string>) {
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
  const server = await startProcess(
    [binary, "serve", `${tmp}/config.capnp`, "--experimental"],
    `${tmp}/workerd.log`,
    `http://127.0.0.1:${port}`,
  );
  return { host: `127.0.0.1:${port}`, [Symbol.asyncDispose]: () => server[Symbol.asyncDispose]() };
}

/** skopeo copies tug/small and tug/multi through `host`; the blobs equal a direct copy's. */
async function assertPullThrough(host: string, tmp: string, label: string): Promise<void> {
  const { registry, images } = await sharedRegistry();
  for (const image of [images.small, images.multi]) {
    const name = `${image.repository}:${image.tag}`;
    const direct = `${tmp}/direct-${label}-${image.repository.replace("/", "-")}`;
    const proxied = `${tmp}/proxied-${label}-${image.repository.replace("/", "-")}`;
    await skopeoCopy(`${registry.host}/${name}`, direct);
    await skopeoCopy(`${host}/${name}`, proxied);
    const a = await layoutBlobs(direct);
    const b = await layoutBlobs(proxied);
    assertEquals([...b.keys()].sort(), [...a.keys()].sort(), `${label} ${name}`);
    for (const [digest, bytes] of a) assertEquals(b.get(digest), bytes, `${label} ${digest}`);
  }
  // Second time from the warm cache.
  const again = `${tmp}/again-${label}`;
  await skopeoCopy(`${host}/${images.small.repository}:${images.small.tag}`, again);
  for (const layer of images.small.layers) assert((await layoutBlobs(again)).has(layer.digest));
}

Deno.test("tug serve on Deno: skopeo copies through the proxy, cached on disk", async () => {
  const { registry } = await sharedRegistry();
  const tmp = await Deno.makeTempDir({ prefix: "tug-serve-deno-" });
  try {
    {
      await using server = await startProcess(
        [
          Deno.execPath(),
          "run",
          "-A",
          `${root}adapters/cli/main.ts`,
          "serve",
          "--listen",
          "127.0.0.1:0",
          "--store",
          `${tmp}/store`,
          "--upstream",
          `local=${registry.url}`,
          "--tag-ttl",
          "5",
        ],
        `${tmp}/serve.log`,
      );
      await assertPullThrough(server.host, tmp, "deno");
    }
    // The cache is an OCI layout: its index names the tags it holds.
    const index = JSON.parse(await Deno.readTextFile(`${tmp}/store/index.json`));
    assert(index.manifests.length > 0);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("tug serve on Node 20 (esbuild bundle): skopeo copies through the proxy", async () => {
  const { registry } = await sharedRegistry();
  const tmp = await Deno.makeTempDir({ prefix: "tug-serve-node-" });
  try {
    await esbuild.build({
      entryPoints: [`${root}adapters/cli/main_bundle.ts`],
      outfile: `${tmp}/tug.mjs`,
      bundle: true,
      plugins: [npmSpecifiers()],
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "warning",
    });
    await esbuild.stop();
    await using server = await startProcess(
      [
        "node",
        `${tmp}/tug.mjs`,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--store",
        `${tmp}/store`,
        "--upstream",
        `local=${registry.url}`,
      ],
      `${tmp}/serve.log`,
    );
    await assertPullThrough(server.host, tmp, "node");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the proxy worker on workerd: skopeo copies through it", async () => {
  const { registry } = await sharedRegistry();
  const tmp = await Deno.makeTempDir({ prefix: "tug-serve-workerd-" });
  try {
    await buildWorker(`${tmp}/worker.js`);
    await using server = await startWorkerd(tmp, {
      UPSTREAMS: JSON.stringify({ local: registry.url }),
      TAG_TTL: "5",
    });
    await assertPullThrough(server.host, tmp, "workerd");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("createWorker() on workerd takes its store from the deployer's entry, built from the bindings", async () => {
  const { registry, images } = await sharedRegistry();
  const tmp = await Deno.makeTempDir({ prefix: "tug-serve-workerd-store-" });
  try {
    // A deployer's entry: an object-store-like store (no read-back, no resume, declared so) made from the
    // bindings; with STORE_READ_ONLY it keeps no blob, which the test can see from outside.
    await Deno.writeTextFile(
      `${tmp}/entry.ts`,
      `import { createWorker } from ${JSON.stringify(`${root}adapters/serve/workerd.ts`)};
import { MemoryStore } from ${JSON.stringify(`${root}src/store/memory_store.ts`)};
export default createWorker<{ STORE_READ_ONLY?: string }>({
  store: (env) => {
    const inner = new MemoryStore();
    return {
      references: inner.references,
      capabilities: { resume: false, readWhileWriting: false },
      blobs: {
        stat: (d) => inner.blobs.stat(d),
        get: (d, r) => inner.blobs.get(d, r),
        delete: (d) => inner.blobs.delete(d),
        list: () => inner.blobs.list(),
        writer: async (expected) => {
          if (env.STORE_READ_ONLY === "1") throw new Error("this store is read-only");
          const w = await inner.blobs.writer(expected);
          return {
            offset: 0,
            readPartial: () => w.readPartial(),
            write: (c) => w.write(c),
            commit: () => w.commit(),
            abort: () => w.abort(),
          };
        },
      },
    };
  },
});
`,
    );
    await buildWorker(`${tmp}/worker.js`, { entry: `${tmp}/entry.ts` });
    await using server = await startWorkerd(tmp, {
      UPSTREAMS: JSON.stringify({ local: registry.url }),
      STORE_READ_ONLY: "1",
    });
    await assertPullThrough(server.host, tmp, "workerd-store");
    // The deployer's store kept nothing: every GET of a blob goes upstream (the default store caches it).
    const layer = images.small.layers[0];
    const before = await registry.accessLog();
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`http://${server.host}/v2/${images.small.repository}/blobs/${layer.digest}`);
      assertEquals(res.status, 200);
      assertEquals((await res.bytes()).length, layer.size);
    }
    const log = (await registry.accessLog()).slice(before.length);
    assertEquals(countRequests(log, "GET", `/blobs/${layer.digest}`), 2);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("podman pull through the proxy gets the image", async () => {
  const { images, registry } = await sharedRegistry();
  await using proxy = await startProxy({ upstreams: { local: registry.url } });
  const tmp = await Deno.makeTempDir({ prefix: "tug-proxy-podman-" });
  const podman = ["--root", `${tmp}/root`, "--runroot", `${tmp}/runroot`, "--storage-driver", "vfs"];
  try {
    const ref = `${proxy.host}/${images.small.repository}:${images.small.tag}`;
    await run("podman", [...podman, "pull", "--tls-verify=false", "--quiet", ref]);
    const inspect = JSON.parse(await run("podman", [...podman, "image", "inspect", ref]));
    assertEquals(inspect[0].Digest, images.small.manifestDigest);
  } finally {
    await run("podman", [...podman, "rmi", "--all", "--force"]).catch(() => "");
    await new Deno.Command("sh", { args: ["-c", `chmod -R u+w '${tmp}' 2>/dev/null; rm -rf '${tmp}'`] })
      .output();
  }
});
