import { assertEquals } from "../../test/_assert.ts";
import type { Descriptor, ImageIndex } from "../../src/mod.ts";
import { describeIndexEntry } from "./index_entries.ts";

const M = "application/vnd.oci.image.manifest.v1+json";
const amd64: Descriptor = {
  mediaType: M,
  digest: `sha256:${"a".repeat(64)}`,
  size: 10,
  platform: { os: "linux", architecture: "arm64", variant: "v8" },
};
const attestation = (subject: string): Descriptor => ({
  mediaType: M,
  digest: `sha256:${"b".repeat(64)}`,
  size: 20,
  platform: { os: "unknown", architecture: "unknown" },
  annotations: {
    "vnd.docker.reference.type": "attestation-manifest",
    "vnd.docker.reference.digest": subject,
  },
});

Deno.test("describeIndexEntry() labels a buildx attestation with the platform of the manifest it attests", () => {
  const att = attestation(amd64.digest);
  const index: ImageIndex = { schemaVersion: 2, manifests: [amd64, att] };
  assertEquals(describeIndexEntry(index, att), {
    kind: "attestation",
    label: "attestation for linux/arm64/v8",
    subject: amd64.digest,
  });
  assertEquals(describeIndexEntry(index, amd64), {
    kind: "image",
    label: "linux/arm64/v8",
    platform: "linux/arm64/v8",
  });
});

Deno.test("describeIndexEntry() names an attestation of a manifest the index lacks by its short digest", () => {
  const missing = `sha256:${"c".repeat(64)}`;
  const att = attestation(missing);
  assertEquals(
    describeIndexEntry({ schemaVersion: 2, manifests: [att] }, att).label,
    "attestation for cccccccccccc",
  );
});

Deno.test("describeIndexEntry() never makes an unknown/unknown or platformless entry an image", () => {
  const unknown: Descriptor = {
    mediaType: M,
    digest: amd64.digest,
    size: 1,
    platform: { os: "unknown", architecture: "unknown" },
  };
  const none: Descriptor = {
    mediaType: M,
    digest: amd64.digest,
    size: 1,
    artifactType: "application/spdx+json",
  };
  const index: ImageIndex = { schemaVersion: 2, manifests: [unknown, none] };
  assertEquals(describeIndexEntry(index, unknown), { kind: "other", label: "unknown/unknown (artifact)" });
  assertEquals(describeIndexEntry(index, none), {
    kind: "other",
    label: "no platform (application/spdx+json)",
  });
});
