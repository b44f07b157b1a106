/**
 * tug's config file (`$TUG_CONFIG`, else `~/.config/tug/config.json`): the keys of Docker's daemon.json that
 * a pull uses, under the same names — `registry-mirrors`, `insecure-registries`, `enable-legacy-registry`,
 * `max-concurrent-downloads`. Other keys are ignored, as the daemon ignores keys it does not use here.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { UsageError } from "./_args.ts";
import { configFilePath } from "./host.ts";
import { isInsecureRegistry, normalizeMirror } from "../../src/registry/lookup_endpoints.ts";

/** What the config file sets (each key undefined when the file does not set it). */
export interface ConfigFile {
  /** `registry-mirrors`: Docker Hub mirrors tried first. */
  mirrors?: string[];
  /** `insecure-registries`: registries (host[:port] or CIDR) that may use plain http. */
  insecureRegistries?: string[];
  /** `enable-legacy-registry`: also try legacy v1 registries. */
  legacyRegistry?: boolean;
  /** `max-concurrent-downloads`: downloads at once. */
  maxConcurrentDownloads?: number;
}

/**
 * Reads the config file's text. Every mistake is a {@linkcode UsageError} naming the file and the key.
 *
 * @param text The file's content.
 * @param file The file's path, for messages.
 *
 * @example
 * ```ts
 * import { parseConfigFile } from "./_config_file.ts";
 *
 * const config = parseConfigFile(`{"registry-mirrors": ["https://mirror.example"]}`, "config.json");
 * console.assert(config.mirrors?.[0] === "https://mirror.example");
 * ```
 */
export function parseConfigFile(text: string, file: string): ConfigFile {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const list = (key: string): string[] | undefined => {
    const value = json[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
      throw new UsageError(`config file ${file}: "${key}" must be a list of strings`);
    }
    return value;
  };
  const legacy = json["enable-legacy-registry"];
  if (legacy !== undefined && typeof legacy !== "boolean") {
    throw new UsageError(`config file ${file}: "enable-legacy-registry" must be true or false`);
  }
  const mcd = json["max-concurrent-downloads"];
  if (mcd !== undefined && (!Number.isInteger(mcd) || (mcd as number) < 1)) {
    throw new UsageError(`config file ${file}: "max-concurrent-downloads" must be a positive integer`);
  }
  const mirrors = list("registry-mirrors");
  const insecureRegistries = list("insecure-registries");
  // Checked when the configuration is loaded, as Docker's daemon does, not only when Docker Hub is pulled.
  try {
    mirrors?.forEach((m) => normalizeMirror(m));
    isInsecureRegistry("", insecureRegistries);
  } catch (err) {
    throw new UsageError(`config file ${file}: ${(err as Error).message}`);
  }
  return {
    mirrors,
    insecureRegistries,
    legacyRegistry: legacy as boolean | undefined,
    maxConcurrentDownloads: mcd as number | undefined,
  };
}

/**
 * Reads the config file at `file` (default {@linkcode configFilePath}); a missing file sets nothing.
 *
 * @example
 * ```ts
 * import { readConfigFile } from "./_config_file.ts";
 *
 * const config = await readConfigFile("/nonexistent/tug/config.json");
 * console.assert(config.mirrors === undefined);
 * ```
 */
export async function readConfigFile(file: string = configFilePath()): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return {};
    throw err;
  }
  return parseConfigFile(text, file);
}
