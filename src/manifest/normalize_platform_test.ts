import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { normalizePlatform } from "./normalize_platform.ts";
import type { Platform } from "./types.ts";

Deno.test("normalizePlatform() maps architecture aliases and default variants as containerd does", () => {
  // [os, architecture, variant] in → [os, architecture, variant] out ("" = no variant)
  const table: [string, string, string | undefined, string, string, string][] = [
    ["linux", "x86_64", undefined, "linux", "amd64", ""],
    ["linux", "x86-64", undefined, "linux", "amd64", ""],
    ["linux", "AMD64", undefined, "linux", "amd64", ""],
    ["linux", "amd64", "v1", "linux", "amd64", ""],
    ["linux", "amd64", "3", "linux", "amd64", "v3"],
    ["linux", "amd64", "v2", "linux", "amd64", "v2"],
    ["linux", "aarch64", undefined, "linux", "arm64", "v8"],
    ["linux", "arm64", undefined, "linux", "arm64", "v8"],
    ["linux", "arm64", "", "linux", "arm64", "v8"],
    ["linux", "arm64", "8", "linux", "arm64", "v8"],
    ["linux", "arm64", "v8.0", "linux", "arm64", "v8"],
    ["linux", "arm64", "8.2", "linux", "arm64", "v8.2"],
    ["linux", "arm64", "9", "linux", "arm64", "v9"],
    ["linux", "arm64", "V9.0", "linux", "arm64", "v9"],
    ["linux", "armhf", undefined, "linux", "arm", "v7"],
    ["linux", "armhf", "v6", "linux", "arm", "v7"],
    ["linux", "armel", undefined, "linux", "arm", "v6"],
    ["linux", "arm", undefined, "linux", "arm", "v7"],
    ["linux", "arm", "7", "linux", "arm", "v7"],
    ["linux", "arm", "6", "linux", "arm", "v6"],
    ["linux", "arm", "5", "linux", "arm", "v5"],
    ["linux", "arm", "v8", "linux", "arm", "v8"],
    ["linux", "i386", "whatever", "linux", "386", ""],
    ["linux", "386", undefined, "linux", "386", ""],
    ["Linux", "s390x", undefined, "linux", "s390x", ""],
    ["WINDOWS", "amd64", undefined, "windows", "amd64", ""],
    ["macos", "arm64", undefined, "darwin", "arm64", "v8"],
    ["linux", "RISCV64", "RVA22U64", "linux", "riscv64", "rva22u64"],
  ];
  for (const [os, architecture, variant, wantOs, wantArch, wantVariant] of table) {
    const input: Platform = { os, architecture };
    if (variant !== undefined) input.variant = variant;
    const out = normalizePlatform(input);
    assertEquals(
      [out.os, out.architecture, out.variant ?? ""],
      [wantOs, wantArch, wantVariant],
      JSON.stringify(input),
    );
    if (wantVariant === "") assertEquals("variant" in out, false, "no empty variant key");
  }
});

Deno.test("normalizePlatform() keeps os.version and features and does not modify its input", () => {
  const input: Platform = {
    os: "Windows",
    architecture: "x86_64",
    "os.version": "10.0.20348.2582",
    "os.features": ["win32k"],
  };
  const out = normalizePlatform(input);
  assertEquals(out, {
    os: "windows",
    architecture: "amd64",
    "os.version": "10.0.20348.2582",
    "os.features": ["win32k"],
  });
  assertEquals(input.os, "Windows");
  assertEquals(input.architecture, "x86_64");
});

Deno.test("normalizePlatform() is idempotent", () => {
  for (const architecture of ["aarch64", "armhf", "x86_64", "i386", "arm"]) {
    const once = normalizePlatform({ os: "linux", architecture });
    assertEquals(normalizePlatform(once), once);
  }
});

Deno.test("normalizePlatform() throws a TypeError for a platform without string os/architecture", () => {
  assertThrows(() => normalizePlatform({ os: "linux" } as Platform), TypeError);
  assertThrows(() => normalizePlatform(null as unknown as Platform), TypeError);
  assertThrows(
    () => normalizePlatform({ os: "linux", architecture: "arm", variant: 7 } as unknown as Platform),
    TypeError,
  );
});
