/**
 * The fetch every command that talks to a registry uses: TLS per host as Docker sets it up (insecure
 * registries over https without verification, CAs and client certificates from certs.d), see
 * `adapters/fs/registry_tls.ts`. certs.d is read from Docker's folder, `/etc/docker/certs.d/HOST/`, then
 * from `certs.d/HOST/` beside tug's config file (`~/.config/tug/certs.d/HOST/`), for users without root.
 *
 * @module
 */
import path from "node:path";
import { configFilePath } from "../host.ts";
import { createRegistryTlsFetch, DOCKER_CERTS_DIR } from "../../fs/registry_tls.ts";

/** The certs.d folders the command line reads, in order. */
export function certsDirs(): string[] {
  return [DOCKER_CERTS_DIR, path.join(path.dirname(configFilePath()), "certs.d")];
}

/** A registry fetch for `insecureRegistries`; dispose of it when the command is done. */
export function registryFetch(
  insecureRegistries: readonly string[],
): ReturnType<typeof createRegistryTlsFetch> {
  return createRegistryTlsFetch({ insecureRegistries, certsDirs: certsDirs() });
}
