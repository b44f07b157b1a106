/**
 * `tug logout [SERVER]`: forgets the stored credentials of a registry, as `docker logout` does.
 *
 * @module
 */
import process from "node:process";
import { defineCommand } from "../_args.ts";
import {
  dockerConfigPath,
  helperFor,
  loginServer,
  readDockerConfig,
  runCredentialHelper,
  writeDockerConfig,
} from "../_docker_config_file.ts";

const LOGOUT = defineCommand({
  synopsis: `Usage: tug logout [SERVER]

Log out from a registry (default Docker Hub): remove its entry from "auths" in $DOCKER_CONFIG/config.json
(or ~/.docker/config.json), and erase it from the credential helper when one is configured for SERVER.`,
  flags: {},
  args: { min: 0, max: 1 },
});

/**
 * Runs `tug logout` with `argv` (the arguments after `logout`) and returns the exit code.
 *
 * @example
 * ```ts
 * import { logoutCommand } from "./logout.ts";
 *
 * console.assert((await logoutCommand(["--help"])) === 0);
 * ```
 */
export async function logoutCommand(argv: string[]): Promise<number> {
  const args = LOGOUT.parseOrHelp(argv, (text) => process.stdout.write(text));
  if (!args) return 0;
  const { positionals } = args;
  const server = loginServer(positionals[0]);
  const path = dockerConfigPath();
  const config = await readDockerConfig(path);
  const auths = (typeof config.auths === "object" && config.auths !== null ? config.auths : {}) as Record<
    string,
    unknown
  >;
  const helper = helperFor(config, server.key);
  const inFile = Object.hasOwn(auths, server.key);
  if (!inFile && helper === undefined) {
    // docker logout: "Not logged in to SERVER", exit 0.
    process.stdout.write(`Not logged in to ${server.key}\n`);
    return 0;
  }
  process.stdout.write(`Removing login credentials for ${server.key}\n`);
  if (helper !== undefined) {
    await runCredentialHelper(helper, "erase", server.key).catch((err: Error) => {
      // A helper that never had them says so; that is what logout wants anyway.
      if (!/not found/i.test(err.message)) throw err;
    });
  }
  if (inFile) {
    delete auths[server.key];
    config.auths = auths;
    await writeDockerConfig(path, config);
  }
  return 0;
}
