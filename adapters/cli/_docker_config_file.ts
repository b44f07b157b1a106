/**
 * Writing the docker CLI's `config.json` the way `docker login`/`docker logout` do: the `auths` entry of one
 * server, other keys left as they are, the file replaced atomically with mode 0600; or, when a credential
 * helper is configured for the server (`credHelpers`, `credsStore`), the secret given to
 * `docker-credential-<helper> store`/`erase` and only an empty `auths` entry kept in the file.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { chmod, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { Buffer } from "node:buffer";
import { TugError } from "../../src/errors.ts";
import { DOCKER_HUB_API_HOST, DOCKER_HUB_DOMAINS } from "../../src/registry/lookup_endpoints.ts";
import { DOCKER_HUB_KEY } from "../fs/docker_config.ts";

/** Where `docker login` keeps Docker Hub's credentials (registry.IndexServer). */
export { DOCKER_HUB_KEY };
const DOCKER_HUB_HOSTS = new Set([...DOCKER_HUB_DOMAINS, DOCKER_HUB_API_HOST]);

/** A login server as `docker login` files it: the config key, and the host to verify against. */
export interface LoginServer {
  /** The `auths` key: `https://index.docker.io/v1/` for Docker Hub, else `host[:port]`. */
  readonly key: string;
  /** `host[:port]` for endpoint lookup (`docker.io` for Docker Hub). */
  readonly host: string;
  readonly hub: boolean;
}

/** Reads a SERVER argument like the docker CLI: scheme and path dropped, Docker Hub's names folded into one. */
export function loginServer(server: string | undefined): LoginServer {
  if (server === undefined || server === "") return { key: DOCKER_HUB_KEY, host: "docker.io", hub: true };
  const host = server.replace(/^https?:\/\//i, "").split("/")[0].toLowerCase();
  if (host === "" || /[\s@]/.test(host)) throw new TypeError(`Invalid registry server "${server}"`);
  if (DOCKER_HUB_HOSTS.has(host)) return { key: DOCKER_HUB_KEY, host: "docker.io", hub: true };
  return { key: host, host, hub: false };
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (the same file `dockerCredentials` reads). */
export function dockerConfigPath(env: Record<string, string | undefined> = process.env): string {
  const dir = env.DOCKER_CONFIG ?? join(env.HOME ?? env.USERPROFILE ?? homedir(), ".docker");
  return join(dir, "config.json");
}

/** The parsed file (an empty object when it does not exist). */
export async function readDockerConfig(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return {};
    throw new TugError("STORE_IO", `Cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (text.trim() === "") return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TugError("AUTH_FAILED", `Cannot update ${path}: it is not valid JSON`, { cause: err });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TugError("AUTH_FAILED", `Cannot update ${path}: it is not a JSON object`);
  }
  return json as Record<string, unknown>;
}

/** Replaces the file atomically (temp file in the same folder, then rename), mode 0600 as docker writes it. */
export async function writeDockerConfig(path: string, config: Record<string, unknown>): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
  try {
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(JSON.stringify(config, null, "\t") + "\n");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temp, 0o600); // the umask may have taken bits away; never added any
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw new TugError("STORE_IO", `Cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The credential helper `docker login` would use for `key`: `credHelpers[key]`, else `credsStore`. */
export function helperFor(config: Record<string, unknown>, key: string): string | undefined {
  const helpers = config.credHelpers as Record<string, unknown> | undefined;
  const own = helpers && typeof helpers === "object" ? helpers[key] : undefined;
  if (typeof own === "string" && own !== "") return own;
  return typeof config.credsStore === "string" && config.credsStore !== "" ? config.credsStore : undefined;
}

/** `user:password` in base64, the `auth` field. */
export function authField(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, "utf8").toString("base64");
}

/**
 * Runs `docker-credential-<helper> <action>` with `input` on stdin (docker-credential-helpers protocol:
 * `store` takes `{"ServerURL","Username","Secret"}`, `erase` the server URL).
 */
export function runCredentialHelper(
  helper: string,
  action: "store" | "erase",
  input: string,
  timeoutMs = 30_000,
): Promise<void> {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let settled = false;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      done(new TugError("AUTH_FAILED", `${program} ${action}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => out.push(c));
    child.on(
      "error",
      (err: Error) =>
        done(new TugError("AUTH_FAILED", `Cannot run ${program} ${action}: ${err.message}`, { cause: err })),
    );
    child.on("close", (code: number | null) => {
      if (code === 0) return done();
      const said = Buffer.concat(out).toString("utf8").trim();
      done(new TugError("AUTH_FAILED", `${program} ${action} exited with ${code}${said ? `: ${said}` : ""}`));
    });
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}
