import { assertEquals } from "../../test/_assert.ts";
import {
  isIndexMediaType,
  isLayerMediaType,
  isManifestMediaType,
  isSchema1MediaType,
  layerCompression,
  MANIFEST_ACCEPT,
  MEDIA_TYPE_DOCKER_CONFIG,
  MEDIA_TYPE_DOCKER_FOREIGN_LAYER,
  MEDIA_TYPE_DOCKER_LAYER,
  MEDIA_TYPE_DOCKER_LAYER_TAR,
  MEDIA_TYPE_DOCKER_LAYER_ZSTD,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_DOCKER_PLUGIN_CONFIG,
  MEDIA_TYPE_DOCKER_SCHEMA1_MANIFEST,
  MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_EMPTY,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_LAYER,
  MEDIA_TYPE_OCI_LAYER_GZIP,
  MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE,
  MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_GZIP,
  MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
  MEDIA_TYPE_OCI_LAYER_ZSTD,
  MEDIA_TYPE_OCI_MANIFEST,
} from "./media_types.ts";

Deno.test("media types have the spellings of the OCI image spec and Docker", () => {
  assertEquals(
    [
      MEDIA_TYPE_OCI_MANIFEST,
      MEDIA_TYPE_OCI_INDEX,
      MEDIA_TYPE_OCI_CONFIG,
      MEDIA_TYPE_OCI_LAYER,
      MEDIA_TYPE_OCI_LAYER_GZIP,
      MEDIA_TYPE_OCI_LAYER_ZSTD,
      MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE,
      MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_GZIP,
      MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
      MEDIA_TYPE_OCI_EMPTY,
      MEDIA_TYPE_DOCKER_MANIFEST,
      MEDIA_TYPE_DOCKER_MANIFEST_LIST,
      MEDIA_TYPE_DOCKER_CONFIG,
      MEDIA_TYPE_DOCKER_LAYER,
      MEDIA_TYPE_DOCKER_FOREIGN_LAYER,
      MEDIA_TYPE_DOCKER_PLUGIN_CONFIG,
      MEDIA_TYPE_DOCKER_SCHEMA1_MANIFEST,
      MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST,
    ],
    [
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.oci.image.config.v1+json",
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
      "application/vnd.oci.empty.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.docker.container.image.v1+json",
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
      "application/vnd.docker.plugin.v1+json",
      "application/vnd.docker.distribution.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.v1+prettyjws",
    ],
  );
});

Deno.test("MANIFEST_ACCEPT lists OCI index, OCI manifest, Docker list, Docker schema2 in that order", () => {
  assertEquals([...MANIFEST_ACCEPT], [
    MEDIA_TYPE_OCI_INDEX,
    MEDIA_TYPE_OCI_MANIFEST,
    MEDIA_TYPE_DOCKER_MANIFEST_LIST,
    MEDIA_TYPE_DOCKER_MANIFEST,
  ]);
  assertEquals(Object.isFrozen(MANIFEST_ACCEPT), true);
});

Deno.test("isIndexMediaType() and isManifestMediaType() classify the four schema 2 document types", () => {
  const table: [string, boolean, boolean][] = [
    [MEDIA_TYPE_OCI_INDEX, true, false],
    [MEDIA_TYPE_DOCKER_MANIFEST_LIST, true, false],
    [MEDIA_TYPE_OCI_MANIFEST, false, true],
    [MEDIA_TYPE_DOCKER_MANIFEST, false, true],
    [MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST, false, false],
    [MEDIA_TYPE_OCI_CONFIG, false, false],
    ["application/json", false, false],
  ];
  for (const [mt, index, manifest] of table) {
    assertEquals([isIndexMediaType(mt), isManifestMediaType(mt)], [index, manifest], mt);
  }
});

Deno.test("isSchema1MediaType() recognises both schema 1 spellings only", () => {
  assertEquals(isSchema1MediaType(MEDIA_TYPE_DOCKER_SCHEMA1_MANIFEST), true);
  assertEquals(isSchema1MediaType(MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST), true);
  assertEquals(isSchema1MediaType(MEDIA_TYPE_DOCKER_MANIFEST), false);
});

Deno.test("isLayerMediaType() and layerCompression() know every OCI and Docker layer type", () => {
  const table: [string, "gzip" | "zstd" | "none"][] = [
    [MEDIA_TYPE_OCI_LAYER, "none"],
    [MEDIA_TYPE_OCI_LAYER_GZIP, "gzip"],
    [MEDIA_TYPE_OCI_LAYER_ZSTD, "zstd"],
    [MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE, "none"],
    [MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_GZIP, "gzip"],
    [MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_ZSTD, "zstd"],
    [MEDIA_TYPE_DOCKER_LAYER, "gzip"],
    [MEDIA_TYPE_DOCKER_LAYER_TAR, "none"],
    [MEDIA_TYPE_DOCKER_LAYER_ZSTD, "zstd"],
    [MEDIA_TYPE_DOCKER_FOREIGN_LAYER, "gzip"],
  ];
  for (const [mt, compression] of table) {
    assertEquals(isLayerMediaType(mt), true, mt);
    assertEquals(layerCompression(mt), compression, mt);
  }
});

Deno.test("isLayerMediaType() refuses configs, manifests and artifact blobs", () => {
  for (
    const mt of [
      MEDIA_TYPE_OCI_CONFIG,
      MEDIA_TYPE_DOCKER_CONFIG,
      MEDIA_TYPE_OCI_EMPTY,
      MEDIA_TYPE_OCI_MANIFEST,
      "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
      "",
    ]
  ) {
    assertEquals(isLayerMediaType(mt), false, mt);
  }
});

Deno.test("layerCompression() falls back to the structured suffix for unknown types", () => {
  assertEquals(layerCompression("application/vnd.cncf.helm.chart.content.v1.tar+gzip"), "gzip");
  assertEquals(layerCompression("application/x-custom.tar.zstd"), "zstd");
  assertEquals(layerCompression("application/vnd.example+zstd"), "zstd");
  assertEquals(layerCompression("application/octet-stream"), "none");
});
