import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import type { FetchLike } from "../registry/types.ts";
import {
  errorResponse,
  fakeHosts,
  fakeImage,
  fakeIndex,
  fakeRegistry,
} from "../registry/_fake_registry_test_util.ts";
import { MemoryStore } from "../store/memory_store.ts";
import type { ProgressEvent } from "./events.ts";
import { pull } from "./pull.ts";
import { shortId } from "./download_manager.ts";
import type { PullAttempt } from "./types.ts";

const V2 = "registry/2.0";
const noRetry = { attempts: 1 };

async function bytesOf(store: MemoryStore, digest: string): Promise<Uint8Array> {
  return new Uint8Array(await new Response(await store.blobs.get(digest)).arrayBuffer());
}

function attemptsOf(err: unknown): PullAttempt[] {
  return (err as { attempts: PullAttempt[] }).attempts;
}

Deno.test("pull() of a single-platform image stores blobs, manifest and both references, with Docker's events in order", async () => {
  const image = await fakeImage(3000, 1);
  const registry = fakeRegistry({ "team/app": image }, { apiVersion: V2 });
  const store = new MemoryStore();
  const events: ProgressEvent[] = [];
  const pulled: unknown[] = [];
  const result = await pull("reg.test/team/app:v1", {
    store,
    fetch: fakeHosts({ "https://reg.test": registry.fetch }).fetch,
    retry: noRetry,
    onProgress: (e) => events.push(e),
    onEvent: (e) => pulled.push(e),
  });
  assertEquals(result.digest, image.manifestDigest);
  assertEquals(result.reference, "reg.test/team/app:v1");
  assertEquals(result.status, "Downloaded newer image for reg.test/team/app:v1");
  assertEquals(result.downloaded, true);
  assertEquals(result.images.map((i) => i.descriptor.digest), [image.manifestDigest]);
  assertEquals(result.attempts.map((a) => [a.endpoint, a.outcome]), [["https://reg.test", "pulled"]]);
  assertEquals(pulled, [{ action: "pull", id: "reg.test/team/app:v1", name: "reg.test/team/app" }]);
  // The blobs, byte for byte, and the manifest as the registry sent it.
  assertEquals(await bytesOf(store, image.layerDigest), image.layer);
  assertEquals(await bytesOf(store, image.configDigest), image.config);
  assertEquals(await bytesOf(store, image.manifestDigest), image.manifest);
  // By tag and by digest, both pointing at the manifest.
  const refs = await store.references.list();
  assertEquals(refs.map((r) => [r.name, r.descriptor.digest]).sort(), [
    [`reg.test/team/app:v1`, image.manifestDigest],
    [`reg.test/team/app@${image.manifestDigest}`, image.manifestDigest],
  ]);
  // Docker's order: Pulling from, the layer from "Pulling fs layer" to "Pull complete", Digest, Status.
  const layer = shortId(image.layerDigest);
  const statuses = events.map((e) => e.id === undefined || e.id === "v1" ? e.status : `${e.id} ${e.status}`)
    .filter((s, i, all) => !s.endsWith("Downloading") || all[i - 1] !== s);
  assertEquals(statuses, [
    // Docker names the repository's path without the host.
    "Pulling from team/app",
    `${layer} Pulling fs layer`,
    `${layer} Downloading`,
    `${layer} Verifying Checksum`,
    `${layer} Download complete`,
    `${layer} Pull complete`,
    `Digest: ${image.manifestDigest}`,
    "Status: Downloaded newer image for reg.test/team/app:v1",
  ]);

  // Again: nothing is downloaded and the image is up to date. Its config is stored, so, as Docker's
  // pullSchema2 ("If the image already exists locally, no need to pull anything"), no layer line at all.
  const before = registry.requests.length;
  const again: ProgressEvent[] = [];
  const second = await pull("reg.test/team/app:v1", {
    store,
    fetch: fakeHosts({ "https://reg.test": registry.fetch }).fetch,
    retry: noRetry,
    onProgress: (e) => again.push(e),
  });
  assertEquals(second.status, "Image is up to date for reg.test/team/app:v1");
  assertEquals(second.downloaded, false);
  assertEquals(registry.requests.slice(before).filter((r) => r.includes("/blobs/")), []);
  assertEquals(again.map((e) => e.status), [
    "Pulling from team/app",
    `Digest: ${image.manifestDigest}`,
    "Status: Image is up to date for reg.test/team/app:v1",
  ]);
});

Deno.test("pull() of an index stores the platform's manifest under the tag and the index under its digest, or the whole index with allPlatforms", async () => {
  const amd64 = await fakeImage(500, 2, { os: "linux", architecture: "amd64" });
  const arm64 = await fakeImage(700, 3, { os: "linux", architecture: "arm64", variant: "v8" });
  const index = await fakeIndex([
    { image: amd64, platform: { os: "linux", architecture: "amd64" } },
    { image: arm64, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
  ]);
  const registry = fakeRegistry({ "team/multi": index }, { apiVersion: V2 });
  const fetch = fakeHosts({ "https://reg.test": registry.fetch }).fetch;

  // One platform: the reference points at that platform's manifest; the other's blobs are never asked.
  const one = new MemoryStore();
  const result = await pull("reg.test/team/multi:latest", {
    store: one,
    fetch,
    retry: noRetry,
    platform: "linux/arm64",
  });
  assertEquals(result.digest, index.manifestDigest);
  assertEquals(result.images.map((i) => i.descriptor.digest), [arm64.manifestDigest]);
  assertEquals((await one.references.get("reg.test/team/multi:latest"))?.digest, arm64.manifestDigest);
  assertEquals(await bytesOf(one, arm64.layerDigest), arm64.layer);
  assertEquals(await one.blobs.stat(amd64.layerDigest), undefined);
  // The index is kept for its digest name (Docker's addDigestReference records the digest it printed).
  assertEquals(await bytesOf(one, index.manifestDigest), index.manifest);
  assertEquals(
    (await one.references.get(`reg.test/team/multi@${index.manifestDigest}`))?.digest,
    index.manifestDigest,
  );
  assertEquals(registry.requests.some((r) => r.includes(amd64.layerDigest)), false);

  // Every platform: the index itself is stored and referenced, with both images.
  const all = new MemoryStore();
  const every = await pull("reg.test/team/multi:latest", {
    store: all,
    fetch,
    retry: noRetry,
    allPlatforms: true,
  });
  assertEquals(every.images.map((i) => i.descriptor.digest), [amd64.manifestDigest, arm64.manifestDigest]);
  assertEquals((await all.references.get("reg.test/team/multi:latest"))?.digest, index.manifestDigest);
  assertEquals(await bytesOf(all, index.manifestDigest), index.manifest);
  assertEquals(await bytesOf(all, amd64.layerDigest), amd64.layer);
  assertEquals(await bytesOf(all, arm64.layerDigest), arm64.layer);
});

Deno.test("pull() moves on from a mirror that refuses the connection to Docker Hub", async () => {
  const image = await fakeImage(400, 4);
  const hub = fakeRegistry({ "library/alpine": image }, { apiVersion: V2 });
  // mirror.test is not among the hosts: its connection is refused.
  const hosts = fakeHosts({ "https://registry-1.docker.io": hub.fetch });
  const store = new MemoryStore();
  const result = await pull("alpine", {
    store,
    fetch: hosts.fetch,
    retry: noRetry,
    mirrors: ["https://mirror.test"],
  });
  assertEquals(result.digest, image.manifestDigest);
  assertEquals(result.attempts.map((a) => [a.endpoint, a.mirror, a.outcome]), [
    ["https://mirror.test", true, "fallback"],
    ["https://registry-1.docker.io", false, "pulled"],
  ]);
  assertEquals(hosts.seen[0], "https://mirror.test");
  assertEquals((await store.references.get("docker.io/library/alpine:latest"))?.digest, image.manifestDigest);
});

Deno.test("pull() falls back from a mirror without the tag (MANIFEST_UNKNOWN) and reports Docker's not-found when none has it", async () => {
  const image = await fakeImage(300, 5);
  const mirror = fakeRegistry({ "library/alpine": image }, { apiVersion: V2, tags: ["old"] });
  const hub = fakeRegistry({ "library/alpine": image }, { apiVersion: V2 });
  const fetch = fakeHosts({ "https://mirror.test": mirror.fetch, "https://registry-1.docker.io": hub.fetch })
    .fetch;
  const result = await pull("alpine:v1", {
    store: new MemoryStore(),
    fetch,
    retry: noRetry,
    mirrors: ["https://mirror.test"],
  });
  assertEquals(result.attempts.map((a) => a.outcome), ["fallback", "pulled"]);
  assertEquals((result.attempts[0].error as TugError).code, "MANIFEST_UNKNOWN");

  // A tag nobody has: every endpoint is tried and the error names the reference as Docker does.
  const err = await assertRejects(
    () =>
      pull("alpine:nope", {
        store: new MemoryStore(),
        fetch,
        retry: noRetry,
        mirrors: ["https://mirror.test"],
      }),
    TugError,
  );
  assertEquals(err.code, "MANIFEST_UNKNOWN");
  assertEquals(err.message, "manifest for alpine:nope not found");
  assertEquals(attemptsOf(err).map((a) => a.outcome), ["fallback", "fallback"]);
});

Deno.test("pull() stops at DENIED from a registry and never tries its plain-http endpoint", async () => {
  const image = await fakeImage(200, 6);
  const denied = fakeRegistry({ "team/app": image }, {
    apiVersion: V2,
    intercept: (r) => r.url.includes("/manifests/") ? errorResponse(403, "DENIED") : undefined,
  });
  const plain = fakeRegistry({ "team/app": image }, { apiVersion: V2 });
  const store = new MemoryStore();
  const err = await assertRejects(
    () =>
      pull("reg.test/team/app:v1", {
        store,
        fetch: fakeHosts({ "https://reg.test": denied.fetch, "http://reg.test": plain.fetch }).fetch,
        retry: noRetry,
        insecureRegistries: ["reg.test"],
      }),
    TugError,
  );
  assertEquals(err.code, "DENIED");
  assertEquals(attemptsOf(err).map((a) => [a.endpoint, a.outcome]), [["https://reg.test", "stopped"]]);
  assertEquals(plain.requests, []);
  assertEquals(await store.references.list(), []);
});

Deno.test("pull() cancelled at a mirror never moves on to Docker Hub, even after a fallback error", async () => {
  const image = await fakeImage(200, 8);
  const hub = fakeRegistry({ "library/alpine": image }, { apiVersion: V2 });
  const controller = new AbortController();
  // The pull is cancelled while the mirror is asked; fetch rejects with the signal's reason, as it does.
  const mirror: FetchLike = () => {
    controller.abort(new TugError("ABORTED", "The pull was interrupted"));
    return Promise.reject(controller.signal.reason);
  };
  const err = await assertRejects(
    () =>
      pull("alpine", {
        store: new MemoryStore(),
        fetch: fakeHosts({ "https://mirror.test": mirror, "https://registry-1.docker.io": hub.fetch }).fetch,
        retry: noRetry,
        mirrors: ["https://mirror.test"],
        signal: controller.signal,
      }),
    TugError,
  );
  assertEquals(err.code, "ABORTED");
  assertEquals(hub.requests, []);
  assertEquals(attemptsOf(err).map((a) => [a.endpoint, a.outcome]), [["https://mirror.test", "stopped"]]);
  assert(attemptsOf(err)[0].reason.startsWith("cancelled: "), attemptsOf(err)[0].reason);
});

Deno.test("pull() fetches the image config once, as Docker does: a config answering 503 stops the pull with no retry countdown", async () => {
  const image = await fakeImage(300, 7);
  const registry = fakeRegistry({ "team/app": image }, {
    apiVersion: V2,
    intercept: (r) =>
      r.url.endsWith(image.configDigest) ? new Response("unavailable", { status: 503 }) : undefined,
  });
  const events: ProgressEvent[] = [];
  const slept: number[] = [];
  const err = await assertRejects(
    () =>
      pull("reg.test/team/app:v1", {
        store: new MemoryStore(),
        fetch: fakeHosts({ "https://reg.test": registry.fetch }).fetch,
        retry: { attempts: 1, sleep: (ms: number) => (slept.push(ms), Promise.resolve()) },
        onProgress: (e) => events.push(e),
      }),
    TugError,
  );
  assert(err.message.startsWith("error pulling image configuration: "), err.message);
  assertEquals(registry.requests.filter((r) => r.endsWith(image.configDigest)).length, 1);
  assertEquals(events.filter((e) => e.type === "retry"), []);
  assertEquals(slept, []);
});
