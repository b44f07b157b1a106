/**
 * Facts about the machine the command runs on, read through node:* so the same code runs on Deno and Node.
 *
 * @module
 */
import process from "node:process";
import os from "node:os";
import path from "node:path";

/**
 * The platform images are pulled for by default: linux on this machine's CPU, as Docker does.
 *
 * @example
 * ```ts
 * import { hostPlatform } from "./host.ts";
 *
 * console.assert(hostPlatform().startsWith("linux/"));
 * ```
 */
export function hostPlatform(): string {
  switch (process.arch) {
    case "x64":
      return "linux/amd64";
    case "arm64":
      return "linux/arm64/v8";
    case "arm":
      return "linux/arm/v7";
    case "ia32":
      return "linux/386";
    case "ppc64":
      return "linux/ppc64le";
    default:
      return `linux/${process.arch}`;
  }
}

/**
 * The default store folder: `$TUG_STORE`, else `$XDG_DATA_HOME/tug/store`, else `~/.local/share/tug/store`.
 *
 * @example
 * ```ts
 * import { defaultStoreDir } from "./host.ts";
 *
 * console.assert(defaultStoreDir({ TUG_STORE: "/tmp/s" }) === "/tmp/s");
 * ```
 */
export function defaultStoreDir(env: Record<string, string | undefined> = process.env): string {
  if (env.TUG_STORE) return env.TUG_STORE;
  const data = env.XDG_DATA_HOME || path.join(env.HOME || os.homedir(), ".local", "share");
  return path.join(data, "tug", "store");
}

/**
 * The user's tug config file: `$TUG_CONFIG`, else `$XDG_CONFIG_HOME/tug/config.json`, else `~/.config/tug/config.json`.
 *
 * @example
 * ```ts
 * import { configFilePath } from "./host.ts";
 *
 * console.assert(configFilePath({ XDG_CONFIG_HOME: "/c" }) === "/c/tug/config.json");
 * ```
 */
export function configFilePath(env: Record<string, string | undefined> = process.env): string {
  if (env.TUG_CONFIG) return env.TUG_CONFIG;
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), ".config");
  return path.join(base, "tug", "config.json");
}
