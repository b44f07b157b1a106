/**
 * tug's adapters for Deno and Node file systems.
 *
 * @module
 */

export * from "./docker_config.ts";
export * from "./registry_tls.ts";
export * from "./oci_layout_store.ts";
export * from "./unpack.ts";
export * from "./save.ts";
