/**
 * Docker's stored registry credentials as a tug {@linkcode CredentialProvider}: `config.json`'s `auths`,
 * `credHelpers` and `credsStore`, the way the docker CLI reads them. Runs on Deno and Node (node:* APIs).
 *
 * @module
 */

import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { TugError } from "../../src/errors.ts";
import { DOCKER_HUB_API_HOST, DOCKER_HUB_DOMAINS } from "../../src/registry/lookup_endpoints.ts";
import type { CredentialProvider, Credentials } from "../../src/registry/types.ts";
import { concatBytes } from "../../src/streams/bytes.ts";

/** Options for {@linkcode dockerCredentials}. */
export interface DockerCredentialsOptions {
  /** The folder holding `config.json` (default `$DOCKER_CONFIG`, else `~/.docker`). */
  configDir?: string;
  /** The environment to read `DOCKER_CONFIG` and `HOME` from and to run helpers with (default the process's). */
  env?: Record<string, string | undefined>;
  /** How long a credential helper may take, in milliseconds (default 30 000). */
  helperTimeoutMs?: number;
}

/** Where the docker CLI keeps Docker Hub's credentials (registry.IndexServer in the docker sources). */
/** The `auths` key `docker login` stores Docker Hub's credentials under. */
export const DOCKER_HUB_KEY = "https://index.docker.io/v1/";
const DOCKER_HUB_HOSTS = new Set([...DOCKER_HUB_DOMAINS, DOCKER_HUB_API_HOST]);

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The docker CLI's `ConvertToHostname`: drop the scheme and any path. */
function hostOfKey(key: string): string {
  const bare = key.replace(/^https?:\/\//i, "");
  return bare.split("/")[0].toLowerCase();
}

/** `host` as the docker CLI keys it: Docker Hub under its v1 index URL, anything else as it is. */
function isDockerHub(host: string): boolean {
  return DOCKER_HUB_HOSTS.has(host.toLowerCase());
}

/**
 * A {@linkcode CredentialProvider} that reads the docker CLI's `config.json` (from `configDir`,
 * `$DOCKER_CONFIG`, or `~/.docker`) on each call, in the CLI's order:
 *
 * 1. `credHelpers[<host>]`: runs `docker-credential-<helper> get` with the server URL on stdin;
 * 2. `credsStore`: the same with the default helper (a "not found" answer falls through);
 * 3. `auths[<host or URL>]`: `identitytoken` (an OAuth2 refresh token), `registrytoken`, base64 `auth`
 *    (`user:password`) or `username`/`password`.
 *
 * Docker Hub's hosts (`docker.io`, `index.docker.io`, `registry-1.docker.io`) all look up the key
 * `https://index.docker.io/v1/` (where `docker login` stores them), then their bare names. `auths` keys
 * may be URLs (`https://127.0.0.1:5000/v2/`) or hosts. A helper answering `Username: "<token>"` gave an
 * identity token. A missing config file means anonymous access; a helper that fails (other than "not
 * found") rejects with a `TugError` with code `AUTH_FAILED`.
 *
 * @example Credentials from a config directory
 * ```ts
 * import { dockerCredentials } from "./docker_config.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/config.json`,
 *   JSON.stringify({ auths: { "127.0.0.1:5000": { auth: btoa("alice:s3cret") } } }),
 * );
 * const credentials = dockerCredentials({ configDir: dir });
 * const found = await credentials("127.0.0.1:5000");
 * console.assert(found !== undefined && "username" in found && found.password === "s3cret");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function dockerCredentials(options: DockerCredentialsOptions = {}): CredentialProvider {
  const env = options.env ?? process.env;
  const dir = options.configDir ?? env.DOCKER_CONFIG ??
    join(env.HOME ?? env.USERPROFILE ?? homedir(), ".docker");
  const path = join(dir, "config.json");
  const timeout = options.helperTimeoutMs ?? 30_000;

  return async (host: string): Promise<Credentials | undefined> => {
    const config = await readConfig(path);
    if (config === undefined) return undefined;
    const hub = isDockerHub(host);
    const wanted = hub ? "index.docker.io" : host.toLowerCase();
    const helperKeys = hub
      ? [DOCKER_HUB_KEY, "index.docker.io", "docker.io", "registry-1.docker.io"]
      : [host];
    const serverUrl = hub ? DOCKER_HUB_KEY : host;

    // 1. A helper for this registry.
    const helpers = config.credHelpers ?? {};
    const helperKey = helperKeys.find((k) => typeof helpers[k] === "string" && helpers[k] !== "");
    if (helperKey !== undefined) {
      return runHelper(helpers[helperKey], helperKey, env, timeout);
    }
    // 2. The default store.
    if (typeof config.credsStore === "string" && config.credsStore !== "") {
      const found = await runHelper(config.credsStore, serverUrl, env, timeout);
      if (found !== undefined) return found;
    }
    // 3. The file itself: an exact key first, then any key naming the same host.
    const auths = config.auths ?? {};
    const exact = hub ? auths[DOCKER_HUB_KEY] : auths[host];
    const entry = exact ?? Object.entries(auths).find(([key]) => {
      const h = hostOfKey(key);
      return (isDockerHub(h) ? "index.docker.io" : h) === wanted;
    })?.[1];
    return entry === undefined ? undefined : fromEntry(entry, path);
  };
}

async function readConfig(path: string): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT" || (err as { code?: string }).code === "ENOTDIR") {
      return undefined;
    }
    throw new TugError(
      "AUTH_FAILED",
      `Cannot read docker credentials from ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  try {
    const json = JSON.parse(text);
    return typeof json === "object" && json !== null ? json as DockerConfig : {};
  } catch (err) {
    throw new TugError("AUTH_FAILED", `Cannot read docker credentials from ${path}: not JSON`, {
      cause: err,
    });
  }
}

function fromEntry(entry: AuthEntry, path: string): Credentials | undefined {
  if (typeof entry.identitytoken === "string" && entry.identitytoken !== "") {
    return { identityToken: entry.identitytoken };
  }
  if (typeof entry.registrytoken === "string" && entry.registrytoken !== "") {
    return { registryToken: entry.registrytoken };
  }
  if (typeof entry.auth === "string" && entry.auth !== "") {
    let decoded: string;
    try {
      const binary = atob(entry.auth.trim());
      decoded = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    } catch (err) {
      throw new TugError("AUTH_FAILED", `Cannot read docker credentials from ${path}: "auth" is not base64`, {
        cause: err,
      });
    }
    const colon = decoded.indexOf(":");
    if (colon < 0) {
      throw new TugError(
        "AUTH_FAILED",
        `Cannot read docker credentials from ${path}: "auth" is not user:password`,
      );
    }
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry.username === "string" && entry.username !== "" && typeof entry.password === "string") {
    return { username: entry.username, password: entry.password };
  }
  return undefined;
}

/**
 * Runs `docker-credential-<helper> get` (docker-credential-helpers protocol: the server URL on stdin,
 * `{"ServerURL","Username","Secret"}` on stdout; "credentials not found" on a failure means none).
 */
function runHelper(
  helper: string,
  serverUrl: string,
  env: Record<string, string | undefined>,
  timeout: number,
): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  const fail = (why: string, cause?: unknown) =>
    new TugError("AUTH_FAILED", `Cannot get credentials for "${serverUrl}" from ${program}: ${why}`, {
      ...(cause !== undefined ? { cause } : {}),
    });
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
    const child = spawn(program, ["get"], { env: childEnv, stdio: ["pipe", "pipe", "pipe"] });
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      child.kill("SIGKILL");
      reject(fail(`no answer within ${timeout} ms`));
    }, timeout);
    child.stdout.on("data", (chunk: Uint8Array) => out.push(chunk));
    child.stderr.on("data", (chunk: Uint8Array) => err.push(chunk));
    child.on("error", (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(fail(error.message, error));
    });
    child.on("close", (code: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const stdout = new TextDecoder().decode(concatBytes(out)).trim();
      if (code !== 0) {
        const said = stdout || new TextDecoder().decode(concatBytes(err)).trim();
        // docker-credential-helpers' ErrCredentialsNotFound message.
        if (/credentials not found/i.test(said)) return resolve(undefined);
        return reject(fail(`exited with ${code}${said ? `: ${said}` : ""}`));
      }
      let answer: { Username?: unknown; Secret?: unknown };
      try {
        answer = JSON.parse(stdout);
      } catch (error) {
        return reject(fail("its answer is not JSON", error));
      }
      const username = typeof answer.Username === "string" ? answer.Username : "";
      const secret = typeof answer.Secret === "string" ? answer.Secret : "";
      if (secret === "") return resolve(undefined);
      // docker-credential-helpers store identity tokens with the username "<token>".
      resolve(username === "<token>" ? { identityToken: secret } : { username, password: secret });
    });
    child.stdin.on("error", () => {}); // a helper that exits before reading stdin
    child.stdin.end(serverUrl);
  });
}
