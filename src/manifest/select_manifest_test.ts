import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_MANIFEST } from "./media_types.ts";
import { parsePlatform } from "./parse_platform.ts";
import { selectManifest } from "./select_manifest.ts";
import type { Descriptor, ImageIndex, Platform } from "./types.ts";

let counter = 0;
function entry(platform?: Platform): Descriptor {
  const d: Descriptor = {
    mediaType: MEDIA_TYPE_OCI_MANIFEST,
    digest: `sha256:${(++counter).toString(16).padStart(64, "0")}`,
    size: 500,
  };
  if (platform) d.platform = platform;
  return d;
}
const index = (...manifests: Descriptor[]): ImageIndex => ({
  schemaVersion: 2,
  mediaType: MEDIA_TYPE_OCI_INDEX,
  manifests,
});

// An index shaped like a Docker Hub official image built by buildx, attestations included.
const amd64 = entry({ os: "linux", architecture: "amd64" });
const armv6 = entry({ os: "linux", architecture: "arm", variant: "v6" });
const armv7 = entry({ os: "linux", architecture: "arm", variant: "v7" });
const arm64 = entry({ os: "linux", architecture: "arm64", variant: "v8" });
const i386 = entry({ os: "linux", architecture: "386" });
const attest = entry({ os: "unknown", architecture: "unknown" });
const hub = index(
  amd64,
  attest,
  armv6,
  armv7,
  arm64,
  i386,
  entry({ os: "unknown", architecture: "unknown" }),
);

Deno.test("selectManifest() picks amd64", () => {
  assertEquals(selectManifest(hub, parsePlatform("linux/amd64")), amd64);
});

Deno.test("selectManifest() picks arm64/v8 whether or not either side spells the variant", () => {
  assertEquals(selectManifest(hub, parsePlatform("linux/arm64")), arm64);
  assertEquals(selectManifest(hub, { os: "linux", architecture: "aarch64" }), arm64);
  const bare = entry({ os: "linux", architecture: "arm64" });
  assertEquals(selectManifest(index(amd64, bare), parsePlatform("linux/arm64/v8")), bare);
});

Deno.test("selectManifest() picks arm/v7, and falls back to v6 then v5 when v7 is absent", () => {
  assertEquals(selectManifest(hub, parsePlatform("linux/arm/v7")), armv7);
  assertEquals(selectManifest(hub, parsePlatform("linux/arm")), armv7);
  assertEquals(selectManifest(hub, parsePlatform("linux/arm/v6")), armv6);
  const v5 = entry({ os: "linux", architecture: "arm", variant: "v5" });
  assertEquals(selectManifest(index(v5, armv6, amd64), parsePlatform("linux/arm/v7")), armv6, "v6 beats v5");
  assertEquals(selectManifest(index(v5, amd64), parsePlatform("linux/arm/v7")), v5);
});

Deno.test("selectManifest() prefers the exact platform over a fallback listed earlier", () => {
  const v3 = entry({ os: "linux", architecture: "amd64", variant: "v3" });
  assertEquals(selectManifest(index(amd64, i386, v3), parsePlatform("linux/amd64/v3")), v3);
  assertEquals(selectManifest(index(i386, amd64), parsePlatform("linux/amd64")), amd64);
  assertEquals(selectManifest(index(i386), parsePlatform("linux/amd64")), i386, "386 as a last resort");
  assertEquals(selectManifest(index(armv7, arm64), parsePlatform("linux/arm64")), arm64);
  assertEquals(
    selectManifest(index(amd64, armv7), parsePlatform("linux/arm64")),
    armv7,
    "32-bit arm for arm64",
  );
});

Deno.test("selectManifest() takes the first of equally good entries in index order", () => {
  const first = entry({ os: "linux", architecture: "amd64" });
  const second = entry({ os: "linux", architecture: "x86_64" });
  assertEquals(selectManifest(index(first, second), parsePlatform("linux/amd64")), first);
});

Deno.test("selectManifest() skips entries without a platform and unknown/unknown attestations", () => {
  const noPlatform = entry();
  assertThrows(
    () => selectManifest(index(noPlatform, attest), { os: "unknown", architecture: "unknown" }),
    TugError,
    {
      code: "PLATFORM_NOT_FOUND",
      includes: "(available: none)",
    },
  );
  assertEquals(selectManifest(index(noPlatform, attest, amd64), parsePlatform("linux/amd64")), amd64);
});

Deno.test("selectManifest() lists the available platforms when nothing matches", () => {
  const err = assertThrows(
    () => selectManifest(index(amd64, attest, arm64), parsePlatform("linux/s390x")),
    TugError,
    {
      code: "PLATFORM_NOT_FOUND",
    },
  );
  assertEquals(
    err.message,
    "no matching manifest for linux/s390x in the manifest list entries (available: linux/amd64, linux/arm64/v8)",
  );
  assertEquals(err.detail, {
    wanted: { os: "linux", architecture: "s390x" },
    available: ["linux/amd64", "linux/arm64/v8"],
  });
});

Deno.test("selectManifest() does not match another os or a newer variant", () => {
  const win = entry({ os: "windows", architecture: "amd64", "os.version": "10.0.20348.2582" });
  assertThrows(() => selectManifest(index(win), parsePlatform("linux/amd64")), TugError, {
    code: "PLATFORM_NOT_FOUND",
    includes: "(available: windows/amd64)",
  });
  assertThrows(() => selectManifest(index(armv7), parsePlatform("linux/arm/v6")), TugError, {
    code: "PLATFORM_NOT_FOUND",
    includes: "no matching manifest for linux/arm/v6 in the manifest list entries",
  });
});

Deno.test("selectManifest() lists each available platform once", () => {
  const err = assertThrows(
    () => selectManifest(index(amd64, amd64, armv7), parsePlatform("linux/ppc64le")),
    TugError,
  );
  assertEquals((err.detail as { available: string[] }).available, ["linux/amd64", "linux/arm/v7"]);
});

Deno.test("selectManifest() throws a TypeError for something that is not an index", () => {
  assertThrows(() => selectManifest({} as ImageIndex, parsePlatform("linux/amd64")), TypeError);
});
