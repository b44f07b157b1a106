import { assert, assertEquals, assertThrows } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { MAX_MANIFEST_SIZE } from "./parse_manifest.ts";
import { parseImageConfig } from "./parse_image_config.ts";

const DIFF = `sha256:${"d".repeat(64)}`;
const enc = (value: unknown) =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

function config(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architecture: "arm64",
    variant: "v8",
    os: "linux",
    created: "2024-06-20T20:16:58Z",
    config: { Env: ["PATH=/usr/bin"], Cmd: ["/bin/sh"], WorkingDir: "/" },
    rootfs: { type: "layers", diff_ids: [DIFF] },
    history: [{ created: "2024-06-20T20:16:58Z", created_by: "ADD file:abc in /" }],
    ...extra,
  };
}

function invalid(doc: unknown, includes: string): TugError {
  return assertThrows(() => parseImageConfig(enc(doc)), TugError, { code: "CONFIG_INVALID", includes });
}

Deno.test("parseImageConfig() reads an image config and keeps unknown fields", () => {
  const parsed = parseImageConfig(enc(config({ container: "abc", docker_version: "26.1" })));
  assertEquals(parsed.architecture, "arm64");
  assertEquals(parsed.rootfs.diff_ids, [DIFF]);
  assertEquals(parsed.config?.Cmd, ["/bin/sh"]);
  assertEquals((parsed as unknown as Record<string, unknown>).docker_version, "26.1");
});

Deno.test("parseImageConfig() accepts an image without layers (FROM scratch, no files)", () => {
  assertEquals(
    parseImageConfig(enc(config({ rootfs: { type: "layers", diff_ids: [] } }))).rootfs.diff_ids,
    [],
  );
});

Deno.test("parseImageConfig() drops a null config or history", () => {
  const parsed = parseImageConfig(enc(config({ config: null, history: null })));
  assert(!("config" in parsed) && !("history" in parsed));
});

Deno.test("parseImageConfig() refuses bytes that are not a JSON object", () => {
  invalid("{", "not valid JSON");
  invalid("[]", "expected a JSON object, got an array");
  assertThrows(() => parseImageConfig(new Uint8Array([0xc3, 0x28])), TugError, { code: "CONFIG_INVALID" });
});

Deno.test("parseImageConfig() requires os and architecture", () => {
  invalid(config({ os: undefined }), "os must be a string, got missing");
  invalid(config({ os: "" }), "os must not be empty");
  invalid(config({ architecture: undefined }), "architecture must be a string, got missing");
  invalid(config({ architecture: 64 }), "architecture must be a string, got number 64");
});

Deno.test("parseImageConfig() requires rootfs of type layers with digest diff_ids", () => {
  invalid(config({ rootfs: undefined }), "rootfs must be an object, got missing");
  invalid(config({ rootfs: { diff_ids: [DIFF] } }), 'rootfs.type must be "layers", got missing');
  invalid(
    config({ rootfs: { type: "Layers", diff_ids: [DIFF] } }),
    'rootfs.type must be "layers", got string "Layers"',
  );
  invalid(config({ rootfs: { type: "layers" } }), "rootfs.diff_ids must be an array, got missing");
  invalid(
    config({ rootfs: { type: "layers", diff_ids: [DIFF, "sha256:abc"] } }),
    "rootfs.diff_ids[1] must be a digest",
  );
});

Deno.test("parseImageConfig() checks the types of optional fields", () => {
  invalid(config({ variant: 8 }), "variant must be a string");
  invalid(config({ "os.version": 10 }), '"os.version" must be a string');
  invalid(config({ created: 0 }), "created must be a string");
  invalid(config({ config: [] }), "config must be an object, got an array");
  invalid(config({ history: {} }), "history must be an array, got an object");
  invalid(config({ history: ["RUN x"] }), "history[0] must be an object");
});

Deno.test("parseImageConfig() accepts exactly 4 MiB and refuses one byte more", () => {
  const json = new TextEncoder().encode(JSON.stringify(config()));
  const exact = new Uint8Array(MAX_MANIFEST_SIZE).fill(0x0a);
  exact.set(json);
  assertEquals(parseImageConfig(exact).os, "linux");
  const over = new Uint8Array(MAX_MANIFEST_SIZE + 1).fill(0x0a);
  over.set(json);
  assertThrows(() => parseImageConfig(over), TugError, {
    code: "MANIFEST_TOO_LARGE",
    includes: "image config",
  });
});

Deno.test("parseImageConfig() names the source in its messages", () => {
  assertThrows(() => parseImageConfig(enc({}), { source: DIFF }), TugError, {
    code: "CONFIG_INVALID",
    includes: `Invalid image config "${DIFF}": os must be a string`,
  });
});

Deno.test("parseImageConfig() throws a TypeError for a non-Uint8Array argument", () => {
  assertThrows(() => parseImageConfig(null as unknown as Uint8Array), TypeError);
});
