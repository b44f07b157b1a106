// Layers against the config's rootfs.diff_ids (Docker's errRootFSMismatch): pull --verify-diffids,
// verify --diffids, save to docker-archive, and the store's record of diffIDs already found. The crafted
// image (a config whose second diff_id is wrong) is pushed to the real docker-registry of the harness.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { buildImage, pushImage, sha256Digest, sharedRegistry } from "./harness/mod.ts";
import { openStore, runTug, tempDir } from "./_cli.ts";
import { pull } from "../src/pull/pull.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { TugError } from "../src/errors.ts";
import { OciLayoutStore } from "../adapters/fs/oci_layout_store.ts";
import { verifyStore } from "../adapters/fs/verify_store.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";
import { checkDiffIds } from "../src/image/check_diff_ids.ts";
import type { Descriptor } from "../src/manifest/types.ts";

const LAYERS = [
  { entries: [{ path: "a.txt", content: "a\n" }] },
  { entries: [{ path: "b.txt", content: "b\n" }] },
];

/** Pushes a good image and one whose config claims a wrong diffID for its second layer; returns their names. */
async function pushCrafted(): Promise<{ good: string; bad: string; wrong: string; badLayer: string }> {
  const { registry } = await sharedRegistry();
  const good = await buildImage({ layers: LAYERS });
  const config = JSON.parse(new TextDecoder().decode(good.config.bytes));
  const wrong = sha256Digest(new TextEncoder().encode("not the layer's tar"));
  config.rootfs.diff_ids[1] = wrong;
  const bad = await buildImage({
    layers: LAYERS,
    configBytes: new TextEncoder().encode(JSON.stringify(config)),
  });
  await pushImage(registry, "diffids/good", good, "v1");
  await pushImage(registry, "diffids/bad", bad, "v1");
  return {
    good: `${registry.host}/diffids/good:v1`,
    bad: `${registry.host}/diffids/bad:v1`,
    wrong,
    badLayer: bad.layers[1].digest,
  };
}

Deno.test("pull() with verifyDiffIds refuses a layer that does not match the config's diff_ids and records no name", async () => {
  const { good, bad, wrong, badLayer } = await pushCrafted();
  const store = new MemoryStore();
  const err = await assertRejects(
    () => pull(bad, { store, verifyDiffIds: true, retry: { attempts: 1 } }),
    TugError,
    { code: "LAYERS_MISMATCH", includes: "layers from manifest don't match image configuration" },
  );
  assertStringIncludes(err.message, badLayer);
  assertStringIncludes(err.message, wrong);
  assertEquals(await store.references.list(), []);
  // Without the option the pull takes the image as Docker's registry serves it (checked later, on use).
  assertEquals(
    (await pull(bad, { store: new MemoryStore() })).status.startsWith("Downloaded newer image"),
    true,
  );
  // A sound image passes the check.
  const ok = await pull(good, { store, verifyDiffIds: true });
  assertEquals(ok.status, `Downloaded newer image for ${good}`);
});

Deno.test("tug pull --verify-diffids fails on a wrong diff_id, exit 1, the store without the name", async () => {
  const { bad } = await pushCrafted();
  await using tmp = await tempDir("tug-diffids-pull-");
  const run = await runTug(["pull", "--store", tmp.dir, "--verify-diffids", bad]);
  assertEquals(run.code, 1, run.stdout + run.stderr);
  assertStringIncludes(run.stderr, "layers from manifest don't match image configuration");
  assertEquals(await (await openStore(tmp.dir)).references.list(), []);
});

Deno.test("tug verify --diffids finds a stored layer whose diff_id is wrong; plain tug verify calls the store sound", async () => {
  const { bad, badLayer } = await pushCrafted();
  await using tmp = await tempDir("tug-diffids-verify-");
  assertEquals((await runTug(["pull", "-q", "--store", tmp.dir, bad])).code, 0);
  const plain = await runTug(["verify", "--store", tmp.dir]);
  assertEquals(plain.code, 0, plain.stdout);
  const deep = await runTug(["verify", "--store", tmp.dir, "--diffids"]);
  assertEquals(deep.code, 1, deep.stdout + deep.stderr);
  assertStringIncludes(deep.stdout, `diffid: ${badLayer}`);
  assertStringIncludes(deep.stdout, "The store is NOT sound: 1 problem.");
});

Deno.test("tug save refuses a docker-archive whose layers do not match the config's diff_ids and writes no file", async () => {
  const { bad } = await pushCrafted();
  await using tmp = await tempDir("tug-diffids-save-");
  const store = `${tmp.dir}/store`;
  assertEquals((await runTug(["pull", "-q", "--store", store, bad])).code, 0);
  const file = `${tmp.dir}/bad.tar`;
  const saved = await runTug(["save", "--store", store, "-o", file, bad]);
  assertEquals(saved.code, 1, saved.stdout + saved.stderr);
  assertStringIncludes(saved.stderr, "layers from manifest don't match image configuration");
  assertEquals([...Deno.readDirSync(tmp.dir)].map((e) => e.name), ["store"]);
  // An oci-archive names layers by their compressed digests only: it is written as it is.
  const oci = await runTug(["save", "--store", store, "--format", "oci-archive", "-o", file, bad]);
  assertEquals(oci.code, 0, oci.stderr);
});

Deno.test("the store records the diffIDs it found, so a later check decompresses nothing", async () => {
  const { good } = await pushCrafted();
  const dir = await Deno.makeTempDir({ prefix: "tug-diffids-record-" });
  try {
    const store = await OciLayoutStore.open(dir);
    const result = await pull(good, { store, hasher: nodeHasher, verifyDiffIds: true });
    const manifest = result.images[0].manifest;
    const layers: Descriptor[] = manifest.layers;
    const config = JSON.parse(
      new TextDecoder().decode(
        new Uint8Array(await new Response(await store.blobs.get(manifest.config.digest)).arrayBuffer()),
      ),
    );
    // Recorded on disk under .tug/diffids/, and read back by a store opened afresh.
    const again = await OciLayoutStore.open(dir);
    for (let i = 0; i < layers.length; i++) {
      assertEquals(await again.diffIds.get(layers[i].digest), config.rootfs.diff_ids[i]);
    }
    const decompressed: string[] = [];
    await checkDiffIds(again, layers, config.rootfs.diff_ids, {
      hasher: nodeHasher,
      onDecompressed: (layer) => decompressed.push(layer.digest),
    });
    assertEquals(decompressed, []);
    const report = await verifyStore(again, { diffIds: true });
    assert(report.sound);
    assertEquals(report.diffIdImages, 1);
    // A fresh store without records decompresses each layer once, then never again.
    const fresh = new MemoryStore();
    await pull(good, { store: fresh });
    const first: string[] = [];
    await checkDiffIds(fresh, layers, config.rootfs.diff_ids, {
      onDecompressed: (l) => first.push(l.digest),
    });
    assertEquals(first, layers.map((l) => l.digest));
    const second: string[] = [];
    await checkDiffIds(fresh, layers, config.rootfs.diff_ids, {
      onDecompressed: (l) => second.push(l.digest),
    });
    assertEquals(second, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
