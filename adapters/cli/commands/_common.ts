/**
 * What several commands share: the `--store DIR` flag and opening the store it names.
 *
 * @module
 */
import { defaultStoreDir } from "../host.ts";
import { OciLayoutStore, type OciLayoutStoreOptions } from "../../fs/oci_layout_store.ts";

/** `--store DIR`, as every command that reads or writes the store takes it. */
export const STORE_FLAG = {
  type: "string",
  value: "DIR",
  help: "Store folder (default: $TUG_STORE or ~/.local/share/tug/store)",
} as const;

/**
 * Opens the store `--store` names, else the default one ({@linkcode defaultStoreDir}).
 *
 * @example
 * ```ts ignore
 * const store = await openStore(flags.store);
 * ```
 */
export function openStore(dir: string | undefined, options?: OciLayoutStoreOptions): Promise<OciLayoutStore> {
  return OciLayoutStore.open(dir ?? defaultStoreDir(), options);
}
