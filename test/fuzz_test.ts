// Fuzzing the parsers that read untrusted input: reference strings (from users and scripts), manifests,
// indexes and image configs (from registries). A seeded PRNG makes every run reproducible; the counts
// and a time budget keep the CI run to a few seconds. `TUG_FUZZ_SEED=n` replays a seed;
// `TUG_FUZZ_SCALE=k` multiplies the counts and budgets for a soak run (see docs/testing.md "Guarantees").
//
// The contract: only typed errors (TugError, TypeError, RangeError, SyntaxError), never another
// exception, never a hang (each call is timed), and parse(toString(x)) round-trips for every accepted
// reference.
import process from "node:process";
import { assert, assertEquals } from "./_assert.ts";
import { parseReference } from "../src/reference/parse_reference.ts";
import { parseManifest } from "../src/manifest/parse_manifest.ts";
import { parseImageConfig } from "../src/manifest/parse_image_config.ts";
import { parseDigest } from "../src/digest/parse_digest.ts";
import { TugError } from "../src/errors.ts";
import { Fuzzer, SCALE, SEED } from "./_fuzz.ts";

/**
 * One call taking more CPU time than this is a hang (catastrophic backtracking, a loop). CPU time, not wall
 * time: on a loaded machine a call as cheap as parseDigest() took 356 ms of wall time (the process waited
 * for a core), and 2 of 5 runs failed at load 11.
 */
const SLOW_CALL_MS = 250;

/** CPU time this process has used, in ms. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function isTyped(err: unknown): boolean {
  return err instanceof TugError || err instanceof TypeError || err instanceof RangeError ||
    err instanceof SyntaxError;
}

/** Runs `fn` on each input until `count` or the time budget ends; checks error types and call times. */
function fuzz<T>(
  name: string,
  count: number,
  budgetMs: number,
  next: (i: number) => T,
  fn: (input: T) => void,
): { runs: number; accepted: number } {
  const started = performance.now();
  let accepted = 0;
  let runs = 0;
  for (let i = 0; i < count * SCALE && performance.now() - started < budgetMs * SCALE; i++) {
    const input = next(i);
    const t0 = cpuMs();
    try {
      fn(input);
      accepted++;
    } catch (err) {
      if (!isTyped(err)) {
        throw new Error(`${name}: untyped error for input #${i} (seed ${SEED}): ${JSON.stringify(input)}`, {
          cause: err,
        });
      }
    }
    const took = cpuMs() - t0;
    assert(took < SLOW_CALL_MS, `${name}: input #${i} (seed ${SEED}) took ${took.toFixed(0)} ms of CPU time`);
    runs++;
  }
  return { runs, accepted };
}

// ---- references --------------------------------------------------------------------------------------

const HEX = "0123456789abcdef";
const VALID_REFERENCES = [
  "alpine",
  "alpine:3.20",
  "library/alpine:latest",
  "docker.io/library/alpine:3.20",
  "ghcr.io/owner/repo/sub:v1.2.3-rc.1",
  "127.0.0.1:5000/tug/small:v1",
  "localhost:5000/a_b__c/d-e---f:tag_1.x",
  "[::1]:5000/x/y:z",
  "registry.example.com/a/b/c/d/e/f:g",
  `quay.io/coreos/etcd@sha256:${HEX.repeat(4)}`,
  `alpine:3@sha256:${HEX.repeat(4)}`,
  `example.com/x@sha512:${HEX.repeat(8)}`,
  "a.b-c.example:443/ns/img:TAG_with.Mixed-Case",
];
const ALPHABET = [
  ..."abcdefghijklmnopqrstuvwxyz0123456789",
  ..."ABCXYZ",
  ...":/@.-_",
  ...":/@.-_",
  ..."%+ \t\n\r\0\\?#[]~!$&'()*,;=",
  "%2f",
  "%2e",
  "..",
  "../",
  "sha256:",
  "é",
  "\u{1F600}",
  "\uFFFF",
  "\uD800",
];

function mutateString(f: Fuzzer, input: string): string {
  let s = input;
  const steps = 1 + f.int(4);
  for (let k = 0; k < steps; k++) {
    const at = f.int(s.length + 1);
    switch (f.int(7)) {
      case 0: // insert
        s = s.slice(0, at) + f.pick(ALPHABET) + s.slice(at);
        break;
      case 1: // delete
        s = s.slice(0, at) + s.slice(at + 1 + f.int(3));
        break;
      case 2: // replace
        s = s.slice(0, at) + f.pick(ALPHABET) + s.slice(at + 1);
        break;
      case 3: // duplicate a slice
        s = s.slice(0, at) + s.slice(at, at + 1 + f.int(8)).repeat(2 + f.int(3)) + s.slice(at);
        break;
      case 4: // truncate
        s = s.slice(0, at);
        break;
      case 5: // splice with another valid reference
        s = s.slice(0, at) + f.pick(VALID_REFERENCES).slice(f.int(10));
        break;
      case 6: // change case
        s = f.chance(0.5) ? s.toUpperCase() : s.toLowerCase();
        break;
    }
  }
  return s;
}

function randomString(f: Fuzzer): string {
  let s = "";
  const length = f.int(40);
  for (let i = 0; i < length; i++) s += f.pick(ALPHABET);
  return s;
}

/** Long inputs shaped to make a backtracking regular expression explode. */
function pathological(f: Fuzzer): string {
  const unit = f.pick(["a", "a-", "a.", "a_", "a__", "a/", "0", "a:", "aa-", "-a", "a.b"]);
  const tail = f.pick(["!", "A", ":", "@", "/", "..", "-", "@sha256:", ":" + "x".repeat(200)]);
  return f.pick(["", "example.com/", "localhost:5000/"]) + unit.repeat(100 + f.int(5000)) + tail;
}

Deno.test("parseReference() on fuzzed input: only typed errors, no hang, and accepted references round-trip", () => {
  const f = new Fuzzer(SEED);
  const seen: string[] = [];
  const stats = fuzz("parseReference", 30_000, 4_000, () => {
    const roll = f.random();
    if (roll < 0.6) return mutateString(f, f.pick(VALID_REFERENCES));
    if (roll < 0.9) return randomString(f);
    return pathological(f);
  }, (input) => {
    const ref = parseReference(input);
    const text = ref.toString();
    // Canonical form parses to itself, as does the familiar form.
    assertEquals(parseReference(text).toString(), text, `round trip of ${JSON.stringify(input)}`);
    // The familiar form drops "docker.io/"; like Docker's, it is ambiguous when the Hub path's first
    // component looks like a registry host ("docker.io/a.io/b" → "a.io/b"), which Hub names never do.
    const first = ref.path.split("/")[0];
    if (ref.domain !== "docker.io" || !/[.:]|^localhost$/.test(first)) {
      assertEquals(
        parseReference(ref.familiar).toString(),
        text,
        `familiar round trip of ${JSON.stringify(input)}`,
      );
    }
    assertEquals(parseReference(text, { canonical: true }).toString(), text);
    if (seen.length < 5) seen.push(text);
  });
  assert(stats.runs >= 1000, `only ${stats.runs} inputs in the time budget`);
  // The mutations keep enough inputs valid that the round trip is exercised, not only the refusals.
  assert(stats.accepted > stats.runs / 20, `accepted ${stats.accepted} of ${stats.runs}`);
});

Deno.test("parseDigest() on fuzzed input: only typed errors, and accepted digests are canonical", () => {
  const f = new Fuzzer(SEED + 1);
  const valid = [`sha256:${HEX.repeat(4)}`, `sha512:${HEX.repeat(8)}`];
  const stats = fuzz("parseDigest", 20_000, 2_000, () => {
    const roll = f.random();
    if (roll < 0.7) return mutateString(f, f.pick(valid));
    if (roll < 0.9) return randomString(f);
    return `sha256:${"a".repeat(f.int(100_000))}`;
  }, (input) => {
    const digest = parseDigest(input);
    assertEquals(digest.toString(), input);
    assert(/^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/.test(input), `accepted ${JSON.stringify(input)}`);
  });
  assert(stats.accepted > 0);
});

// ---- manifests and configs ---------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const D = (n: number) => `sha256:${String(n % 10).repeat(64)}`;
const MANIFEST: Json = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: D(1), size: 1234 },
  layers: [
    { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: D(2), size: 5678 },
    {
      mediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
      digest: D(3),
      size: 9,
      annotations: { "org.opencontainers.image.title": "x" },
    },
  ],
  annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" },
};
const DOCKER_MANIFEST: Json = {
  schemaVersion: 2,
  mediaType: "application/vnd.docker.distribution.manifest.v2+json",
  config: { mediaType: "application/vnd.docker.container.image.v1+json", digest: D(4), size: 100 },
  layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", digest: D(5), size: 200 }],
};
const INDEX: Json = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: D(6),
      size: 500,
      platform: { os: "linux", architecture: "amd64" },
    },
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: D(7),
      size: 501,
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
    },
  ],
};
const CONFIG: Json = {
  created: "2024-01-01T00:00:00Z",
  architecture: "amd64",
  os: "linux",
  config: { Env: ["PATH=/bin"], Cmd: ["/bin/sh"], Labels: { a: "b" }, ExposedPorts: { "80/tcp": {} } },
  rootfs: { type: "layers", diff_ids: [D(8), D(9)] },
  history: [{ created: "2024-01-01T00:00:00Z", created_by: "x" }, { empty_layer: true }],
};
const CONTENT_TYPES = [
  undefined,
  "",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
  "application/json; charset=utf-8",
  "text/html",
];

function randomValue(f: Fuzzer, depth = 0): Json {
  switch (f.int(depth > 3 ? 6 : 8)) {
    case 0:
      return null;
    case 1:
      return f.chance(0.5);
    case 2:
      return f.pick([0, -1, 1, 2, 1.5, 2 ** 53, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER + 2]);
    case 3:
      return f.pick(["", "sha256:", D(0), "linux", "amd64", "x".repeat(f.int(2000)), "\u0000", "../../x"]);
    case 4:
      return mutateString(f, f.pick(["application/vnd.oci.image.layer.v1.tar+gzip", D(1), "sha256:abc"]));
    case 5:
      return f.pick([[], {}, "__proto__", "constructor"]);
    case 6:
      return Array.from({ length: f.int(4) }, () => randomValue(f, depth + 1));
    default: {
      const out: Record<string, Json> = {};
      for (let i = f.int(4); i > 0; i--) {
        out[f.pick(["mediaType", "digest", "size", "layers", "config", "manifests", "platform", "x"])] =
          randomValue(f, depth + 1);
      }
      return out;
    }
  }
}

/** Mutates a JSON tree: drop, replace or add a key, change an array, at a random place. */
function mutateJson(f: Fuzzer, value: Json, depth = 0): Json {
  if (value === null || typeof value !== "object" || (depth > 0 && f.chance(0.3))) {
    return f.chance(0.5) ? randomValue(f) : value;
  }
  if (Array.isArray(value)) {
    const copy = [...value];
    const roll = f.int(4);
    if (roll === 0 && copy.length) copy.splice(f.int(copy.length), 1);
    else if (roll === 1) copy.push(f.chance(0.5) && copy.length ? copy[0] : randomValue(f));
    else if (copy.length) {
      const i = f.int(copy.length);
      copy[i] = mutateJson(f, copy[i], depth + 1);
    }
    return copy;
  }
  const copy: Record<string, Json> = { ...value };
  const keys = Object.keys(copy);
  const roll = f.int(4);
  if (roll === 0 && keys.length) delete copy[f.pick(keys)];
  else if (roll === 1) copy[f.pick([...keys, "extra", "__proto__", "schemaVersion"])] = randomValue(f);
  else if (keys.length) {
    const key = f.pick(keys);
    copy[key] = mutateJson(f, copy[key], depth + 1);
  }
  return copy;
}

const encoder = new TextEncoder();

function mutateBytes(f: Fuzzer, bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  switch (f.int(4)) {
    case 0:
      out[f.int(out.length)] ^= 1 << f.int(8);
      return out;
    case 1:
      return out.subarray(0, f.int(out.length));
    case 2: {
      const at = f.int(out.length);
      const insert = encoder.encode(f.pick(["{", "}", "[", "]", ",", '"', "\\", "\u00ff", "null", "1e999"]));
      const grown = new Uint8Array(out.length + insert.length);
      grown.set(out.subarray(0, at));
      grown.set(insert, at);
      grown.set(out.subarray(at), at + insert.length);
      return grown;
    }
    default:
      return Uint8Array.from({ length: f.int(64) }, () => f.int(256));
  }
}

function nested(depth: number, open: string, close: string): Uint8Array {
  return encoder.encode(open.repeat(depth) + close.repeat(depth));
}

function jsonInput(f: Fuzzer, seeds: Json[]): Uint8Array {
  const roll = f.random();
  if (roll < 0.55) {
    let value = f.pick(seeds);
    for (let k = 1 + f.int(3); k > 0; k--) value = mutateJson(f, value);
    return encoder.encode(JSON.stringify(value));
  }
  if (roll < 0.9) return mutateBytes(f, encoder.encode(JSON.stringify(f.pick(seeds))));
  if (roll < 0.95) return encoder.encode(JSON.stringify(randomValue(f)));
  // Deep nesting: a parser that recurses without a bound overflows the stack (a RangeError is fine).
  return f.chance(0.5) ? nested(1000 + f.int(50_000), "[", "]") : nested(1000 + f.int(20_000), '{"a":', "}");
}

Deno.test("parseManifest() on fuzzed manifests and indexes: only typed errors, no hang, sane results", () => {
  const f = new Fuzzer(SEED + 2);
  // The unmutated seeds parse: the fuzzer starts from valid documents.
  for (const seed of [MANIFEST, DOCKER_MANIFEST, INDEX]) parseManifest(encoder.encode(JSON.stringify(seed)));
  const stats = fuzz("parseManifest", 20_000, 4_000, () => ({
    bytes: jsonInput(f, [MANIFEST, DOCKER_MANIFEST, INDEX]),
    contentType: f.pick(CONTENT_TYPES),
  }), ({ bytes, contentType }) => {
    const parsed = parseManifest(bytes, contentType === undefined ? {} : { contentType });
    assert(parsed.bytes === bytes || equalBytes(parsed.bytes, bytes), "the bytes are kept as given");
    if (parsed.kind === "manifest") {
      assert(Array.isArray(parsed.manifest.layers));
      for (const d of [parsed.manifest.config, ...parsed.manifest.layers]) checkDescriptor(d);
    } else if (parsed.kind === "index") {
      assert(Array.isArray(parsed.index.manifests));
      for (const d of parsed.index.manifests) checkDescriptor(d);
    }
  });
  assert(stats.runs >= 1000, `only ${stats.runs} inputs in the time budget`);
  assert(stats.accepted > 0, "some mutated manifests are still valid");
});

Deno.test("parseImageConfig() on fuzzed configs: only typed errors, no hang, sane results", () => {
  const f = new Fuzzer(SEED + 3);
  parseImageConfig(encoder.encode(JSON.stringify(CONFIG)));
  const stats = fuzz("parseImageConfig", 20_000, 3_000, () => jsonInput(f, [CONFIG]), (bytes) => {
    const config = parseImageConfig(bytes);
    assert(Array.isArray(config.rootfs.diff_ids));
    for (const id of config.rootfs.diff_ids) parseDigest(id);
  });
  assert(stats.runs >= 1000, `only ${stats.runs} inputs in the time budget`);
  assert(stats.accepted > 0, "some mutated configs are still valid");
});

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** An accepted descriptor has a verifiable digest and a non-negative safe-integer size. */
function checkDescriptor(d: { digest: string; size: number; mediaType: string }): void {
  parseDigest(d.digest);
  assert(Number.isSafeInteger(d.size) && d.size >= 0, `size ${d.size}`);
  assertEquals(typeof d.mediaType, "string");
}
