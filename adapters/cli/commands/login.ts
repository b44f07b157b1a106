/**
 * `tug login [--username U] [--password-stdin] [SERVER]`: checks the credentials against the registry, then
 * stores them where `docker login` does, so `tug pull` (and docker, podman, skopeo) use them.
 *
 * @module
 */
import process from "node:process";
import { Buffer } from "node:buffer";
import { createInterface } from "node:readline";
import { defineCommand, UsageError } from "../_args.ts";
import { VERSION } from "./version.ts";
import { TugError } from "../../../src/errors.ts";
import { createRegistryFetch } from "../../../src/registry/create_registry_fetch.ts";
import { singleAttempt } from "../../../src/registry/retry_policy.ts";
import { lookupEndpoints } from "../../../src/registry/lookup_endpoints.ts";
import { TokenCache } from "../../../src/registry/token_cache.ts";
import type { FetchLike } from "../../../src/registry/types.ts";
import { registryFetch } from "./_registry_fetch.ts";
import {
  authField,
  dockerConfigPath,
  helperFor,
  type LoginServer,
  loginServer,
  readDockerConfig,
  runCredentialHelper,
  writeDockerConfig,
} from "../_docker_config_file.ts";

const LOGIN = defineCommand({
  synopsis: `Usage: tug login [OPTIONS] [SERVER]

Log in to a registry: the credentials are checked against SERVER (default Docker Hub), then stored in
$DOCKER_CONFIG/config.json (or ~/.docker/config.json) as 'docker login' stores them: base64 "user:password"
under "auths", file mode 0600, the file's other keys kept. When the file names a credential helper for
SERVER ("credHelpers", else "credsStore"), the password goes to docker-credential-<helper> instead.`,
  flags: {
    username: {
      type: "string",
      short: "u",
      value: "U",
      help: "Username (asked on a terminal when not given)",
    },
    "password-stdin": { type: "boolean", help: "Read the password from stdin" },
    password: {
      type: "string",
      short: "p",
      value: "P",
      help: "Password (insecure: it shows in the process list; prefer --password-stdin)",
    },
    "insecure-registry": {
      type: "list",
      value: "H",
      help: "Registry (host[:port] or CIDR) that may use plain http (loopback always may)",
    },
  },
  column: 24,
});

/** Reads stdin to its end (the password of --password-stdin), without the trailing newline. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  const text = Buffer.concat(chunks).toString("utf8");
  // docker's --password-stdin: trailing \n and \r are trimmed.
  return text.replace(/[\r\n]+$/, "");
}

/** Asks a question on the terminal; with `hidden`, what is typed is not echoed. */
function ask(question: string, hidden: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    if (hidden) {
      // Print the question, then swallow the echo of each key.
      const out = rl as unknown as { _writeToOutput?: (s: string) => void };
      process.stdout.write(question);
      out._writeToOutput = (s: string) => {
        if (s.includes("\n")) process.stdout.write("\n");
      };
      rl.question("", (answer) => {
        rl.close();
        resolve(answer);
      });
    } else {
      rl.question(question, (answer) => {
        rl.close();
        resolve(answer);
      });
    }
    rl.on("SIGINT", () => {
      rl.close();
      reject(new TugError("ABORTED", "The login was interrupted"));
    });
  });
}

/**
 * Checks `username`/`password` the way `docker login` does (loginV2): `GET /v2/` through the same
 * transport a pull uses (Basic, or a token with no scope for the account); anything but a 2xx is a
 * refusal. https first; plain http only for insecure registries (loopback by default), when https cannot
 * be reached.
 */
async function verify(server: LoginServer, username: string, password: string, insecure: string[]) {
  const fetch = registryFetch(insecure);
  try {
    await verifyWith(fetch, server, username, password, insecure);
  } finally {
    fetch.close();
  }
}

async function verifyWith(
  fetch: FetchLike,
  server: LoginServer,
  username: string,
  password: string,
  insecure: string[],
) {
  const endpoints = lookupEndpoints(server.host, { insecureRegistries: insecure }).filter((e) =>
    e.version === 2 && !e.mirror
  );
  let lastError: unknown;
  for (const endpoint of endpoints) {
    const tokenCache = new TokenCache();
    // 1. Ping anonymously (one attempt): is there a v2 registry here, and does it want credentials?
    const plain = createRegistryFetch({
      fetch,
      anonymous: true,
      retry: singleAttempt(),
      userAgent: `tug/${VERSION}`,
    });
    let ping: Response;
    try {
      ping = await plain(new Request(`${endpoint.url}/v2/`));
      await ping.body?.cancel();
    } catch (err) {
      lastError = err;
      continue; // https not there: try plain http when allowed, as docker does
    }
    if (ping.status !== 200 && ping.status !== 401) {
      throw new TugError(
        "UNEXPECTED_STATUS",
        `Cannot log in to ${server.host}: GET ${endpoint.url}/v2/ returned ${ping.status}`,
      );
    }
    // 2. The same request with the credentials: Basic, or a token for no repository in particular.
    const authed = createRegistryFetch({
      fetch,
      credentials: { username, password },
      tokenCache,
      scope: [],
      retry: singleAttempt(),
      userAgent: `tug/${VERSION}`,
    });
    let response: Response;
    try {
      response = await authed(new Request(`${endpoint.url}/v2/`));
      await response.body?.cancel();
    } catch (err) {
      if (err instanceof TugError) {
        throw new TugError(err.code, `Cannot log in to ${server.host}: ${err.message}`, { cause: err });
      }
      throw err;
    }
    if (response.status === 401 || response.status === 403) {
      throw new TugError(
        "UNAUTHORIZED",
        `Cannot log in to ${server.host}: unauthorized: incorrect username or password ` +
          `(GET ${endpoint.url}/v2/ returned ${response.status})`,
      );
    }
    if (!response.ok) {
      throw new TugError(
        "UNEXPECTED_STATUS",
        `Cannot log in to ${server.host}: GET ${endpoint.url}/v2/ returned ${response.status}`,
      );
    }
    return;
  }
  throw new TugError(
    "NETWORK",
    `Cannot log in to ${server.host}: no registry answered at ${endpoints.map((e) => e.url).join(", ")}` +
      (lastError instanceof Error ? ` (${lastError.message})` : ""),
    { cause: lastError },
  );
}

/**
 * Runs `tug login` with `argv` (the arguments after `login`) and returns the exit code.
 *
 * @example
 * ```ts
 * import { loginCommand } from "./login.ts";
 *
 * console.assert((await loginCommand(["--help"])) === 0);
 * ```
 */
export async function loginCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = LOGIN.parse(argv);
  if (flags.help) {
    process.stdout.write(LOGIN.usage + "\n");
    return 0;
  }
  if (positionals.length > 1) {
    throw new UsageError(`"tug login" takes at most 1 argument (a server)\n\n${LOGIN.usage}`);
  }
  const server = loginServer(positionals[0]);
  let username = flags.username;
  let password = flags.password;
  if (password !== undefined) {
    if (flags["password-stdin"]) {
      throw new UsageError("--password and --password-stdin are mutually exclusive");
    }
    process.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
  }
  if (flags["password-stdin"]) {
    if (username === undefined) throw new UsageError("Must provide --username with --password-stdin");
    password = await readStdin();
  }
  if (username === undefined || password === undefined) {
    if (!process.stdin.isTTY) {
      throw new UsageError(
        "Cannot perform an interactive login from a non TTY device (use --username and --password-stdin)",
      );
    }
    username ??= (await ask("Username: ", false)).trim();
    password ??= await ask("Password: ", true);
  }
  if (username === "") throw new UsageError("Username is required");
  if (password === "") throw new UsageError("Password is required");

  await verify(server, username, password, flags["insecure-registry"] ?? []);

  const path = dockerConfigPath();
  const config = await readDockerConfig(path);
  const auths = (typeof config.auths === "object" && config.auths !== null ? config.auths : {}) as Record<
    string,
    unknown
  >;
  const helper = helperFor(config, server.key);
  if (helper !== undefined) {
    // docker's native store: the secret goes to the helper, the file keeps an empty entry for the server.
    await runCredentialHelper(
      helper,
      "store",
      JSON.stringify({ ServerURL: server.key, Username: username, Secret: password }),
    );
    auths[server.key] = {};
    process.stdout.write(`Credentials stored with docker-credential-${helper}.\n`);
  } else {
    auths[server.key] = { auth: authField(username, password) };
    process.stderr.write(`WARNING! Your password will be stored unencrypted in ${path}.\n`);
  }
  config.auths = auths;
  await writeDockerConfig(path, config);
  process.stdout.write("Login Succeeded\n");
  return 0;
}
