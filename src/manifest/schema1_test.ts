import { assert, assertEquals, assertThrows } from "../../test/_assert.ts";
import { generateSigningKey, signSchema1 } from "../../test/_schema1_sign.ts";
import { digestBytes } from "../digest/digest_bytes.ts";
import { TugError } from "../errors.ts";
import { isSchema1Manifest, parseSchema1Manifest } from "./schema1.ts";

const encoder = new TextEncoder();
const id = (c: string) => c.repeat(64);
const blob = (c: string) => `sha256:${c.repeat(64)}`;

// Layers top first, as schema 1 lists them: [id, parent, blobSum, extra v1 fields].
function manifest(
  layers: Array<[string, string | undefined, string, Record<string, unknown>?]>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    schemaVersion: 1,
    name: "tug/legacy",
    tag: "v1",
    architecture: "arm64",
    fsLayers: layers.map(([, , blobSum]) => ({ blobSum })),
    history: layers.map(([i, parent, , more]) => ({
      v1Compatibility: JSON.stringify({ id: i, ...(parent ? { parent } : {}), ...more }),
    })),
    ...extra,
  };
}

const bytesOf = (doc: unknown) => encoder.encode(JSON.stringify(doc, null, 3));

Deno.test("parseSchema1Manifest() returns the layers base first with name, tag and architecture", () => {
  const parsed = parseSchema1Manifest(bytesOf(manifest([
    [id("c"), id("b"), blob("3"), { throwaway: true }],
    [id("b"), id("a"), blob("2")],
    [id("a"), undefined, blob("1")],
  ])));
  assertEquals(parsed.layers.map((l) => l.id), [id("a"), id("b"), id("c")]);
  assertEquals(parsed.layers.map((l) => l.blobSum), [blob("1"), blob("2"), blob("3")]);
  assertEquals(parsed.layers.map((l) => l.throwaway), [false, false, true]);
  assertEquals(parsed.layers[1].parent, id("a"));
  assertEquals([parsed.name, parsed.tag, parsed.architecture, parsed.signed], [
    "tug/legacy",
    "v1",
    "arm64",
    false,
  ]);
  assertEquals(parsed.canonical, parsed.bytes);
});

Deno.test("parseSchema1Manifest() collapses an ID repeated right after itself, as Docker does", () => {
  const parsed = parseSchema1Manifest(bytesOf(manifest([
    [id("b"), id("a"), blob("2")],
    [id("a"), undefined, blob("9")],
    [id("a"), undefined, blob("1")],
  ])));
  assertEquals(parsed.layers.map((l) => l.id), [id("a"), id("b")]);
  // The lower entry is the one kept.
  assertEquals(parsed.layers[0].blobSum, blob("1"));
});

Deno.test("parseSchema1Manifest() takes the canonical payload of a signed manifest for its digest", async () => {
  const content = bytesOf(manifest([[id("a"), undefined, blob("1")]]));
  const keys = [await generateSigningKey(), await generateSigningKey()];
  const signed = await signSchema1(content, keys);
  const parsed = parseSchema1Manifest(signed);
  assert(parsed.signed);
  assertEquals(parsed.canonical, content);
  assert((await digestBytes(parsed.canonical)) !== (await digestBytes(signed)));
  assertEquals(parsed.bytes, signed);
  assertEquals(parsed.layers[0].id, id("a"));
});

Deno.test("parseSchema1Manifest() reads fields from the signed payload, not from what follows it", async () => {
  const content = bytesOf(manifest([[id("a"), undefined, blob("1")]]));
  const signed = new TextDecoder().decode(await signSchema1(content, [await generateSigningKey()]));
  // A field smuggled after the signatures is outside the payload: the payload's tag wins.
  const tampered = encoder.encode(signed.replace(/\n}$/, ',\n   "tag": "evil"\n}'));
  assertEquals(parseSchema1Manifest(tampered).tag, "v1");
});

Deno.test("parseSchema1Manifest() refuses signatures that disagree on the format", async () => {
  const content = bytesOf(manifest([[id("a"), undefined, blob("1")]]));
  const one = JSON.parse(new TextDecoder().decode(await signSchema1(content, [await generateSigningKey()])));
  const header = (length: number) =>
    btoa(JSON.stringify({ formatLength: length, formatTail: "Cn0" })).replace(/=+$/, "");
  one.signatures.push({ ...one.signatures[0], protected: header(5) });
  const err = assertThrows(() => parseSchema1Manifest(encoder.encode(JSON.stringify(one))), TugError);
  assertEquals(err.code, "MANIFEST_INVALID");
  assert(err.message.includes("conflicting format length"), err.message);
});

Deno.test("parseSchema1Manifest() refuses what Docker's verifySchema1Manifest and fixManifestLayers refuse", () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ["unsupported schema version", { ...manifest([[id("a"), undefined, blob("1")]]), schemaVersion: 2 }],
    ["length of history", { ...manifest([[id("a"), undefined, blob("1")]]), fsLayers: [] }],
    ["no FSLayers", manifest([])],
    ["invalid image ID", manifest([["abc", undefined, blob("1")]])],
    ["fsLayers[0].blobSum", manifest([[id("a"), undefined, "sha256:nothex"]])],
    ["invalid parent ID in the base layer", manifest([[id("a"), id("z"), blob("1")]])],
    [
      "appears multiple times",
      manifest([[id("a"), id("b"), blob("1")], [id("b"), id("a"), blob("2")], [
        id("a"),
        undefined,
        blob("3"),
      ]]),
    ],
    [
      `invalid parent ID. Expected ${id("a")}, got ${id("z")}`,
      manifest([[id("b"), id("z"), blob("2")], [
        id("a"),
        undefined,
        blob("1"),
      ]]),
    ],
  ];
  for (const [message, doc] of cases) {
    const err = assertThrows(() => parseSchema1Manifest(bytesOf(doc)), TugError);
    assertEquals(err.code, "MANIFEST_INVALID", message);
    assert(err.message.includes(message), `${message}: ${err.message}`);
  }
  const notJson = assertThrows(() => parseSchema1Manifest(encoder.encode("{")), TugError);
  assertEquals(notJson.code, "MANIFEST_INVALID");
});

Deno.test("isSchema1Manifest() goes by the media type, else by schemaVersion in a generic body", () => {
  const v1 = encoder.encode('{"schemaVersion": 1}');
  const v2 = encoder.encode('{"schemaVersion": 2}');
  assert(isSchema1Manifest(v2, "application/vnd.docker.distribution.manifest.v1+prettyjws"));
  assert(isSchema1Manifest(v1, "application/json; charset=utf-8"));
  assert(isSchema1Manifest(v1));
  assert(!isSchema1Manifest(v2, "application/json"));
  assert(!isSchema1Manifest(v1, "application/vnd.oci.image.manifest.v1+json"));
  assert(!isSchema1Manifest(encoder.encode("not json")));
});
