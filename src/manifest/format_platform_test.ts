import { assertEquals } from "../../test/_assert.ts";
import { formatPlatform } from "./format_platform.ts";
import type { Platform } from "./types.ts";

Deno.test("formatPlatform() joins os, architecture and variant with slashes", () => {
  assertEquals(formatPlatform({ os: "linux", architecture: "amd64" }), "linux/amd64");
  assertEquals(formatPlatform({ os: "linux", architecture: "arm", variant: "v7" }), "linux/arm/v7");
  assertEquals(
    formatPlatform({ os: "windows", architecture: "amd64", "os.version": "10.0" }),
    "windows/amd64",
  );
});

Deno.test("formatPlatform() leaves the spelling alone and shows a platform without os as unknown", () => {
  assertEquals(formatPlatform({ os: "linux", architecture: "aarch64", variant: "" }), "linux/aarch64");
  assertEquals(formatPlatform({ os: "", architecture: "amd64" }), "unknown");
  assertEquals(formatPlatform({ os: "linux" } as Platform), "linux");
});
