import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { DigestVerifier } from "./digest_verifier.ts";
import { pattern, VECTORS } from "./_hasher_suite_test.ts";

const ABC = new TextEncoder().encode("abc");
const ABC256 = `sha256:${VECTORS.sha256.abc}`;
const ABC512 = `sha512:${VECTORS.sha512.abc}`;

Deno.test("DigestVerifier accepts exactly the expected bytes and returns the digest", async () => {
  const verifier = await DigestVerifier.create({ digest: ABC256, size: 3 });
  assertEquals([verifier.bytes, verifier.size, verifier.digest], [0, 3, ABC256]);
  verifier.update(ABC.subarray(0, 1));
  verifier.update(new Uint8Array(0));
  verifier.update(ABC.subarray(1));
  assertEquals(verifier.bytes, 3);
  assertEquals(verifier.verify(), ABC256);
  assertEquals(verifier.verify(), ABC256, "a second verify() repeats the verdict");
});

Deno.test("DigestVerifier verifies sha512 digests", async () => {
  const verifier = await DigestVerifier.create({ digest: ABC512, size: 3 });
  verifier.update(ABC);
  assertEquals(verifier.verify(), ABC512);
  const wrong = await DigestVerifier.create({ digest: ABC512, size: 3 });
  wrong.update(new TextEncoder().encode("abd"));
  assertThrows(() => wrong.verify(), TugError, {
    code: "DIGEST_MISMATCH",
    includes: `expected ${ABC512}, got sha512:`,
  });
});

Deno.test("DigestVerifier accepts an empty blob", async () => {
  const verifier = await DigestVerifier.create({ digest: `sha256:${VECTORS.sha256.empty}`, size: 0 });
  assertEquals(verifier.verify(), `sha256:${VECTORS.sha256.empty}`);
});

Deno.test("DigestVerifier.verify() reports a short blob with SIZE_MISMATCH, expected and got", async () => {
  const verifier = await DigestVerifier.create({ digest: ABC256, size: 3 });
  verifier.update(ABC.subarray(0, 2));
  const err = assertThrows(() => verifier.verify(), TugError, { code: "SIZE_MISMATCH" });
  assertStringIncludes(err.message, `blob "${ABC256}"`);
  assertStringIncludes(err.message, "ended early, expected 3 bytes, got 2");
  assertEquals(err.detail, { digest: ABC256, expected: 3, actual: 2 });
  // Not finished: the rest can still arrive (a resumed download).
  verifier.update(ABC.subarray(2));
  assertEquals(verifier.verify(), ABC256);
});

Deno.test("DigestVerifier.update() throws SIZE_MISMATCH on the first byte past the size, before the end", async () => {
  const big = pattern(1000);
  const verifier = await DigestVerifier.create({ digest: ABC256, size: 100 }, {
    name: 'layer "a1b2" of alpine',
  });
  verifier.update(big.subarray(0, 60));
  // The chunk that crosses the size is refused whole and not hashed; the bytes count stays.
  const err = assertThrows(() => verifier.update(big.subarray(60, 101)), TugError, { code: "SIZE_MISMATCH" });
  assertStringIncludes(err.message, 'Cannot verify layer "a1b2" of alpine: more bytes arrived than expected');
  assertStringIncludes(err.message, "expected 100 bytes, got at least 101");
  assertEquals(verifier.bytes, 60);
  // Once too long, always too long: later updates and verify() keep failing.
  assertThrows(() => verifier.update(new Uint8Array(0)), TugError, { code: "SIZE_MISMATCH" });
  assertThrows(() => verifier.verify(), TugError, { code: "SIZE_MISMATCH", includes: "got at least 101" });
});

Deno.test("DigestVerifier.update() refuses one extra byte after exactly size bytes", async () => {
  const verifier = await DigestVerifier.create({ digest: ABC256, size: 3 });
  verifier.update(ABC);
  assertThrows(() => verifier.update(new Uint8Array(1)), TugError, {
    code: "SIZE_MISMATCH",
    includes: `blob "${ABC256}": more bytes arrived than expected, expected 3 bytes, got at least 4`,
  });
});

Deno.test("DigestVerifier.verify() reports other content with DIGEST_MISMATCH, expected and got", async () => {
  const verifier = await DigestVerifier.create({ digest: ABC256, size: 3 }, { name: "config of alpine:3" });
  verifier.update(new TextEncoder().encode("abd"));
  const err = assertThrows(() => verifier.verify(), TugError, { code: "DIGEST_MISMATCH" });
  assertStringIncludes(err.message, "Cannot verify config of alpine:3: content does not match its digest");
  assertStringIncludes(
    err.message,
    `expected ${ABC256}, got sha256:a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9`,
  );
  assertThrows(() => verifier.verify(), TugError, { code: "DIGEST_MISMATCH" });
});

Deno.test("DigestVerifier.update() after verify() is a TypeError", async () => {
  const verifier = await DigestVerifier.create({ digest: ABC256, size: 3 });
  verifier.update(ABC);
  verifier.verify();
  assertThrows(() => verifier.update(new Uint8Array(0)), TypeError, {
    includes: "verify() was already called",
  });
});

Deno.test("DigestVerifier.create() refuses a bad digest or size", async () => {
  await assertRejects(() => DigestVerifier.create({ digest: "sha256:abc", size: 3 }), TugError, {
    code: "DIGEST_INVALID_FORMAT",
  });
  await assertRejects(
    () => DigestVerifier.create({ digest: "md5:d41d8cd98f00b204e9800998ecf8427e", size: 0 }),
    TugError,
    { code: "DIGEST_UNSUPPORTED" },
  );
  for (const size of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
    await assertRejects(() => DigestVerifier.create({ digest: ABC256, size }), RangeError, {
      includes: `got ${size}`,
    });
  }
});

Deno.test("DigestVerifier.create() uses the given hasher for the digest's algorithm", async () => {
  const asked: string[] = [];
  const verifier = await DigestVerifier.create({ digest: ABC512, size: 3 }, {
    hasher: (algorithm) => {
      asked.push(algorithm);
      return { update() {}, digest: () => VECTORS.sha512.abc };
    },
  });
  verifier.update(ABC);
  assertEquals(verifier.verify(), ABC512);
  assertEquals(asked, ["sha512"]);
});
