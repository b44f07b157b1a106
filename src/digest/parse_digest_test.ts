import { assertEquals, assertStringIncludes, assertThrows } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { parseDigest } from "./parse_digest.ts";

const HEX64 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const HEX128 = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" +
  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

Deno.test("parseDigest() accepts sha256 with 64 and sha512 with 128 lowercase hex characters", () => {
  const accepted: Array<[string, "sha256" | "sha512", string]> = [
    [`sha256:${HEX64}`, "sha256", HEX64],
    [`sha512:${HEX128}`, "sha512", HEX128],
    [`sha256:${"0".repeat(64)}`, "sha256", "0".repeat(64)],
    [`sha256:${"f".repeat(64)}`, "sha256", "f".repeat(64)],
  ];
  for (const [input, algorithm, hex] of accepted) {
    const digest = parseDigest(input);
    assertEquals([digest.algorithm, digest.hex, digest.toString(), `${digest}`], [
      algorithm,
      hex,
      input,
      input,
    ]);
    assertEquals(Object.isFrozen(digest), true, input);
  }
});

// Every refusal: [input, code, a part of the message that names the reason].
const REFUSED: Array<[string, "DIGEST_INVALID_FORMAT" | "DIGEST_UNSUPPORTED", string]> = [
  ["", "DIGEST_INVALID_FORMAT", "it is empty"],
  [HEX64, "DIGEST_INVALID_FORMAT", 'no "algorithm:" prefix'],
  [`:${HEX64}`, "DIGEST_INVALID_FORMAT", "algorithm before the colon is empty"],
  ["sha256:", "DIGEST_INVALID_FORMAT", "encoded part after the colon is empty"],
  [`SHA256:${HEX64}`, "DIGEST_INVALID_FORMAT", "has uppercase letters"],
  [`sha256:${HEX64.toUpperCase()}`, "DIGEST_INVALID_FORMAT", "sha256 hex has uppercase letters"],
  [`sha256:${HEX64.slice(0, 63)}A`, "DIGEST_INVALID_FORMAT", "sha256 hex has uppercase letters"],
  [`sha256:${HEX64.slice(1)}`, "DIGEST_INVALID_FORMAT", "needs exactly 64 hex characters, got 63"],
  [`sha256:${HEX64}0`, "DIGEST_INVALID_FORMAT", "needs exactly 64 hex characters, got 65"],
  [`sha512:${HEX64}`, "DIGEST_INVALID_FORMAT", "needs exactly 128 hex characters, got 64"],
  [`sha256:${HEX128}`, "DIGEST_INVALID_FORMAT", "needs exactly 64 hex characters, got 128"],
  [`sha256:${HEX64.slice(0, 63)}g`, "DIGEST_INVALID_FORMAT", "characters outside [0-9a-f]"],
  // Path and URL tricks: nothing that could climb a directory or smuggle a separator gets through.
  ["sha256:../../../../etc/passwd", "DIGEST_INVALID_FORMAT", "characters outside [0-9a-f]"],
  [`sha256:${HEX64.slice(0, 60)}/../`, "DIGEST_INVALID_FORMAT", "characters outside [0-9a-f]"],
  [`sha256:${HEX64.slice(0, 61)}%2f`, "DIGEST_INVALID_FORMAT", "characters outside [0-9a-f]"],
  [`sha256:${HEX64.slice(0, 61)}%2F`, "DIGEST_INVALID_FORMAT", "characters outside [0-9a-f]"],
  [`../sha256:${HEX64}`, "DIGEST_INVALID_FORMAT", "characters outside [a-z0-9]"],
  [`sha256/..:${HEX64}`, "DIGEST_INVALID_FORMAT", "characters outside [a-z0-9]"],
  [`sha256:${HEX64}\n`, "DIGEST_INVALID_FORMAT", "characters outside [0-9a-f]"],
  [`sha256:${HEX64} `, "DIGEST_INVALID_FORMAT", "characters outside [0-9a-f]"],
  [` sha256:${HEX64}`, "DIGEST_INVALID_FORMAT", "characters outside [a-z0-9]"],
  [`sha256 :${HEX64}`, "DIGEST_INVALID_FORMAT", "characters outside [a-z0-9]"],
  [`sha256:\t${HEX64.slice(1)}`, "DIGEST_INVALID_FORMAT", "characters outside [0-9a-f]"],
  [`sha256:${HEX64.slice(0, 63)}\u0000`, "DIGEST_INVALID_FORMAT", "characters outside [0-9a-f]"],
  [`sha256:${HEX64.slice(0, 63)}\u0435`, "DIGEST_INVALID_FORMAT", "characters outside [0-9a-f]"],
  [`sha256:${HEX64}:${HEX64}`, "DIGEST_INVALID_FORMAT", "characters outside [0-9a-f]"],
  [`sha256::${HEX64}`, "DIGEST_INVALID_FORMAT", "characters outside [0-9a-f]"],
  [`sha256+:${HEX64}`, "DIGEST_INVALID_FORMAT", "characters outside [a-z0-9]"],
  ["md5:", "DIGEST_INVALID_FORMAT", "encoded part after the colon is empty"],
  ["md5:d41d8cd98f00b204e9800998ecf8427e/..", "DIGEST_INVALID_FORMAT", "characters outside [a-zA-Z0-9=_-]"],
  // Well-formed per the OCI grammar, but not an algorithm tug implements.
  ["md5:d41d8cd98f00b204e9800998ecf8427e", "DIGEST_UNSUPPORTED", 'algorithm "md5" is not supported'],
  [`sha384:${HEX64}${HEX64.slice(0, 32)}`, "DIGEST_UNSUPPORTED", 'algorithm "sha384" is not supported'],
  [
    "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
    "DIGEST_UNSUPPORTED",
    '"blake3"',
  ],
  [`multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8`, "DIGEST_UNSUPPORTED", "not supported"],
  [`sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564`, "DIGEST_UNSUPPORTED", "not supported"],
];

Deno.test("parseDigest() refuses every malformed or unsupported digest and says why", () => {
  for (const [input, code, reason] of REFUSED) {
    const err = assertThrows(() => parseDigest(input), TugError, { code, includes: reason });
    // The message quotes the input (JSON-escaped) and says what was expected.
    assertStringIncludes(err.message, JSON.stringify(input), `message for ${JSON.stringify(input)}`);
    assertStringIncludes(err.message, 'expected "sha256:" + 64 or "sha512:" + 128 lowercase hex characters');
  }
});

Deno.test("parseDigest() quotes at most 200 characters of a huge input", () => {
  const input = `sha256:${"a".repeat(1_000_000)}`;
  const err = assertThrows(() => parseDigest(input), TugError, { code: "DIGEST_INVALID_FORMAT" });
  assertStringIncludes(err.message, "got 1000000");
  assertEquals(err.message.length < 500, true, `message is ${err.message.length} characters`);
});

Deno.test("parseDigest() refuses a non-string with a TypeError", () => {
  for (const value of [undefined, null, 42, { toString: () => `sha256:${HEX64}` }]) {
    assertThrows(() => parseDigest(value as unknown as string), TypeError, { includes: "expected a string" });
  }
});
