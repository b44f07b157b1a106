import { assertEquals, assertRejects } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import {
  errorResponse,
  fakeHosts,
  fakeImage,
  fakeIndex,
  fakeRegistry,
} from "../registry/_fake_registry_test_util.ts";
import { inspectRemote } from "./inspect_remote.ts";

const V2 = "registry/2.0";

Deno.test("inspectRemote() reads an image's manifest and config and asks for no layer", async () => {
  const image = await fakeImage(900, 1);
  const registry = fakeRegistry({ "team/app": image }, { apiVersion: V2 });
  const got = await inspectRemote("reg.test/team/app:v1", {
    fetch: fakeHosts({ "https://reg.test": registry.fetch }).fetch,
  });
  assertEquals(got.reference, "reg.test/team/app:v1");
  assertEquals(got.registry, "https://reg.test");
  assertEquals(got.descriptor.digest, image.manifestDigest);
  assertEquals(got.manifestDescriptor.digest, image.manifestDigest);
  assertEquals(got.index, undefined);
  assertEquals(got.manifest.layers.map((l) => l.digest), [image.layerDigest]);
  assertEquals(got.config.rootfs?.diff_ids, [image.layerDigest]);
  assertEquals(registry.requests.some((r) => r.includes(image.layerDigest)), false);
});

Deno.test("inspectRemote() resolves an index to the asked platform", async () => {
  const amd64 = await fakeImage(100, 2, { os: "linux", architecture: "amd64" });
  const arm64 = await fakeImage(100, 3, { os: "linux", architecture: "arm64", variant: "v8" });
  const index = await fakeIndex([
    { image: amd64, platform: { os: "linux", architecture: "amd64" } },
    { image: arm64, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
  ]);
  const fetch =
    fakeHosts({ "https://reg.test": fakeRegistry({ "team/multi": index }, { apiVersion: V2 }).fetch })
      .fetch;
  const arm = await inspectRemote("reg.test/team/multi", { fetch, platform: "linux/arm64" });
  assertEquals(arm.reference, "reg.test/team/multi:latest");
  assertEquals(arm.descriptor.digest, index.manifestDigest);
  assertEquals(arm.index?.manifests.length, 2);
  assertEquals(arm.manifestDescriptor.digest, arm64.manifestDigest);
  assertEquals(arm.config.architecture, "arm64");
  // The default platform is linux/amd64.
  const amd = await inspectRemote("reg.test/team/multi:latest", { fetch });
  assertEquals(amd.manifestDescriptor.digest, amd64.manifestDigest);
  assertEquals(amd.config.architecture, "amd64");
});

Deno.test("inspectRemote() moves on from a refused mirror and from one without the tag, and stops at DENIED", async () => {
  const image = await fakeImage(100, 4);
  const hub = fakeRegistry({ "library/alpine": image }, { apiVersion: V2 });
  // A refused mirror (not among the hosts), then a mirror without the tag, then Docker Hub.
  const empty = fakeRegistry({ "library/alpine": image }, { apiVersion: V2, tags: ["other"] });
  const got = await inspectRemote("alpine", {
    fetch: fakeHosts({ "https://empty.test": empty.fetch, "https://registry-1.docker.io": hub.fetch }).fetch,
    mirrors: ["https://refused.test", "https://empty.test"],
  });
  assertEquals(got.registry, "https://registry-1.docker.io");
  assertEquals(got.descriptor.digest, image.manifestDigest);
  assertEquals(empty.requests.some((r) => r.includes("/manifests/latest")), true);

  // DENIED from a registry that is not a mirror ends the inspection: its http endpoint is not asked.
  const denied = fakeRegistry({ "team/app": image }, {
    apiVersion: V2,
    intercept: (r) => r.url.includes("/manifests/") ? errorResponse(403, "DENIED") : undefined,
  });
  const plain = fakeRegistry({ "team/app": image }, { apiVersion: V2 });
  const err = await assertRejects(
    () =>
      inspectRemote("reg.test/team/app:v1", {
        fetch: fakeHosts({ "https://reg.test": denied.fetch, "http://reg.test": plain.fetch }).fetch,
        insecureRegistries: ["reg.test"],
      }),
    TugError,
  );
  assertEquals(err.code, "DENIED");
  assertEquals(plain.requests, []);
});

Deno.test("inspectRemote() refuses a config whose bytes do not hash to its digest", async () => {
  const image = await fakeImage(100, 5);
  const registry = fakeRegistry({ "team/app": image }, {
    apiVersion: V2,
    intercept: (r) =>
      r.url.endsWith(image.configDigest)
        ? new Response(new Uint8Array(image.config.length).fill(32), {
          headers: { "content-length": String(image.config.length) },
        })
        : undefined,
  });
  const err = await assertRejects(
    () =>
      inspectRemote("reg.test/team/app:v1", {
        fetch: fakeHosts({ "https://reg.test": registry.fetch }).fetch,
      }),
    TugError,
  );
  assertEquals(err.code, "DIGEST_MISMATCH");
});
