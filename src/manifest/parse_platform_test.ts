import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { formatPlatform } from "./format_platform.ts";
import { parsePlatform } from "./parse_platform.ts";

Deno.test("parsePlatform() parses os[/arch[/variant]] into a normalized platform", () => {
  const table: [string, string][] = [
    ["linux/amd64", "linux/amd64"],
    ["linux/x86_64", "linux/amd64"],
    ["linux/arm64", "linux/arm64/v8"],
    ["linux/arm64/v8", "linux/arm64/v8"],
    ["linux/aarch64", "linux/arm64/v8"],
    ["linux/arm", "linux/arm/v7"],
    ["linux/arm/v6", "linux/arm/v6"],
    ["linux/arm/7", "linux/arm/v7"],
    ["linux/armhf", "linux/arm/v7"],
    ["linux/armel", "linux/arm/v6"],
    ["linux/i386", "linux/386"],
    ["Linux/S390X", "linux/s390x"],
    ["windows/amd64", "windows/amd64"],
    ["linux/riscv64", "linux/riscv64"],
    ["freebsd/amd64/v3", "freebsd/amd64/v3"],
  ];
  for (const [specifier, want] of table) {
    assertEquals(formatPlatform(parsePlatform(specifier)), want, specifier);
  }
});

Deno.test("parsePlatform() fills a one-part os or architecture from the defaults", () => {
  assertEquals(parsePlatform("linux"), { os: "linux", architecture: "amd64" });
  assertEquals(parsePlatform("arm64"), { os: "linux", architecture: "arm64", variant: "v8" });
  assertEquals(parsePlatform("aarch64"), { os: "linux", architecture: "arm64", variant: "v8" });
  const defaults = { os: "darwin", architecture: "arm", variant: "v6" };
  assertEquals(parsePlatform("linux", { defaults }), { os: "linux", architecture: "arm", variant: "v6" });
  assertEquals(parsePlatform("s390x", { defaults }), { os: "darwin", architecture: "s390x" });
});

Deno.test("parsePlatform() refuses malformed specifiers with PLATFORM_INVALID", () => {
  const bad: [string, string][] = [
    ["", "empty part"],
    ["linux/", "empty part"],
    ["/amd64", "empty part"],
    ["linux//v7", "empty part"],
    ["linux/arm/v7/extra", "too many parts"],
    ["linux/amd 64", "characters other than"],
    ["linux/amd64/v8:1", "characters other than"],
    ["plan10", "neither a known operating system nor a known architecture"],
  ];
  for (const [specifier, includes] of bad) {
    const err = assertThrows(() => parsePlatform(specifier), TugError, {
      code: "PLATFORM_INVALID",
      includes,
    });
    assertEquals(err.message.startsWith(`Invalid platform ${JSON.stringify(specifier)}`), true, err.message);
  }
});

Deno.test("parsePlatform() throws a TypeError for a non-string", () => {
  assertThrows(() => parsePlatform(undefined as unknown as string), TypeError);
});
