// save() and `tug save`: archives read back by the real skopeo and loaded by the real podman (throwaway
// --root/--runroot folders, vfs driver, so the host's podman storage is never touched).
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { MAIN, runTool as run, runTug, tempDir } from "./_cli.ts";
import { OciLayoutStore } from "../adapters/fs/oci_layout_store.ts";
import { save } from "../adapters/fs/save.ts";
import { readTar } from "../src/image/tar_reader.ts";
import { TugError } from "../src/errors.ts";

async function tug(...args: string[]): Promise<void> {
  const out = await runTug(args);
  assertEquals(out.code, 0, `tug ${args.join(" ")}: ${out.stderr}`);
}

Deno.test("tug save writes docker-archives that skopeo inspects and podman loads, layers checked by diffID", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-save-docker-");
  const store = `${tmp.dir}/store`;
  const podman = (...args: string[]) =>
    run("podman", [
      "--root",
      `${tmp.dir}/root`,
      "--runroot",
      `${tmp.dir}/run`,
      "--storage-driver",
      "vfs",
      ...args,
    ]);
  for (const image of [images.small, images.zstd, images.large]) {
    await tug("pull", "-q", "--store", store, image.reference);
    const file = `${tmp.dir}/${image.repository.replace("/", "-")}.tar`;
    await tug("save", "--store", store, "-o", file, image.reference);
    const inspected = JSON.parse(await run("skopeo", ["inspect", `docker-archive:${file}`]));
    // A docker-archive is addressed by diffIDs: skopeo decompresses the stored (gzip or zstd) layers to check.
    assertEquals(inspected.Layers, image.layers.map((l) => l.diffId));
    assertEquals(inspected.Architecture, image.platform.architecture);
    if (image === images.large) continue; // 64 MiB into podman's vfs storage adds nothing the others do not show
    // `podman pull docker-archive:` reads manifest.json (podman load would take the OCI part first).
    await podman("pull", "-q", `docker-archive:${file}`);
    const loaded = JSON.parse(await podman("image", "inspect", image.reference))[0];
    assertEquals(loaded.Id, image.config.digest.slice(7));
    assertEquals(loaded.RootFS.Layers, image.layers.map((l) => l.diffId));
    await podman("rmi", image.reference);
    const said = await podman("load", "-i", file);
    assert(said.includes(`Loaded image: ${image.reference}`), said);
    assertEquals(
      JSON.parse(await podman("image", "inspect", image.reference))[0].Id,
      image.config.digest.slice(7),
    );
  }
});

Deno.test("tug save --format oci-archive writes an OCI layout tar skopeo reads with the same manifest", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-save-oci-");
  const store = `${tmp.dir}/store`;
  const arm = images.multi.images["linux/arm64/v8"];
  const cases = [
    { ref: images.small.reference, image: images.small, pull: [] as string[] },
    { ref: images.zstd.reference, image: images.zstd, pull: [] },
    {
      ref: images.multi.reference,
      image: arm,
      pull: ["--all-platforms"],
      save: ["--platform", "linux/arm64"],
    },
  ];
  for (const [i, c] of cases.entries()) {
    await tug("pull", "-q", "--store", store, ...c.pull, c.ref);
    const file = `${tmp.dir}/${i}.tar`;
    await tug("save", "--store", store, "--format", "oci-archive", ...(c.save ?? []), "-o", file, c.ref);
    const inspected = JSON.parse(await run("skopeo", ["inspect", `oci-archive:${file}`]));
    assertEquals(inspected.Digest, c.image.manifestDigest);
    assertEquals(inspected.Layers, c.image.layers.map((l) => l.digest));
    assertEquals(inspected.Architecture, c.image.platform.architecture);
    const raw = await run("skopeo", ["inspect", "--raw", `oci-archive:${file}`]);
    assertEquals(new TextEncoder().encode(raw), c.image.manifestBytes);
    // Nothing but the OCI layout: no manifest.json.
    const names: string[] = [];
    for await (const e of readTar((await Deno.open(file)).readable)) names.push(e.name);
    assertEquals(names.filter((n) => !n.startsWith("blobs/")), ["index.json", "oci-layout"]);
  }
});

Deno.test("tug save streams the same bytes to stdout as to -o FILE; an unknown --format is a usage error", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-save-stdout-");
  const store = `${tmp.dir}/store`;
  await tug("pull", "-q", "--store", store, images.small.reference);
  await tug("save", "--store", store, "-o", `${tmp.dir}/a.tar`, images.small.reference);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "save", "--store", store, images.small.reference],
    env: { DOCKER_CONFIG: "/nonexistent", TUG_CONFIG: "/nonexistent.json" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assertEquals(out.stdout, await Deno.readFile(`${tmp.dir}/a.tar`));
  const bad = await runTug(["save", "--store", store, "--format", "zip", "-o", `${tmp.dir}/b.tar`, "x"]);
  assertEquals(bad.code, 2);
});

Deno.test("save() fails without leaving a file when the store lacks a layer or the name", async () => {
  const { images } = await sharedRegistry();
  await using tmp = await tempDir("tug-save-fail-");
  await tug("pull", "-q", "--store", `${tmp.dir}/store`, images.small.reference);
  const store = await OciLayoutStore.open(`${tmp.dir}/store`);
  await assertRejects(() => save(store, "example.com/not/there:v1", `${tmp.dir}/x.tar`), TugError, {
    code: "NOT_FOUND",
  });
  await store.blobs.delete(images.small.layers[1].digest);
  await assertRejects(() => save(store, images.small.reference, `${tmp.dir}/out.tar`), TugError, {
    code: "NOT_FOUND",
    includes: images.small.layers[1].digest,
  });
  const left: string[] = [];
  for await (const e of Deno.readDir(tmp.dir)) left.push(e.name);
  assertEquals(left, ["store"]);
});
