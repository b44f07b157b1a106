import { assert, assertEquals, assertStringIncludes, assertThrows } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import {
  MEDIA_TYPE_DOCKER_CONFIG,
  MEDIA_TYPE_DOCKER_LAYER,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_LAYER_GZIP,
  MEDIA_TYPE_OCI_MANIFEST,
} from "./media_types.ts";
import { MAX_MANIFEST_SIZE, parseManifest } from "./parse_manifest.ts";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const D3 = `sha256:${"3".repeat(64)}`;
const enc = (value: unknown) =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

function ociManifest(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_OCI_MANIFEST,
    config: { mediaType: MEDIA_TYPE_OCI_CONFIG, digest: D1, size: 1469 },
    layers: [
      { mediaType: MEDIA_TYPE_OCI_LAYER_GZIP, digest: D2, size: 3623807 },
      { mediaType: MEDIA_TYPE_OCI_LAYER_GZIP, digest: D3, size: 120 },
    ],
    ...extra,
  };
}

function ociIndex(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_OCI_INDEX,
    manifests: [
      {
        mediaType: MEDIA_TYPE_OCI_MANIFEST,
        digest: D1,
        size: 100,
        platform: { os: "linux", architecture: "amd64" },
      },
      {
        mediaType: MEDIA_TYPE_OCI_MANIFEST,
        digest: D2,
        size: 100,
        platform: { os: "linux", architecture: "arm64", variant: "v8" },
      },
    ],
    ...extra,
  };
}

function invalid(doc: unknown, includes: string, contentType?: string): TugError {
  return assertThrows(() => parseManifest(enc(doc), { contentType }), TugError, {
    code: "MANIFEST_INVALID",
    includes,
  });
}

Deno.test("parseManifest() reads an OCI image manifest and keeps its exact bytes", () => {
  const bytes = enc(ociManifest({ annotations: { "org.opencontainers.image.title": "x" }, extraField: 1 }));
  const parsed = parseManifest(bytes);
  assert(parsed.kind === "manifest");
  assertEquals(parsed.mediaType, MEDIA_TYPE_OCI_MANIFEST);
  assert(parsed.bytes === bytes, "the same Uint8Array comes back, not a copy");
  assertEquals(parsed.manifest.config.digest, D1);
  assertEquals(parsed.manifest.layers.map((l) => l.size), [3623807, 120]);
  assertEquals((parsed.manifest as unknown as Record<string, unknown>).extraField, 1);
});

Deno.test("parseManifest() reads a Docker schema 2 manifest", () => {
  const doc = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_DOCKER_MANIFEST,
    config: { mediaType: MEDIA_TYPE_DOCKER_CONFIG, digest: D1, size: 7023 },
    layers: [{ mediaType: MEDIA_TYPE_DOCKER_LAYER, digest: D2, size: 32654 }],
  };
  const parsed = parseManifest(enc(doc), { contentType: MEDIA_TYPE_DOCKER_MANIFEST });
  assert(parsed.kind === "manifest");
  assertEquals(parsed.mediaType, MEDIA_TYPE_DOCKER_MANIFEST);
  assertEquals(parsed.manifest.layers[0].mediaType, MEDIA_TYPE_DOCKER_LAYER);
});

Deno.test("parseManifest() reads an OCI index and a Docker manifest list", () => {
  const oci = parseManifest(enc(ociIndex()));
  assert(oci.kind === "index");
  assertEquals(oci.mediaType, MEDIA_TYPE_OCI_INDEX);
  assertEquals(oci.index.manifests[1].platform?.variant, "v8");
  const list = parseManifest(enc(ociIndex({ mediaType: MEDIA_TYPE_DOCKER_MANIFEST_LIST })));
  assert(list.kind === "index");
  assertEquals(list.mediaType, MEDIA_TYPE_DOCKER_MANIFEST_LIST);
});

Deno.test("parseManifest() accepts an empty index and a manifest without layers (artifacts)", () => {
  assertEquals(parseManifest(enc(ociIndex({ manifests: [] }))).kind, "index");
  assertEquals(parseManifest(enc(ociManifest({ layers: [] }))).kind, "manifest");
});

Deno.test("parseManifest() accepts sha512 digests, urls, annotations, artifactType and subject", () => {
  const sha512 = `sha512:${"a".repeat(128)}`;
  const parsed = parseManifest(enc(ociManifest({
    artifactType: "application/vnd.example+json",
    subject: { mediaType: MEDIA_TYPE_OCI_MANIFEST, digest: sha512, size: 10 },
    layers: [{
      mediaType: MEDIA_TYPE_OCI_LAYER_GZIP,
      digest: D2,
      size: 0,
      urls: ["https://example.com/layer"],
      annotations: { a: "b" },
    }],
  })));
  assert(parsed.kind === "manifest");
  assertEquals(parsed.manifest.subject?.digest, sha512);
});

Deno.test("parseManifest() lets the body's mediaType win over a generic Content-Type", () => {
  for (const contentType of ["application/json", "text/plain; charset=utf-8", "application/octet-stream"]) {
    assertEquals(
      parseManifest(enc(ociIndex()), { contentType }).mediaType,
      MEDIA_TYPE_OCI_INDEX,
      contentType,
    );
  }
});

Deno.test("parseManifest() ignores Content-Type parameters and case when comparing", () => {
  const parsed = parseManifest(enc(ociManifest()), {
    contentType: "Application/VND.oci.image.manifest.v1+json; charset=utf-8",
  });
  assertEquals(parsed.mediaType, MEDIA_TYPE_OCI_MANIFEST);
});

Deno.test("parseManifest() refuses a body mediaType that disagrees with the Content-Type, naming both", () => {
  const err = invalid(ociManifest(), MEDIA_TYPE_OCI_MANIFEST, MEDIA_TYPE_DOCKER_MANIFEST);
  assertStringIncludes(err.message, MEDIA_TYPE_DOCKER_MANIFEST);
  invalid(ociIndex(), "Content-Type", MEDIA_TYPE_OCI_MANIFEST);
});

Deno.test("parseManifest() takes the media type from the Content-Type when the body has none", () => {
  const { mediaType: _, ...list } = ociIndex();
  const parsed = parseManifest(enc(list), { contentType: MEDIA_TYPE_DOCKER_MANIFEST_LIST });
  assert(parsed.kind === "index");
  assertEquals(parsed.mediaType, MEDIA_TYPE_DOCKER_MANIFEST_LIST);
});

Deno.test("parseManifest() infers an OCI type from the structure when neither body nor header says", () => {
  const { mediaType: _m, ...manifest } = ociManifest();
  const { mediaType: _i, ...index } = ociIndex();
  assertEquals(parseManifest(enc(manifest)).mediaType, MEDIA_TYPE_OCI_MANIFEST);
  assertEquals(parseManifest(enc(manifest), { contentType: "application/json" }).kind, "manifest");
  assertEquals(parseManifest(enc(index)).mediaType, MEDIA_TYPE_OCI_INDEX);
  assertEquals(parseManifest(enc(index)).kind, "index");
});

Deno.test("parseManifest() refuses a document without mediaType whose structure is ambiguous or empty", () => {
  invalid({ schemaVersion: 2 }, "mediaType is missing");
  invalid({ schemaVersion: 2, manifests: [], layers: [] }, "mediaType is missing");
});

Deno.test("parseManifest() refuses a manifest carrying manifests and an index carrying config or layers", () => {
  invalid(ociManifest({ manifests: [] }), "also has manifests");
  invalid(ociIndex({ layers: [] }), "also has config or layers");
  const { mediaType: _, ...manifest } = ociManifest();
  invalid(manifest, "also has config or layers", MEDIA_TYPE_OCI_INDEX);
});

Deno.test("parseManifest() refuses schema 1 as unsupported, pointing at the legacy path", () => {
  for (
    const doc of [
      { schemaVersion: 1, name: "library/busybox", tag: "latest", fsLayers: [], history: [] },
      { schemaVersion: 2, mediaType: MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST },
    ]
  ) {
    const err = assertThrows(() => parseManifest(enc(doc)), TugError, { code: "MANIFEST_UNSUPPORTED" });
    assertStringIncludes(err.message, "schema 1");
    assertStringIncludes(err.message, "legacy");
  }
});

Deno.test("parseManifest() refuses a schema 2 body sent as schema 1 without a mediaType", () => {
  const { mediaType: _, ...manifest } = ociManifest();
  invalid(manifest, "schema 1", MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED_MANIFEST);
});

Deno.test("parseManifest() refuses an unknown mediaType as unsupported", () => {
  assertThrows(
    () => parseManifest(enc(ociManifest({ mediaType: "application/vnd.example.thing+json" }))),
    TugError,
    {
      code: "MANIFEST_UNSUPPORTED",
      includes: "application/vnd.example.thing+json",
    },
  );
});

Deno.test("parseManifest() accepts exactly 4 MiB and refuses one byte more", () => {
  const json = JSON.stringify(ociManifest());
  const exact = new Uint8Array(MAX_MANIFEST_SIZE).fill(0x20); // JSON allows trailing whitespace
  exact.set(new TextEncoder().encode(json));
  assertEquals(parseManifest(exact).kind, "manifest");
  const over = new Uint8Array(MAX_MANIFEST_SIZE + 1).fill(0x20);
  over.set(new TextEncoder().encode(json));
  const err = assertThrows(() => parseManifest(over, { source: "docker.io/library/big:1" }), TugError, {
    code: "MANIFEST_TOO_LARGE",
    includes: String(MAX_MANIFEST_SIZE + 1),
  });
  assertStringIncludes(err.message, "docker.io/library/big:1");
});

Deno.test("parseManifest() refuses bytes that are not JSON or not UTF-8", () => {
  const err = assertThrows(() => parseManifest(enc("{not json")), TugError, {
    code: "MANIFEST_INVALID",
    includes: "not valid JSON",
  });
  assert(err.cause instanceof SyntaxError);
  assertThrows(() => parseManifest(new Uint8Array([0x7b, 0xff, 0x7d])), TugError, {
    code: "MANIFEST_INVALID",
    includes: "not valid JSON",
  });
  assertThrows(() => parseManifest(new Uint8Array()), TugError, { code: "MANIFEST_INVALID" });
});

Deno.test("parseManifest() refuses JSON that is not an object", () => {
  for (const doc of ["[]", "null", "2", '"x"']) invalid(doc, "expected a JSON object");
});

Deno.test("parseManifest() refuses a schemaVersion other than 2", () => {
  invalid({ ...ociManifest(), schemaVersion: undefined }, "schemaVersion must be 2, got missing");
  invalid(ociManifest({ schemaVersion: "2" }), 'schemaVersion must be 2, got string "2"');
  invalid(ociManifest({ schemaVersion: 3 }), "schemaVersion must be 2, got number 3");
});

Deno.test("parseManifest() refuses a mediaType that is not a string", () => {
  invalid(ociManifest({ mediaType: 5 }), "mediaType must be a string");
});

Deno.test("parseManifest() names the config field that is wrong", () => {
  invalid(ociManifest({ config: undefined }), "config is missing");
  invalid(ociManifest({ config: "sha256:x" }), "config must be a descriptor object");
  invalid(ociManifest({ config: { digest: D1, size: 1 } }), "config.mediaType must be a string");
  invalid(
    ociManifest({ config: { mediaType: MEDIA_TYPE_OCI_CONFIG, size: 1 } }),
    "config.digest must be a digest",
  );
});

Deno.test("parseManifest() refuses malformed digests", () => {
  const bad = [
    `sha256:${"A".repeat(64)}`,
    `sha256:${"a".repeat(63)}`,
    `sha512:${"a".repeat(64)}`,
    `md5:${"a".repeat(32)}`,
    "a".repeat(64),
    123,
  ];
  for (const digest of bad) {
    invalid(ociManifest({ config: { mediaType: MEDIA_TYPE_OCI_CONFIG, digest, size: 1 } }), "config.digest");
  }
});

Deno.test("parseManifest() refuses sizes that are not non-negative safe integers", () => {
  for (const size of [-1, 1.5, "10", Number.MAX_SAFE_INTEGER + 2, null, undefined]) {
    invalid(
      ociManifest({ config: { mediaType: MEDIA_TYPE_OCI_CONFIG, digest: D1, size } }),
      "config.size must be a non-negative integer",
    );
  }
});

Deno.test("parseManifest() refuses layers that are missing, not an array, or hold a bad descriptor", () => {
  invalid(ociManifest({ layers: undefined }), "layers must be an array, got missing");
  invalid(ociManifest({ layers: {} }), "layers must be an array, got an object");
  invalid(
    ociManifest({ layers: [{ mediaType: MEDIA_TYPE_OCI_LAYER_GZIP, digest: D2, size: 1 }, null] }),
    "layers[1] must be a descriptor object, got null",
  );
  invalid(
    ociManifest({
      layers: [{ mediaType: MEDIA_TYPE_OCI_LAYER_GZIP, digest: D2, size: 1, urls: "https://x" }],
    }),
    "layers[0].urls must be an array of strings",
  );
  invalid(
    ociManifest({
      layers: [{ mediaType: MEDIA_TYPE_OCI_LAYER_GZIP, digest: D2, size: 1, annotations: { a: 1 } }],
    }),
    'layers[0].annotations["a"] must be a string',
  );
});

Deno.test("parseManifest() refuses an index with bad manifests or platforms", () => {
  invalid(ociIndex({ manifests: undefined }), "manifests must be an array, got missing");
  invalid(
    ociIndex({ manifests: [{ mediaType: MEDIA_TYPE_OCI_MANIFEST, digest: "x", size: 1 }] }),
    "manifests[0].digest",
  );
  invalid(
    ociIndex({
      manifests: [{ mediaType: MEDIA_TYPE_OCI_MANIFEST, digest: D1, size: 1, platform: "linux/amd64" }],
    }),
    "manifests[0].platform must be an object",
  );
  invalid(
    ociIndex({
      manifests: [{
        mediaType: MEDIA_TYPE_OCI_MANIFEST,
        digest: D1,
        size: 1,
        platform: { architecture: "amd64" },
      }],
    }),
    "manifests[0].platform.os must be a string",
  );
  invalid(
    ociIndex({
      manifests: [{
        mediaType: MEDIA_TYPE_OCI_MANIFEST,
        digest: D1,
        size: 1,
        platform: { os: "windows", architecture: "amd64", "os.features": "win32k" },
      }],
    }),
    'manifests[0].platform["os.features"] must be an array of strings',
  );
});

Deno.test("parseManifest() checks artifactType, subject and annotations of the document", () => {
  invalid(ociManifest({ artifactType: 1 }), "artifactType must be a string");
  invalid(ociManifest({ subject: { mediaType: MEDIA_TYPE_OCI_MANIFEST, digest: D1 } }), "subject.size");
  invalid(ociIndex({ annotations: ["a"] }), "annotations must be an object of strings");
});

Deno.test("parseManifest() names the source in its messages", () => {
  assertThrows(() => parseManifest(enc("{}"), { source: "docker.io/library/alpine:3" }), TugError, {
    code: "MANIFEST_INVALID",
    includes: 'Invalid manifest "docker.io/library/alpine:3": schemaVersion must be 2',
  });
});

Deno.test("parseManifest() throws a TypeError for a non-Uint8Array argument", () => {
  assertThrows(() => parseManifest("{}" as unknown as Uint8Array), TypeError);
});
