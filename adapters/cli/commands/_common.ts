/**
 * What several commands share: the `--store DIR` flag and the two ways of opening the store it names.
 * Only `tug pull` and `tug serve` make a store where there is none ({@linkcode openOrCreateStore}); every
 * other command opens an existing one ({@linkcode openExistingStore}), so a mistyped `--store /etc` is
 * refused, named, and left as it was.
 *
 * @module
 */
import { defaultStoreDir, hostPlatform } from "../host.ts";
import { UsageError } from "../_args.ts";
import { TugError } from "../../../src/errors.ts";
import { parsePlatform } from "../../../src/manifest/parse_platform.ts";
import { OciLayoutStore, type OciLayoutStoreOptions } from "../../fs/oci_layout_store.ts";
import { isBucketUrl } from "./_bucket_url.ts";

/**
 * The folder `--store` names; a bucket URL is refused: taken as a path, `s3://cache/x` would become a folder
 * `./s3:/cache/x`. Only `tug serve` and `tug prune` take a bucket (they check for one before calling here).
 */
function storeFolder(dir: string | undefined): string {
  const path = dir ?? defaultStoreDir();
  const flag = dir === undefined ? "TUG_STORE" : "--store";
  if (isBucketUrl(path, flag)) {
    throw new UsageError(
      `${flag} ${path}: ${dir === undefined ? "the default store" : "this command's store"} is a folder; ` +
        `pass a bucket as --store s3://… to 'tug serve' or 'tug prune'`,
    );
  }
  return path;
}

/** `--store DIR`, as every command that reads or writes the store takes it. */
export const STORE_FLAG = {
  type: "string",
  value: "DIR",
  help: "Store folder (default: $TUG_STORE or ~/.local/share/tug/store)",
} as const;

/**
 * Opens the store `--store` names (else the default one, {@linkcode defaultStoreDir}), making the folder an
 * OCI image layout when it is not one yet: for the commands that fill a store (pull, serve).
 *
 * @example
 * ```ts ignore
 * const store = await openOrCreateStore(flags.store);
 * ```
 */
export function openOrCreateStore(
  dir: string | undefined,
  options?: OciLayoutStoreOptions,
): Promise<OciLayoutStore> {
  return OciLayoutStore.open(storeFolder(dir), options);
}

/**
 * Opens the store `--store` names (else the default one) only when it already is one: a folder without an
 * `oci-layout` file is refused (`NOT_FOUND`, naming the folder) and nothing is written while opening.
 * `write: true` (rmi, prune, verify --repair) then lets the store add its own `.tug/` folder (locks, temp
 * files) to a layout another tool wrote; reading commands leave such a layout untouched.
 *
 * @example
 * ```ts ignore
 * const store = await openExistingStore(flags.store);
 * const forRmi = await openExistingStore(flags.store, { write: true });
 * ```
 */
export async function openExistingStore(
  dir: string | undefined,
  options: OciLayoutStoreOptions & { write?: boolean } = {},
): Promise<OciLayoutStore> {
  const { write, ...storeOptions } = options;
  const path = storeFolder(dir);
  const store = await OciLayoutStore.open(path, { ...storeOptions, create: false });
  return write ? await OciLayoutStore.open(path, storeOptions) : store;
}

/**
 * The platform `--platform` asks for (default: the host's), checked before anything else happens: a
 * malformed one is a usage error (exit 2) rather than a failure after the registry was contacted.
 *
 * @example
 * ```ts ignore
 * const platform = platformFlag(flags.platform); // "linux/amd64" on an x86-64 machine
 * ```
 */
export function platformFlag(value: string | undefined): string {
  if (value === undefined) return hostPlatform();
  try {
    parsePlatform(value);
  } catch (err) {
    if (err instanceof TugError && err.code === "PLATFORM_INVALID") throw new UsageError(err.message);
    throw err;
  }
  return value;
}
