import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { validateDigest } from "./validate_digest.ts";

const HEX64 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

Deno.test("validateDigest() returns a valid digest unchanged", () => {
  assertEquals(validateDigest(`sha256:${HEX64}`), `sha256:${HEX64}`);
  assertEquals(validateDigest(`sha512:${HEX64}${HEX64}`), `sha512:${HEX64}${HEX64}`);
});

Deno.test("validateDigest() throws the same errors as parseDigest()", () => {
  assertThrows(() => validateDigest(`sha256:${HEX64.slice(1)}/`), TugError, {
    code: "DIGEST_INVALID_FORMAT",
  });
  assertThrows(() => validateDigest("md5:d41d8cd98f00b204e9800998ecf8427e"), TugError, {
    code: "DIGEST_UNSUPPORTED",
    includes: '"md5:d41d8cd98f00b204e9800998ecf8427e"',
  });
});
