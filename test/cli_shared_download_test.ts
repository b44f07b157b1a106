// Two real `tug pull` processes (one on Deno, one on Node) pulling one image into one store fetch each blob
// once, as one Docker daemon does for all its clients: the OCI layout store's blob lock makes the second
// wait for the first and then find the blob (adapters/fs/oci_layout/blob_lock.ts).
import { assert, assertEquals } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { openStore, readBlob, runTug, tempDir } from "./_cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/**
 * A counting proxy in front of the real registry. Blob GETs are held until two manifest GETs arrived, so
 * both pulls have their manifest before any blob is served: both look for the same blobs at once.
 */
function countingProxy(upstream: string) {
  const gets = new Map<string, number>();
  let manifests = 0;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "GET") gets.set(path, (gets.get(path) ?? 0) + 1);
    if (req.method === "GET" && path.includes("/manifests/") && ++manifests >= 2) open();
    if (path.includes("/blobs/")) {
      await gate;
      // A slow link: the first pull's blobs are still on their way when the second looks for them. With
      // the lock the second waits whatever the timing; without it, it fetches them too.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const res = await fetch(`${upstream}${path}`, {
      method: req.method,
      headers: req.headers,
      redirect: "manual",
    });
    return new Response(res.body, { status: res.status, headers: res.headers });
  });
  return {
    host: `127.0.0.1:${server.addr.port}`,
    /** GETs per blob path. */
    blobGets: () => Object.fromEntries([...gets].filter(([p]) => p.includes("/blobs/"))),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("two tug pull processes (Deno and Node) into one store fetch each blob once", async () => {
  const { registry, images } = await sharedRegistry();
  const image = images.small;
  await using tmp = await tempDir("tug-shared-");
  const bundle = `${tmp.dir}/tug.mjs`;
  const build = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}adapters/cli/build_node.ts`, bundle],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(build.code, 0, new TextDecoder().decode(build.stderr));
  await using proxy = countingProxy(registry.url);
  const store = `${tmp.dir}/store`;
  const reference = `${proxy.host}/${image.repository}:${image.tag}`;
  const [onDeno, onNode] = await Promise.all([
    runTug(["pull", "--store", store, reference]),
    runTug(["pull", "--store", store, reference], { runtime: "node", bundle }),
  ]);
  assertEquals(onDeno.code, 0, onDeno.stderr);
  assertEquals(onNode.code, 0, onNode.stderr);
  // Every blob was fetched, each once.
  const gets = proxy.blobGets();
  const blobs = [image.config.digest, ...image.layers.map((l) => l.digest)];
  for (const digest of blobs) assert(`/v2/${image.repository}/blobs/${digest}` in gets, JSON.stringify(gets));
  assertEquals(Object.values(gets), Object.values(gets).map(() => 1), JSON.stringify(gets));
  const opened = await openStore(store);
  assertEquals((await opened.references.get(reference))?.digest, image.manifestDigest);
  for (const layer of image.layers) assertEquals((await opened.blobs.stat(layer.digest))?.size, layer.size);
  assertEquals(await readBlob(opened, image.config.digest), image.config.bytes);
  // Nothing left behind: no temp file, no lock.
  assertEquals((await opened.listTemp()).length, 0);
  assertEquals([...Deno.readDirSync(`${store}/.tug/locks`)], []);
});
