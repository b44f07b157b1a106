/**
 * TLS per registry host, as Docker's daemon sets it up (moby registry/registry.go `newTLSConfig`,
 * `ReadCertsDirectory`):
 *
 * - an insecure registry (`insecure-registries`, loopback always) is reached over https **without
 *   verifying its certificate** (`InsecureSkipVerify`); plain http comes only after https failed;
 * - any other registry is verified, trusting the system's roots plus the CA certificates (`*.crt`) of its
 *   certs.d folder (`/etc/docker/certs.d/HOST[:PORT]/`), and presents the client certificates found there
 *   (`*.cert` with the `*.key` of the same name) to registries that ask for one (mutual TLS).
 *
 * The core is fetch-only, so these settings live here: {@linkcode createRegistryTlsFetch} returns a
 * `fetch` that sends each https request with the settings of the request's `host[:port]`, and passes
 * everything else to the platform fetch.
 *
 * @module
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { isInsecureRegistry } from "../../src/registry/lookup_endpoints.ts";
import type { FetchLike } from "../../src/registry/types.ts";
import { createHttpsFetch, type HttpsSettings } from "./_https_fetch.ts";

/** Docker's certs.d folder (`CertsDir()` of a rootful daemon on Linux). */
export const DOCKER_CERTS_DIR = "/etc/docker/certs.d";

/** What one host's certs.d folder holds, as PEM text. */
export interface CertsDirectory {
  /** CA certificates (`*.crt`), trusted besides the system's roots. */
  ca: string[];
  /** Client certificates (`*.cert`), each with the key at the same index. */
  cert: string[];
  /** Client keys (`*.key`). */
  key: string[];
}

/**
 * Reads a host's certs.d folder by Docker's `ReadCertsDirectory` rules: `*.crt` files are CA roots;
 * `*.cert` is a client certificate whose key is the `*.key` of the same name; a `.cert` without its `.key`
 * (or the reverse) is an error. A folder that does not exist holds nothing.
 *
 * @throws {Error} When a client certificate lacks its key or a key its certificate, or a file cannot be read.
 *
 * @example
 * ```ts
 * import { readCertsDirectory } from "./registry_tls.ts";
 *
 * const none = await readCertsDirectory("/nonexistent/certs.d/registry.example:5000");
 * console.assert(none.ca.length === 0 && none.cert.length === 0);
 * ```
 */
export async function readCertsDirectory(dir: string): Promise<CertsDirectory> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return { ca: [], cert: [], key: [] };
    throw err;
  }
  const out: CertsDirectory = { ca: [], cert: [], key: [] };
  const read = (name: string) => readFile(path.join(dir, name), "utf8");
  for (const name of names) {
    if (name.endsWith(".crt")) {
      out.ca.push(await read(name));
    } else if (name.endsWith(".cert")) {
      const keyName = name.slice(0, -".cert".length) + ".key";
      if (!names.includes(keyName)) {
        // Docker's wording (registry.go ReadCertsDirectory).
        throw new Error(
          `missing key ${keyName} for client certificate ${name}. CA certificates must use the extension .crt (in ${dir})`,
        );
      }
      out.cert.push(await read(name));
      out.key.push(await read(keyName));
    } else if (name.endsWith(".key")) {
      const certName = name.slice(0, -".key".length) + ".cert";
      if (!names.includes(certName)) {
        throw new Error(`missing client certificate ${certName} for key ${name} (in ${dir})`);
      }
    }
  }
  return out;
}

/** Options for {@linkcode createRegistryTlsFetch}. */
export interface RegistryTlsOptions {
  /**
   * Registries reached without verifying their certificate (`insecure-registries`: `host[:port]` or CIDR;
   * loopback always), as `lookupEndpoints` reads them.
   */
  insecureRegistries?: readonly string[];
  /**
   * Folders holding one certs.d folder per `host[:port]`, read in order (default `[DOCKER_CERTS_DIR]`);
   * the CLI adds `certs.d` beside its config file.
   */
  certsDirs?: readonly string[];
  /**
   * Decides which hosts (`host[:port]`) are reached without verifying their certificate (default: those
   * `isInsecureRegistry(host, insecureRegistries)` names, which includes loopback, as Docker's
   * `isSecureIndex`). Pass `() => false` to verify every host, a loopback registry too.
   */
  isInsecure?: (host: string) => boolean;
  /** The fetch for plain http and for https hosts with default settings (default `globalThis.fetch`). */
  fetch?: FetchLike;
}

/**
 * A fetch that reaches each registry host with its TLS settings (see the module doc). The settings of a
 * host are read once, at its first request. `close()` ends the idle TLS connections it keeps.
 *
 * Per host, not per endpoint: a token server or a redirect target on another host gets its own settings
 * (verified unless it is insecure itself), where Docker's endpoint transport would also skip verifying
 * them.
 *
 * @example Pull from a loopback registry serving TLS with a self-signed certificate
 * ```ts ignore
 * import { createRegistryTlsFetch } from "./registry_tls.ts";
 * import { MemoryStore, pull } from "../../src/mod.ts";
 *
 * using fetch = createRegistryTlsFetch();
 * await pull("127.0.0.1:5000/team/app:1", { store: new MemoryStore(), fetch });
 * ```
 */
export function createRegistryTlsFetch(
  options: RegistryTlsOptions = {},
): FetchLike & Disposable & { close(): void } {
  const base: FetchLike = options.fetch ?? ((request) => globalThis.fetch(request));
  const dirs = options.certsDirs ?? [DOCKER_CERTS_DIR];
  const insecure = options.insecureRegistries ?? [];
  // Checked now, so a malformed entry fails before any request.
  isInsecureRegistry("", insecure);
  const isInsecure = options.isInsecure ?? ((host: string) => isInsecureRegistry(host, insecure));
  const hosts = new Map<string, Promise<(FetchLike & { close(): void }) | undefined>>();
  const forHost = async (host: string): Promise<(FetchLike & { close(): void }) | undefined> => {
    const settings: HttpsSettings = { verify: !isInsecure(host), ca: [], cert: [], key: [] };
    for (const dir of dirs) {
      // Docker's cleanPath: the host names a folder, never a path outside `dir`.
      if (host.includes("/") || host.includes("\\") || host === "." || host === "..") break;
      const found = await readCertsDirectory(path.join(dir, host));
      settings.ca.push(...found.ca);
      settings.cert.push(...found.cert);
      settings.key.push(...found.key);
    }
    if (settings.verify && settings.ca.length === 0 && settings.cert.length === 0) return undefined;
    return createHttpsFetch(settings);
  };
  const fetch: FetchLike = async (request) => {
    const url = new URL(request.url);
    if (url.protocol !== "https:") return await base(request);
    let entry = hosts.get(url.host);
    if (!entry) {
      entry = forHost(url.host);
      hosts.set(url.host, entry);
    }
    const special = await entry;
    return special ? await special(request) : await base(request);
  };
  const close = () => {
    for (const entry of hosts.values()) entry.then((f) => f?.close(), () => {});
    hosts.clear();
  };
  return Object.assign(fetch, { close, [Symbol.dispose]: close });
}
