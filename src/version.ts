// This module is browser compatible.
/**
 * tug's version: the one place it is spelled in code (deno.json's `version` must match; a test checks).
 *
 * @module
 */

/**
 * tug's version, printed by `tug version` and sent in the default `User-Agent`.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 *
 * console.assert(/^\d+\.\d+\.\d+/.test(VERSION));
 * ```
 */
export const VERSION = "0.1.0";
