import { assertEquals } from "../../test/_assert.ts";
import { parsePlatform } from "./parse_platform.ts";
import { platformMatches } from "./platform_matches.ts";
import type { Platform } from "./types.ts";

// Candidates are written as an index would: raw, not normalized.
function p(os: string, architecture: string, variant?: string): Platform {
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

Deno.test("platformMatches() matches equal platforms across spellings", () => {
  assertEquals(platformMatches(parsePlatform("linux/arm64"), p("linux", "arm64", "v8")), true);
  assertEquals(platformMatches(parsePlatform("linux/arm64/v8"), p("linux", "arm64")), true);
  assertEquals(platformMatches(p("linux", "aarch64"), p("Linux", "ARM64", "8")), true);
  assertEquals(platformMatches(parsePlatform("linux/amd64"), p("linux", "x86_64")), true);
  assertEquals(platformMatches(parsePlatform("linux/arm"), p("linux", "arm", "v7")), true);
});

Deno.test("platformMatches() refuses other operating systems and architectures", () => {
  assertEquals(platformMatches(parsePlatform("linux/amd64"), p("windows", "amd64")), false);
  assertEquals(platformMatches(parsePlatform("linux/amd64"), p("linux", "arm64")), false);
  assertEquals(platformMatches(parsePlatform("linux/386"), p("linux", "amd64")), false);
  assertEquals(
    platformMatches(parsePlatform("linux/arm/v6"), p("linux", "arm", "v7")),
    false,
    "no newer variant",
  );
  assertEquals(platformMatches(parsePlatform("linux/arm/v7"), p("linux", "arm64")), false);
  assertEquals(platformMatches(parsePlatform("linux/amd64"), p("linux", "amd64", "v2")), false);
});

Deno.test("platformMatches() accepts older compatible variants unless strict", () => {
  const cases: [string, Platform][] = [
    ["linux/arm/v7", p("linux", "arm", "v6")],
    ["linux/arm/v7", p("linux", "arm", "v5")],
    ["linux/amd64/v3", p("linux", "amd64", "v2")],
    ["linux/amd64/v3", p("linux", "amd64")],
    ["linux/amd64", p("linux", "386")],
    ["linux/arm64", p("linux", "arm", "v7")],
    ["linux/arm64/v8.2", p("linux", "arm64", "v8.1")],
    ["linux/arm64/v9", p("linux", "arm64", "v8.5")],
    ["linux/arm64/v9", p("linux", "arm64")],
  ];
  for (const [wanted, candidate] of cases) {
    assertEquals(
      platformMatches(parsePlatform(wanted), candidate),
      true,
      `${wanted} runs ${JSON.stringify(candidate)}`,
    );
    assertEquals(
      platformMatches(parsePlatform(wanted), candidate, { strict: true }),
      false,
      `${wanted} strict`,
    );
  }
  assertEquals(platformMatches(parsePlatform("linux/arm64/v9"), p("linux", "arm64", "v8.6")), false);
});
