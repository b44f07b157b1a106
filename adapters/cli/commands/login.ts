/**
 * `tug login [--username U] [--password-stdin] [SERVER]`: checks the credentials against the registry, then
 * stores them where `docker login` does, so `tug pull` (and docker, podman, skopeo) use them.
 *
 * @module
 */
import process from "node:process";
import { Buffer } from "node:buffer";
import { defineCommand, UsageError } from "../_args.ts";
import { VERSION } from "./version.ts";
import { TugError } from "../../../src/errors.ts";
import { createRegistryFetch } from "../../../src/registry/create_registry_fetch.ts";
import { singleAttempt } from "../../../src/registry/retry_policy.ts";
import { lookupEndpoints } from "../../../src/registry/lookup_endpoints.ts";
import { TokenCache } from "../../../src/registry/token_cache.ts";
import type { FetchLike } from "../../../src/registry/types.ts";
import { describeNetworkError } from "../../../src/registry/describe_network_error.ts";
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
  args: { min: 0, max: 1 },
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

/**
 * Asks a question on the terminal and reads one line; with `hidden`, what is typed is not echoed.
 *
 * The terminal is put in raw mode and the line is read key by key, with no readline: readline redraws its
 * own (empty) prompt over the line when it starts, which erased the "Password: " written before it (in
 * Deno and in Node alike). Backspace deletes, Enter ends the line, Ctrl-C aborts the login, Ctrl-D on an
 * empty line ends it empty.
 */
function ask(question: string, hidden: boolean): Promise<string> {
  const stdin = process.stdin;
  // Raw mode before the prompt shows: keys typed as soon as it appears are never echoed by the terminal.
  stdin.setRawMode(true);
  process.stdout.write(question);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let answer = "";
    const finish = (error?: TugError) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      // The line ends as the user's Enter would have ended it, in cooked mode again.
      process.stdout.write("\n");
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (chunk: Uint8Array | string) => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      if (text.startsWith("\u001b")) return; // an arrow or function key: not part of the answer
      for (const key of text) {
        if (key === "\r" || key === "\n") return finish();
        if (key === "\u0003") return finish(new TugError("ABORTED", "The login was interrupted"));
        if (key === "\u0004") {
          if (answer === "") return finish();
          continue;
        }
        if (key === "\u007f" || key === "\b") {
          if (answer !== "") {
            answer = [...answer].slice(0, -1).join("");
            if (!hidden) process.stdout.write("\b \b");
          }
          continue;
        }
        if (key < " ") continue; // other control keys are not part of the answer
        answer += key;
        if (!hidden) process.stdout.write(key);
      }
    };
    stdin.on("data", onData);
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
      (lastError !== undefined ? ` (${describeNetworkError(lastError)})` : ""),
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
  const args = LOGIN.parseOrHelp(argv, (text) => process.stdout.write(text));
  if (!args) return 0;
  const { flags, positionals } = args;
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
