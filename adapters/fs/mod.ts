/**
 * tug's adapters for Deno and Node file systems.
 *
 * @module
 */

export * from "./docker_config.ts";
