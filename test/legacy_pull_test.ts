// Legacy pull paths: the v1 registry protocol (against tug's own v1 test server, since no v1 registry is
// packaged anywhere any more) and schema 1 manifests (against the real docker-registry with
// compatibility.schema1 enabled), and the pull loop's v1 fallback rules.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { buildLayer, pushBlob, pushImage, pushManifest, sha256Digest, startRegistry } from "./harness/mod.ts";
import { buildImage } from "./harness/images.ts";
import { buildV1Image, startV1Server } from "./harness/v1_server.ts";
import { generateSigningKey, signSchema1 } from "./_schema1_sign.ts";
import { pull } from "../src/pull/pull.ts";
import { pullV1 } from "../src/pull/legacy/v1_puller.ts";
import { DownloadManager } from "../src/pull/download_manager.ts";
import { FallbackError } from "../src/pull/fallback_policy.ts";
import type { PullAttempt } from "../src/pull/pull.ts";
import type { ProgressEvent } from "../src/pull/events.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { OciLayoutStore } from "../adapters/fs/oci_layout_store.ts";
import { parseReference } from "../src/reference/parse_reference.ts";
import { parseSchema1Manifest } from "../src/manifest/schema1.ts";
import { digestBytes } from "../src/digest/digest_bytes.ts";
import { TugError } from "../src/errors.ts";
import type { ImageConfig, ImageManifest } from "../src/manifest/types.ts";
import type { Store } from "../src/store/types.ts";

const SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";

async function readJson<T>(store: Store, digest: string): Promise<T> {
  return JSON.parse(await new Response(await store.blobs.get(digest)).text()) as T;
}

async function readBytes(store: Store, digest: string): Promise<Uint8Array> {
  return new Uint8Array(await new Response(await store.blobs.get(digest)).arrayBuffer());
}

async function storedImage(store: Store, name: string) {
  const descriptor = await store.references.get(name);
  assert(descriptor, `reference ${name} stored`);
  const manifest = await readJson<ImageManifest>(store, descriptor.digest);
  const config = await readJson<ImageConfig>(store, manifest.config.digest);
  return { descriptor, manifest, config };
}

function outcomes(attempts: readonly PullAttempt[]): string[] {
  return attempts.map((a) => `${a.endpoint.split(":")[0]} v${a.version} ${a.outcome}`);
}

function attemptsOf(err: unknown): PullAttempt[] {
  return (err as { attempts: PullAttempt[] }).attempts;
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return text;
}

function threeLayers() {
  return buildV1Image([
    {
      entries: [{ path: "etc/os-release", content: "NAME=legacy\n" }],
      cmd: ["/bin/sh", "-c", "#(nop) ADD file"],
    },
    { entries: [{ path: "app/run.sh", content: "#!/bin/sh\necho hi\n", mode: 0o755 }] },
    { entries: [{ path: "app/data.txt", content: "plain tar layer\n" }], uncompressed: true },
  ], { config: { Cmd: ["/app/run.sh"], Env: ["PATH=/usr/bin:/bin"] } });
}

Deno.test("pull() falls back from v2 to v1 on a legacy host and stores a converted OCI image", async () => {
  const image = threeLayers();
  await using server = startV1Server({ repositories: { "legacy/app": { v1: image } }, requireToken: true });
  const store = new MemoryStore();
  const events: ProgressEvent[] = [];
  const name = `${server.host}/legacy/app:v1`;
  const result = await pull(name, { store, legacyRegistry: true, onProgress: (e) => events.push(e) });

  // https v2 (no TLS there) and http v2 (404 on /v2/) fall back; https v1 cannot connect; http v1 pulls.
  assertEquals(outcomes(result.attempts), [
    "https v2 fallback",
    "http v2 fallback",
    "https v1 fallback",
    "http v1 pulled",
  ]);
  assertEquals(result.status, `Downloaded newer image for ${name}`);

  const { descriptor, manifest, config } = await storedImage(store, name);
  assertEquals(result.digest, descriptor.digest);
  assertEquals(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
  assertEquals(manifest.layers.map((l) => l.digest), image.layers.map(sha256Digest));
  assertEquals(manifest.layers.map((l) => l.mediaType), [
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar",
  ]);
  for (let i = 0; i < 3; i++) {
    assertEquals(await readBytes(store, manifest.layers[i].digest), image.layers[i]);
  }
  // diffIDs are the digests of the uncompressed tars.
  assertEquals(config.rootfs, { type: "layers", diff_ids: image.tars.map(sha256Digest) });
  assertEquals(config.config?.Cmd, ["/app/run.sh"]);
  assertEquals([config.os, config.architecture], ["linux", "amd64"]);
  assertEquals(config.history?.map((h) => h.created_by), [
    "/bin/sh -c #(nop) ADD file",
    "/bin/sh -c #(nop) layer 2",
    "/bin/sh -c #(nop) layer 3",
  ]);
  assert(config.history?.every((h) => !h.empty_layer));
  const raw = config as unknown as Record<string, unknown>;
  for (const v1Only of ["id", "parent", "Size"]) assertEquals(raw[v1Only], undefined, v1Only);
  assertEquals(await store.references.get(`${server.host}/legacy/app@${descriptor.digest}`), descriptor);

  // The token dance: the index hands out a token, every image request carries it.
  const imageRequests = server.requests.filter((r) => r.path.startsWith("/v1/images/"));
  assertEquals(imageRequests.length, 3 * 3 + 1); // per layer: json, then the layer twice; + ancestry
  assert(imageRequests.every((r) => r.authorization?.startsWith("Token signature=")));
  const statuses = events.map((e) => e.status);
  for (
    const wanted of [
      `Pulling repository ${server.host}/legacy/app`,
      `Pulling image (v1) from ${server.host}/legacy/app`,
      "Pulling dependent layers",
      "Pulling metadata",
      "Pulling fs layer",
      "Download complete",
      `Status: Downloaded newer image for ${name}`,
    ]
  ) {
    assert(statuses.includes(wanted), `event "${wanted}" in ${JSON.stringify(statuses)}`);
  }

  // Again: everything is there, and it says so.
  const again = await pull(name, { store, legacyRegistry: true });
  assertEquals(again.status, `Image is up to date for ${name}`);
  assertEquals(again.digest, result.digest);
});

Deno.test("pull() resumes broken v1 layer downloads with Range, and copes with a server that ignores it", async () => {
  const random = crypto.getRandomValues(new Uint8Array(48 * 1024));
  const image = buildV1Image([{ entries: [{ path: "blob.bin", content: random }] }]);
  for (const ignoreRange of [false, true]) {
    await using server = startV1Server({
      repositories: { "legacy/big": { latest: image } },
      breakLayersAfter: 1000,
      ignoreRange,
    });
    const store = new MemoryStore();
    await pull(`${server.host}/legacy/big`, { store, legacyRegistry: true });
    const { manifest, config } = await storedImage(store, `${server.host}/legacy/big:latest`);
    assertEquals(await readBytes(store, manifest.layers[0].digest), image.layers[0]);
    assertEquals(config.rootfs.diff_ids, [sha256Digest(image.tars[0])]);
    const ranges = server.requests.filter((r) => r.range !== null).map((r) => r.range);
    assertEquals(ranges, ["bytes=1000-"], `ignoreRange ${ignoreRange}`);
  }
});

Deno.test("pullV1() refuses a digest reference with NO_SUPPORT as a fallback error, before any request", async () => {
  await using server = startV1Server({ repositories: {} });
  const ref = parseReference(`${server.host}/legacy/app@sha256:${"a".repeat(64)}`);
  const endpoint = { url: server.url, version: 1 as const, mirror: false, official: false };
  const err = await assertRejects(
    () => pullV1(endpoint, ref, new DownloadManager(), { store: new MemoryStore() }),
    FallbackError,
  );
  assert(err.err instanceof TugError && err.err.code === "NO_SUPPORT");
  assertStringIncludes(err.err.message, "Cannot pull by digest with v1 registry");
  assertEquals([err.confirmedV2, err.transportOK], [false, false]);
  assertEquals(server.requests.length, 0);
});

Deno.test("pull() by digest on a legacy host: v1 endpoints fall back with NO_SUPPORT, a v2 error is reported", async () => {
  await using server = startV1Server({ repositories: { "legacy/app": { v1: threeLayers() } } });
  const err = await assertRejects(
    () =>
      pull(`${server.host}/legacy/app@sha256:${"a".repeat(64)}`, {
        store: new MemoryStore(),
        legacyRegistry: true,
      }),
    TugError,
  );
  const attempts = attemptsOf(err);
  assertEquals(outcomes(attempts), [
    "https v2 fallback",
    "http v2 fallback",
    "https v1 fallback",
    "http v1 fallback",
  ]);
  for (const a of attempts.slice(2)) assertEquals((a.error as TugError).code, "NO_SUPPORT");
  // Docker keeps ErrNoSupport only while every error is one; the v2 404 came first, so it is reported.
  assertEquals(err.code, "MANIFEST_UNKNOWN");
  assert(!server.requests.some((r) => r.path.startsWith("/v1/")), "no v1 request for a digest");
});

Deno.test("pull() stops at a v1 registry error after the registry answered (no fallback, as pull_v1.go)", async () => {
  await using server = startV1Server({ repositories: { "legacy/app": { v1: threeLayers() } } });
  const err = await assertRejects(
    () => pull(`${server.host}/legacy/app:nope`, { store: new MemoryStore(), legacyRegistry: true }),
    TugError,
  );
  assertEquals(outcomes(attemptsOf(err)).at(-1), "http v1 stopped");
  assertStringIncludes(err.message, `Tag nope not found in repository ${server.host}/legacy/app`);
});

async function corruptBlob(storageDir: string, digest: string): Promise<void> {
  const hex = digest.slice("sha256:".length);
  const path = `${storageDir}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
  const bytes = await Deno.readFile(path);
  bytes[bytes.length - 1] ^= 0xff;
  await Deno.writeFile(path, bytes);
}

Deno.test("pull() skips v1 once v2 was confirmed by the ping header, but not after a tag-level MANIFEST_UNKNOWN", async () => {
  await using registry = await startRegistry();
  const image = await buildImage({ layers: [{ entries: [{ path: "a.txt", content: "a\n" }] }] });
  await pushImage(registry, "legacy/confirmed", image, "v1");
  await corruptBlob(registry.storageDir, image.layers[0].digest);

  // The ping says registry/2.0; the layer then fails verification, an error Docker falls back on,
  // carrying confirmedV2 — so both v1 endpoints are skipped.
  const err = await assertRejects(
    () => pull(`${registry.host}/legacy/confirmed:v1`, { store: new MemoryStore(), legacyRegistry: true }),
    TugError,
  );
  assertEquals(err.code, "DIGEST_MISMATCH");
  const attempts = attemptsOf(err);
  assertEquals(outcomes(attempts), [
    "https v2 fallback",
    "http v2 fallback",
    "https v1 skipped",
    "http v1 skipped",
  ]);
  assertStringIncludes(attempts[2].reason, "confirmed it speaks v2");

  // A missing tag is MANIFEST_UNKNOWN at tag level: allowV1Fallback does not count it as confirmation.
  const missing = await assertRejects(
    () => pull(`${registry.host}/legacy/confirmed:nope`, { store: new MemoryStore(), legacyRegistry: true }),
    TugError,
  );
  const tried = attemptsOf(missing);
  assertEquals(outcomes(tried), [
    "https v2 fallback",
    "http v2 fallback",
    "https v1 fallback",
    "http v1 stopped",
  ]);
  // docker-registry has no v1 API: the v1 puller meets a 404 on the repository and stops there.
  assertStringIncludes(missing.message, "legacy/confirmed:nope not found");
});

// Builds, signs and pushes a schema 1 manifest for `layers` (base first); the top history entry is a
// throwaway layer (the empty-layer blob) carrying the runtime config, as Docker 1.x wrote metadata-only steps.
async function pushSchema1(registryUrl: string, repo: string, tag: string) {
  const layers = [
    await buildLayer({ entries: [{ path: "etc/hostname", content: "schema1\n" }] }),
    await buildLayer({ entries: [{ path: "usr/bin/tool", content: "#!/bin/sh\n", mode: 0o755 }] }),
  ];
  const empty = await buildLayer({ entries: [] });
  for (const blob of [...layers, empty]) await pushBlob(registryUrl, repo, blob);
  const ids = ["1", "2", "3"].map((c) => c.repeat(64));
  const v1 = [
    {
      id: ids[0],
      created: "2016-01-01T00:00:00Z",
      container_config: { Cmd: ["/bin/sh", "-c", "#(nop) ADD base"] },
    },
    {
      id: ids[1],
      parent: ids[0],
      created: "2016-01-02T00:00:00Z",
      author: "tug <tug@example.com>",
      container_config: { Cmd: ["/bin/sh", "-c", "#(nop) COPY tool"] },
    },
    {
      id: ids[2],
      parent: ids[1],
      created: "2016-01-03T00:00:00Z",
      container_config: { Cmd: ["/bin/sh", "-c", '#(nop) CMD ["tool"]'] },
      config: { Cmd: ["tool"], Labels: { "a<b": "x&y" } },
      architecture: "amd64",
      os: "linux",
      docker_version: "1.12.0",
      throwaway: true,
    },
  ];
  const content = new TextEncoder().encode(JSON.stringify(
    {
      schemaVersion: 1,
      name: repo,
      tag,
      architecture: "amd64",
      fsLayers: [empty, layers[1], layers[0]].map((l) => ({ blobSum: l.digest })),
      history: [v1[2], v1[1], v1[0]].map((h) => ({ v1Compatibility: JSON.stringify(h) })),
    },
    null,
    3,
  ));
  const signed = await signSchema1(content, [await generateSigningKey()]);
  const pushedDigest = await pushManifest(registryUrl, repo, tag, signed, SCHEMA1_SIGNED);
  return { layers, empty, signed, canonicalDigest: await digestBytes(content), pushedDigest };
}

Deno.test("pull() reads a signed schema 1 image from docker-registry into an OCI layout skopeo and umoci read", async () => {
  await using registry = await startRegistry({ schema1: true });
  const pushed = await pushSchema1(registry.url, "legacy/s1", "v1");
  // The registry verified the signature and names the manifest by its canonical payload.
  assertEquals(pushed.pushedDigest, pushed.canonicalDigest);

  const dir = await Deno.makeTempDir({ prefix: "tug-legacy-" });
  try {
    const store = await OciLayoutStore.open(dir);
    const name = `${registry.host}/legacy/s1:v1`;
    const events: ProgressEvent[] = [];
    const result = await pull(name, { store, onProgress: (e) => events.push(e) });
    assertEquals(result.digest, pushed.canonicalDigest);
    assert(events.some((e) => e.status === `Digest: ${pushed.canonicalDigest}`));
    assert(events.some((e) => e.status.startsWith("[DEPRECATION NOTICE] registry v2 schema1")));

    const { descriptor, manifest, config } = await storedImage(store, name);
    // The throwaway layer is not downloaded nor listed; its history entry says empty_layer.
    assertEquals(manifest.layers.map((l) => l.digest), pushed.layers.map((l) => l.digest));
    assertEquals(await store.blobs.stat(pushed.empty.digest), undefined);
    assertEquals(config.rootfs.diff_ids, pushed.layers.map((l) => l.diffId));
    assertEquals(config.history, [
      { created: "2016-01-01T00:00:00Z", created_by: "/bin/sh -c #(nop) ADD base" },
      {
        created: "2016-01-02T00:00:00Z",
        author: "tug <tug@example.com>",
        created_by: "/bin/sh -c #(nop) COPY tool",
      },
      { created: "2016-01-03T00:00:00Z", created_by: '/bin/sh -c #(nop) CMD ["tool"]', empty_layer: true },
    ]);
    assertEquals(config.config?.Cmd, ["tool"]);
    // Written as Go's json.Marshal writes a map: keys sorted, <, > and & escaped.
    const configText = new TextDecoder().decode(await readBytes(store, manifest.config.digest));
    assertStringIncludes(configText, '"a\\u003cb":"x\\u0026y"');
    assertEquals(Object.keys(JSON.parse(configText)), [
      "architecture",
      "config",
      "container_config",
      "created",
      "docker_version",
      "history",
      "os",
      "rootfs",
    ]);

    const inspected = JSON.parse(await run("skopeo", ["inspect", `oci:${dir}:${name}`]));
    assertEquals(inspected.Digest, descriptor.digest);
    assertEquals(inspected.Layers, pushed.layers.map((l) => l.digest));
    const bundle = `${dir}-bundle`;
    try {
      // umoci checks every layer against its diffID while unpacking.
      await run("umoci", ["unpack", "--rootless", "--image", `${dir}:${name}`, bundle]);
      assertEquals(await Deno.readTextFile(`${bundle}/rootfs/etc/hostname`), "schema1\n");
      assertEquals(await Deno.readTextFile(`${bundle}/rootfs/usr/bin/tool`), "#!/bin/sh\n");
    } finally {
      await Deno.remove(bundle, { recursive: true }).catch(() => {});
    }

    // By the canonical digest: the same converted image.
    const byDigest = new MemoryStore();
    const again = await pull(`${registry.host}/legacy/s1@${pushed.canonicalDigest}`, { store: byDigest });
    assertEquals(again.digest, pushed.canonicalDigest);
    assertEquals(
      (await byDigest.references.get(`${registry.host}/legacy/s1@${pushed.canonicalDigest}`))?.digest,
      descriptor.digest,
    );
    // The digest of the bytes as sent (signatures included) is not the manifest's digest.
    const wrong = await digestBytes(pushed.signed);
    await assertRejects(
      () => pull(`${registry.host}/legacy/s1@${wrong}`, { store: new MemoryStore() }),
      TugError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pull() reads the schema 1 manifest docker-registry converts and signs itself", async () => {
  await using registry = await startRegistry({ schema1: true });
  const image = await buildImage({
    layers: [{ entries: [{ path: "one.txt", content: "1\n" }] }, {
      entries: [{ path: "two.txt", content: "2\n" }],
    }],
    config: { Cmd: ["cat", "/one.txt"] },
  });
  await pushImage(registry, "legacy/conv", image, "v2");
  // Asking for schema 1 only makes the registry convert the schema 2 image and sign it with its own key.
  const res = await fetch(`${registry.url}/v2/legacy/conv/manifests/v2`, {
    headers: { accept: SCHEMA1_SIGNED },
  });
  const signed = new Uint8Array(await res.arrayBuffer());
  assertEquals(res.headers.get("content-type"), SCHEMA1_SIGNED);
  const parsed = parseSchema1Manifest(signed);
  assert(parsed.signed);
  assertEquals(await digestBytes(parsed.canonical), res.headers.get("docker-content-digest"));
  await pushManifest(registry.url, "legacy/conv", "s1", signed, SCHEMA1_SIGNED);

  const store = new MemoryStore();
  const result = await pull(`${registry.host}/legacy/conv:s1`, { store });
  assertEquals(result.digest, res.headers.get("docker-content-digest"));
  const { manifest, config } = await storedImage(store, `${registry.host}/legacy/conv:s1`);
  assertEquals(manifest.layers.map((l) => l.digest), image.layers.map((l) => l.digest));
  assertEquals(config.rootfs.diff_ids, image.layers.map((l) => l.diffId));
  assertEquals(config.config?.Cmd, ["cat", "/one.txt"]);
});
