import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../test/_assert.ts";
import { buildImage, type BuiltImage, sha256Digest } from "../../test/harness/images.ts";
import { runStoreContract } from "../../test/store_contract.ts";
import { OciLayoutStore } from "./oci_layout_store.ts";
import { TugError } from "../../src/errors.ts";
import type { Descriptor } from "../../src/manifest/types.ts";

runStoreContract("OciLayoutStore", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tug-oci-layout-" });
  return { store: await OciLayoutStore.open(dir), cleanup: () => Deno.remove(dir, { recursive: true }) };
});

const encoder = new TextEncoder();
const MANIFEST = "application/vnd.oci.image.manifest.v1+json";

async function withLayout(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tug-oci-layout-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function runOk(cmd: string, args: string[]): Promise<string> {
  const out = await run(cmd, args);
  assertEquals(out.code, 0, `${cmd} ${args.join(" ")} failed: ${out.stderr}`);
  return out.stdout;
}

/** The PID of a process that has exited (not reused within a test's lifetime on a quiet machine). */
/** A PID no process can have: the kernel hands out PIDs below pid_max, so a finished child's PID (which a
 * busy machine may soon reuse) is not used. */
async function deadPid(): Promise<number> {
  return Number((await Deno.readTextFile("/proc/sys/kernel/pid_max")).trim());
}

async function putImage(store: OciLayoutStore, image: BuiltImage, names: string[]): Promise<Descriptor> {
  const blobs = [...image.blobs, {
    digest: image.manifestDigest,
    size: image.manifestBytes.length,
    bytes: image.manifestBytes,
  }];
  for (const blob of blobs) {
    const writer = await store.blobs.writer({ digest: blob.digest, size: blob.size });
    await writer.write(blob.bytes);
    await writer.commit();
  }
  const descriptor = {
    mediaType: image.manifestMediaType,
    digest: image.manifestDigest,
    size: image.manifestBytes.length,
  };
  for (const name of names) await store.references.set(name, descriptor);
  return descriptor;
}

async function readIndex(dir: string): Promise<{ manifests: Descriptor[] }> {
  return JSON.parse(await Deno.readTextFile(join(dir, "index.json")));
}

Deno.test("OciLayoutStore.open() creates oci-layout, index.json and .tug/, and reopens a layout unchanged", async () => {
  await withLayout(async (dir) => {
    const layout = join(dir, "nested", "layout");
    const store = await OciLayoutStore.open(layout);
    assertEquals(store.dir, layout);
    assertEquals(JSON.parse(await Deno.readTextFile(join(layout, "oci-layout"))), {
      imageLayoutVersion: "1.0.0",
    });
    assertEquals(await readIndex(layout), {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [],
    });
    assert((await Deno.stat(join(layout, "blobs", "sha256"))).isDirectory);
    assert((await Deno.stat(join(layout, ".tug", "tmp"))).isDirectory);
    assert((await Deno.stat(join(layout, ".tug", "partial"))).isDirectory);

    const descriptor = { mediaType: MANIFEST, digest: `sha256:${"a".repeat(64)}`, size: 1 };
    await store.references.set("example.com/x:1", descriptor);
    const before = await Deno.readTextFile(join(layout, "index.json"));
    const again = await OciLayoutStore.open(layout);
    assertEquals(await Deno.readTextFile(join(layout, "index.json")), before);
    assertEquals(await again.references.get("example.com/x:1"), descriptor);
  });
});

Deno.test("OciLayoutStore.open() refuses a corrupt index.json or oci-layout with STORE_CORRUPT", async () => {
  await withLayout(async (dir) => {
    await Deno.writeTextFile(join(dir, "index.json"), "{not json");
    await assertRejects(() => OciLayoutStore.open(dir), Error, {
      code: "STORE_CORRUPT",
      includes: "index.json",
    });
    await Deno.writeTextFile(join(dir, "index.json"), '{"schemaVersion":2}');
    await assertRejects(() => OciLayoutStore.open(dir), Error, {
      code: "STORE_CORRUPT",
      includes: "manifests",
    });
    await Deno.writeTextFile(join(dir, "index.json"), '{"schemaVersion":2,"manifests":[]}');
    await Deno.writeTextFile(join(dir, "oci-layout"), "[");
    await assertRejects(() => OciLayoutStore.open(dir), Error, {
      code: "STORE_CORRUPT",
      includes: "oci-layout",
    });
  });
});

Deno.test("OciLayoutStore writers leave no temp file after commit() or abort(); keepPartial leaves one partial", async () => {
  await withLayout(async (dir) => {
    const store = await OciLayoutStore.open(dir);
    const data = encoder.encode("x".repeat(3000));
    const digest = sha256Digest(data);
    const committed = await store.blobs.writer({ digest, size: data.length });
    await committed.write(data);
    assertEquals((await store.listTemp()).length, 1, "an open write has a temp file");
    await committed.commit();
    assertEquals(await store.listTemp(), []);
    assertEquals(await Deno.readFile(join(dir, "blobs", "sha256", digest.slice(7))), data);

    const aborted = await store.blobs.writer({ digest, size: data.length });
    await aborted.write(data);
    await aborted.abort();
    const short = await store.blobs.writer({ digest, size: data.length });
    await short.write(data.subarray(1));
    await assertRejects(() => short.commit(), Error, { code: "SIZE_MISMATCH" });
    assertEquals(await store.listTemp(), []);

    const kept = await store.blobs.writer({ digest, size: data.length });
    await kept.write(data.subarray(0, 1234));
    await kept.abort({ keepPartial: true });
    const temps = await store.listTemp();
    assertEquals(temps.map((t) => [t.kind, t.size, t.path]), [
      ["partial", 1234, join(dir, ".tug", "partial", `sha256-${digest.slice(7)}`)],
    ]);
  });
});

Deno.test("OciLayoutStore writer({ resume }) continues a partial file left before the store was opened", async () => {
  await withLayout(async (dir) => {
    await OciLayoutStore.open(dir);
    const data = encoder.encode("0123456789".repeat(500));
    const digest = sha256Digest(data);
    await Deno.writeFile(join(dir, ".tug", "partial", `sha256-${digest.slice(7)}`), data.subarray(0, 2048));

    const store = await OciLayoutStore.open(dir);
    const writer = await store.blobs.writer({ digest, size: data.length }, { resume: true });
    assertEquals(writer.offset, 2048);
    assertEquals(
      new Uint8Array(await new Response(writer.readPartial()).arrayBuffer()),
      data.subarray(0, 2048),
    );
    await writer.write(data.subarray(2048));
    await writer.commit();
    assertEquals(await Deno.readFile(join(dir, "blobs", "sha256", digest.slice(7))), data);
    assertEquals(await store.listTemp(), []);
  });
});

Deno.test("OciLayoutStore writer({ resume }) adopts the temp file of a dead process, never of a live one", async () => {
  await withLayout(async (dir) => {
    const store = await OciLayoutStore.open(dir);
    const data = encoder.encode("abcdefgh".repeat(1000));
    const digest = sha256Digest(data);
    const hex = digest.slice(7);
    const live = join(dir, ".tug", "tmp", `sha256-${hex}.${Deno.pid}.live1`);
    await Deno.writeFile(live, data.subarray(0, 100));
    const fresh = await store.blobs.writer({ digest, size: data.length }, { resume: true });
    assertEquals(fresh.offset, 0, "a live process's write is not taken over");
    await fresh.abort();

    const pid = await deadPid();
    const orphan = join(dir, ".tug", "tmp", `sha256-${hex}.${pid}.dead1`);
    await Deno.writeFile(orphan, data.subarray(0, 3000));
    const listed = await store.listTemp();
    // listTemp() sorts by path, and the PIDs in the names decide that order: compare as sets.
    const byPath = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
    assertEquals(
      listed.map((t) => [t.path, t.pid, t.inUse]).sort(byPath),
      [[live, Deno.pid, true], [orphan, pid, false]].sort(byPath),
    );

    const resumed = await store.blobs.writer({ digest, size: data.length }, { resume: true });
    assertEquals(resumed.offset, 3000);
    await resumed.write(data.subarray(3000));
    await resumed.commit();
    assertEquals(await Deno.readFile(join(dir, "blobs", "sha256", hex)), data);

    await Deno.writeFile(orphan, data.subarray(0, 10));
    const removed = await store.removeTemp();
    assertEquals(removed.map((t) => t.path), [orphan], "removeTemp() keeps the live process's file");
    assertEquals((await store.listTemp()).map((t) => t.path), [live]);
  });
});

Deno.test("OciLayoutStore.references: index.json entries carry the full name in both name annotations", async () => {
  await withLayout(async (dir) => {
    const store = await OciLayoutStore.open(dir);
    const digest = `sha256:${"b".repeat(64)}`;
    const descriptor: Descriptor = {
      mediaType: MANIFEST,
      digest,
      size: 42,
      annotations: { "com.example.k": "v" },
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
    };
    await store.references.set("docker.io/library/alpine:3.20", descriptor);
    await store.references.set(`docker.io/library/alpine@${digest}`, descriptor);
    const index = await readIndex(dir);
    assertEquals([...index.manifests], [
      {
        ...descriptor,
        annotations: {
          "com.example.k": "v",
          "org.opencontainers.image.ref.name": "docker.io/library/alpine:3.20",
          "io.containerd.image.name": "docker.io/library/alpine:3.20",
        },
      },
      {
        ...descriptor,
        annotations: {
          "com.example.k": "v",
          "org.opencontainers.image.ref.name": `docker.io/library/alpine@${digest}`,
          "io.containerd.image.name": `docker.io/library/alpine@${digest}`,
        },
      },
    ]);
    assertEquals(await store.references.get("docker.io/library/alpine:3.20"), descriptor);

    // An entry another tool wrote (skopeo copy … oci:DIR:v2) has only ref.name; it is listed under it.
    index.manifests.push({
      mediaType: MANIFEST,
      digest,
      size: 42,
      annotations: { "org.opencontainers.image.ref.name": "v2" },
    });
    index.manifests.push({ mediaType: MANIFEST, digest, size: 42 });
    await Deno.writeTextFile(join(dir, "index.json"), JSON.stringify(index));
    assertEquals((await store.references.list()).map((r) => r.name), [
      "docker.io/library/alpine:3.20",
      `docker.io/library/alpine@${digest}`,
      "v2",
    ]);
    assertEquals(await store.references.get("v2"), { mediaType: MANIFEST, digest, size: 42 });
    assertEquals(await store.references.delete("v2"), true);
    assertEquals((await readIndex(dir)).manifests.length, 3, "the unnamed entry stays");
  });
});

Deno.test("OciLayoutStore.references from two processes at once: 50 set() calls each all land", async () => {
  await withLayout(async (dir) => {
    await OciLayoutStore.open(dir);
    const script = new URL("./testdata/add_references.ts", import.meta.url).pathname;
    const results = await Promise.all(
      ["one.example/a", "two.example/b"].map((prefix) =>
        run(Deno.execPath(), ["run", "-A", script, dir, prefix, "50"])
      ),
    );
    for (const r of results) assertEquals(r.code, 0, r.stderr);
    const index = await readIndex(dir);
    const names = index.manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"]).sort();
    const expected = ["one.example/a", "two.example/b"].flatMap((p) =>
      Array.from({ length: 50 }, (_, i) => `${p}/image:${i}`)
    ).sort();
    assertEquals(names, expected);
    const store = await OciLayoutStore.open(dir);
    assertEquals((await store.references.list()).length, 100);
    await assertRejects(() => Deno.stat(join(dir, ".tug", "index.lock")), Deno.errors.NotFound);
    assertEquals(await store.listTemp(), []);
  });
});

Deno.test("OciLayoutStore.references breaks a lock left by a dead process and times out on a live one", async () => {
  await withLayout(async (dir) => {
    const store = await OciLayoutStore.open(dir, { lockTimeout: 300 });
    const lock = join(dir, ".tug", "index.lock");
    const descriptor = { mediaType: MANIFEST, digest: `sha256:${"c".repeat(64)}`, size: 1 };
    await Deno.writeTextFile(lock, JSON.stringify({ pid: await deadPid(), host: Deno.hostname() }));
    await store.references.set("example.com/x:1", descriptor);
    assertEquals(await store.references.get("example.com/x:1"), descriptor);

    await Deno.writeTextFile(lock, JSON.stringify({ pid: Deno.pid, host: Deno.hostname() }));
    const started = Date.now();
    await assertRejects(() => store.references.set("example.com/x:2", descriptor), Error, {
      code: "STORE_IO",
      includes: "index.lock",
    });
    assert(Date.now() - started < 5000, "the wait is bounded by lockTimeout");
    await Deno.remove(lock);
    await store.references.set("example.com/x:2", descriptor);
  });
});

Deno.test("OciLayoutStore layout is read by skopeo (inspect, copy) and umoci (ls, unpack) by full name", async () => {
  await withLayout(async (dir) => {
    const store = await OciLayoutStore.open(dir);
    const image = await buildImage({
      format: "oci",
      layers: [{ entries: [{ path: "hello.txt", content: "hi from tug\n" }] }],
    });
    const name = "127.0.0.1:5000/small:v1";
    const byDigest = `127.0.0.1:5000/small@${image.manifestDigest}`;
    await putImage(store, image, [name, "docker.io/library/alpine:3.20", byDigest]);

    for (const ref of [name, "docker.io/library/alpine:3.20", byDigest]) {
      const inspected = JSON.parse(await runOk("skopeo", ["inspect", `oci:${dir}:${ref}`]));
      assertEquals(inspected.Digest, image.manifestDigest, ref);
      assertEquals(inspected.Layers, [image.layers[0].digest]);
    }
    const out = join(dir, "..", `${dir.split("/").pop()}-copy`);
    try {
      await runOk("skopeo", ["copy", "-q", `oci:${dir}:${name}`, `dir:${out}`]);
      assertEquals(await Deno.readFile(join(out, "manifest.json")), image.manifestBytes);
      assertEquals(
        await Deno.readFile(join(out, image.layers[0].digest.slice(7))),
        new Uint8Array(image.layers[0].bytes),
      );
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }

    const listed = (await runOk("umoci", ["ls", "--layout", dir])).trim().split("\n").sort();
    assertEquals(listed, [byDigest, name, "docker.io/library/alpine:3.20"].sort());
    const bundle = join(dir, "..", `${dir.split("/").pop()}-bundle`);
    try {
      await runOk("umoci", ["unpack", "--rootless", "--image", `${dir}:${name}`, bundle]);
      assertEquals(await Deno.readTextFile(join(bundle, "rootfs", "hello.txt")), "hi from tug\n");
    } finally {
      await Deno.remove(bundle, { recursive: true }).catch(() => {});
    }
  });
});

Deno.test("OciLayoutStore holding a Docker schema2 image: skopeo reads it without a name, umoci lists it", async () => {
  // skopeo 1.9.3 resolves oci:DIR:NAME only for entries with OCI media types; a layout holding one image
  // is addressed without a name.
  await withLayout(async (dir) => {
    const store = await OciLayoutStore.open(dir);
    const image = await buildImage({ layers: [{ entries: [{ path: "a.txt", content: "a\n" }] }] });
    assertEquals(image.manifestMediaType, "application/vnd.docker.distribution.manifest.v2+json");
    await putImage(store, image, ["127.0.0.1:5000/docker-typed:v1"]);
    const inspected = JSON.parse(await runOk("skopeo", ["inspect", `oci:${dir}`]));
    assertEquals(inspected.Digest, image.manifestDigest);
    const raw = await runOk("skopeo", ["inspect", "--raw", `oci:${dir}`]);
    assertEquals(encoder.encode(raw), image.manifestBytes);
    assertStringIncludes(await runOk("umoci", ["ls", "--layout", dir]), "127.0.0.1:5000/docker-typed:v1");
  });
});

Deno.test("OciLayoutStore blobs.get() reads multi-MiB blobs and ranges, with responseStreams off and on", async () => {
  await withLayout(async (dir) => {
    // 3 MiB + 17 bytes: several 1 MiB reads and a short last one.
    const data = new Uint8Array(3 * (1 << 20) + 17).map((_, i) => (i * 7) % 251);
    const digest = await sha256Digest(data);
    for (const responseStreams of [false, true]) {
      const store = await OciLayoutStore.open(dir, { fsync: false, responseStreams });
      if ((await store.blobs.stat(digest)) === undefined) {
        const writer = await store.blobs.writer({ digest, size: data.length });
        await writer.write(data);
        await writer.commit();
      }
      const cases: [{ start: number; end?: number } | undefined, Uint8Array][] = [
        [undefined, data],
        [{ start: 1000 }, data.subarray(1000)],
        [{ start: 5, end: 2_500_000 }, data.subarray(5, 2_500_000)],
        [{ start: data.length }, new Uint8Array(0)],
      ];
      for (const [range, expected] of cases) {
        const got = new Uint8Array(await new Response(await store.blobs.get(digest, range)).arrayBuffer());
        assertEquals(
          got.length,
          expected.length,
          `responseStreams ${responseStreams}, ${JSON.stringify(range)}`,
        );
        assert(got.every((b, i) => b === expected[i]), `bytes differ: ${JSON.stringify(range)}`);
      }
      // Cancelled after one chunk: the file is closed (the test's resource sanitizer checks it).
      const reader = (await store.blobs.get(digest)).getReader();
      assert(!(await reader.read()).done);
      await reader.cancel();
      await assertRejects(() => store.blobs.get(`sha256:${"0".repeat(64)}`), TugError, { code: "NOT_FOUND" });
    }
  });
});
