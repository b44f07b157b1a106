// Crash consistency: `tug pull` of the 64 MiB image is SIGKILLed at several points while the fault proxy
// serves the big layer slowly; after each kill `tug verify` must find the store sound (kept partial bytes
// are not corruption), and each rerun must resume where the killed one stopped, not from zero, taking over
// the blob lock the killed run left.
import { assert, assertEquals } from "./_assert.ts";
import { slowLargeLayer } from "./_slow_layer.ts";
import { OciLayoutStore } from "../adapters/fs/oci_layout_store.ts";

const MiB = 1024 * 1024;
const verbose = Deno.env.get("TUG_TEST_VERBOSE") === "1";
const MAIN = new URL("../adapters/cli/main.ts", import.meta.url).pathname;

/** Starts `tug ARGS` as a separate process (its own PID, killable). */
function tug(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await tug(args).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("tug pull killed with SIGKILL mid-layer leaves a sound store, and each rerun resumes the partial layer", async () => {
  // Slow enough to kill at a chosen byte: 64 MiB at 24 MiB/s.
  await using slow = await slowLargeLayer(24 * MiB, "tug-crash-");
  const { proxy, dir, image, layer, reference } = slow;

  const killPoints = [6 * MiB, 22 * MiB, 40 * MiB];
  let resumedFrom = 0;
  for (const [i, point] of killPoints.entries()) {
    const child = tug(["pull", "--store", dir, "--quiet", reference]);
    const output = child.output();
    try {
      await proxy.waitFor(() => proxy.bytesServed(layer.digest) >= point, 60_000);
    } finally {
      child.kill("SIGKILL");
    }
    const killed = await output;
    assertEquals(killed.signal, "SIGKILL", `run ${i} was killed, not finished`);

    // The run asked from where the previous one's bytes ended (0 the first time).
    const gets = proxy.requests(layer.digest);
    assertEquals(gets.at(-1)!.rangeStart, resumedFrom, `run ${i} resumed from the kept bytes`);

    const verify = await run(["verify", "--store", dir, "--json"]);
    assertEquals(verify.code, 0, `verify after kill ${i}: ${verify.stdout}${verify.stderr}`);
    const report = JSON.parse(verify.stdout);
    assertEquals(report.sound, true);
    assertEquals(report.corrupt, []);
    // The killed write stays under .tug/tmp (its process is gone) for the next run to pick up.
    const store = await OciLayoutStore.open(dir, { fsync: false });
    const leftovers = (await store.listTemp()).filter((t) => t.path.includes(layer.digest.slice(7)));
    assertEquals(leftovers.length, 1);
    assertEquals(leftovers[0].inUse, false);
    const kept = leftovers[0].size;
    assert(
      kept > resumedFrom && kept <= proxy.bytesServed(layer.digest),
      `kept ${kept} bytes after kill ${i}`,
    );
    assertEquals(await store.references.list(), [], "no reference before the image is complete");
    // The killed run still "holds" the layer's blob lock; the next run takes it over (its PID is gone).
    const lock = JSON.parse(await Deno.readTextFile(`${dir}/.tug/locks/sha256-${layer.digest.slice(7)}`));
    assertEquals(lock.pid, child.pid, `run ${i} died holding the layer's lock`);
    if (verbose) {
      console.log(`kill ${i} at ${point} served: kept ${kept}, served ${proxy.bytesServed(layer.digest)}`);
    }
    resumedFrom = kept;
  }

  // A full-speed rerun completes from the last kept byte.
  proxy.clearRules();
  const before = proxy.bytesServed(layer.digest);
  const rerun = await run(["pull", "--store", dir, "--quiet", reference]);
  assertEquals(rerun.code, 0, rerun.stderr);
  const last = proxy.requests(layer.digest).at(-1)!;
  assertEquals(last.rangeStart, resumedFrom);
  assertEquals(last.range, `bytes=${resumedFrom}-`);
  assertEquals(last.status, 206);
  const refetched = proxy.bytesServed(layer.digest) - before;
  assertEquals(refetched, layer.size - resumedFrom, "the rerun fetched only the missing part");
  assert(refetched < layer.size);
  if (verbose) console.log(`rerun: Range from ${resumedFrom}, refetched ${refetched} of ${layer.size}`);

  const verify = await run(["verify", "--store", dir, "--json"]);
  assertEquals(verify.code, 0, verify.stdout);
  const report = JSON.parse(verify.stdout);
  assertEquals(report.sound, true);
  assertEquals(report.temp, []);
  const store = await OciLayoutStore.open(dir, { fsync: false });
  assertEquals((await store.references.get(reference))?.digest, image.manifestDigest);
  assertEquals((await store.blobs.stat(layer.digest))?.size, layer.size);
  // Every lock was taken over and released.
  assertEquals([...Deno.readDirSync(`${dir}/.tug/locks`)].map((e) => e.name), []);
});
