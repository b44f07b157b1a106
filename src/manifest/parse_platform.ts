// This module is browser compatible.
/**
 * Parsing a platform specifier such as `linux/arm64/v8`.
 *
 * @module
 */
import { TugError } from "../errors.ts";
import { normalizePlatform } from "./normalize_platform.ts";
import type { Platform } from "./types.ts";

/** Options for {@linkcode parsePlatform}. */
export interface ParsePlatformOptions {
  /**
   * Fills in what a one-part specifier leaves out (`"linux"` lacks the architecture, `"arm64"` the os).
   * containerd takes the host's; the core cannot know the host, so the default is `linux/amd64`.
   */
  defaults?: Platform;
}

// containerd's specifier component grammar.
const COMPONENT = /^[A-Za-z0-9_.-]+$/;

// Operating systems and architectures containerd recognises in a one-part specifier (its isKnownOS and
// isKnownArch lists, plus the aliases normalization accepts).
const KNOWN_OS = new Set([
  "aix",
  "android",
  "darwin",
  "dragonfly",
  "freebsd",
  "hurd",
  "illumos",
  "ios",
  "js",
  "linux",
  "macos",
  "nacl",
  "netbsd",
  "openbsd",
  "plan9",
  "solaris",
  "wasip1",
  "windows",
  "zos",
]); // deno-fmt-ignore
const KNOWN_ARCH = new Set([
  "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips", "mipsle", "mips64",
  "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le", "riscv", "riscv64", "s390", "s390x",
  "sparc", "sparc64", "wasm", "i386", "x86_64", "x86-64", "aarch64", "armhf", "armel",
]); // deno-fmt-ignore

/**
 * Parses a platform specifier `os[/architecture[/variant]]` (the `--platform` flag of Docker and
 * containerd) and returns it normalized (see `normalizePlatform`): `linux/aarch64` → linux/arm64/v8.
 *
 * A one-part specifier is an os if it names a known os (`linux` → linux with the default architecture),
 * else an architecture if it names a known one (`arm64` → the default os), as containerd's
 * `platforms.Parse` does. Each part is letters, digits, `_`, `.` and `-`. Anything else is a
 * {@linkcode TugError} `PLATFORM_INVALID`; a non-string is a `TypeError`.
 *
 * @example
 * ```ts
 * import { parsePlatform } from "./parse_platform.ts";
 *
 * const p = parsePlatform("linux/arm64/v8");
 * console.assert(p.os === "linux" && p.architecture === "arm64" && p.variant === "v8");
 * console.assert(parsePlatform("linux/arm").variant === "v7");
 * ```
 */
export function parsePlatform(specifier: string, options: ParsePlatformOptions = {}): Platform {
  if (typeof specifier !== "string") {
    throw new TypeError(`parsePlatform() expects a string, got ${typeof specifier}`);
  }
  const fail = (why: string): never => {
    throw new TugError(
      "PLATFORM_INVALID",
      `Invalid platform ${JSON.stringify(specifier)}: ${why} (expected os[/architecture[/variant]], e.g. linux/arm64/v8)`,
    );
  };
  const parts = specifier.split("/");
  if (parts.length > 3) fail("too many parts");
  for (const part of parts) {
    if (!COMPONENT.test(part)) {
      fail(part === "" ? "empty part" : `${JSON.stringify(part)} has characters other than [A-Za-z0-9_.-]`);
    }
  }
  if (parts.length === 1) {
    const defaults = options.defaults ?? { os: "linux", architecture: "amd64" };
    const word = parts[0].toLowerCase();
    if (KNOWN_OS.has(word)) {
      const p: Platform = { os: word, architecture: defaults.architecture };
      if (defaults.variant !== undefined) p.variant = defaults.variant;
      return normalizePlatform(p);
    }
    if (KNOWN_ARCH.has(word)) return normalizePlatform({ os: defaults.os, architecture: word });
    fail(`${JSON.stringify(parts[0])} is neither a known operating system nor a known architecture`);
  }
  const p: Platform = { os: parts[0], architecture: parts[1] };
  if (parts.length === 3) p.variant = parts[2];
  return normalizePlatform(p);
}
