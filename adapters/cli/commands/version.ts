/**
 * `tug version` (also `tug --version`): prints tug's version.
 *
 * @module
 */
import process from "node:process";
import { VERSION } from "../../../src/version.ts";

export { VERSION };

/**
 * Prints `tug VERSION` and returns exit code 0.
 *
 * @example
 * ```ts
 * import { versionCommand } from "./version.ts";
 *
 * console.assert(versionCommand() === 0);
 * ```
 */
export function versionCommand(): number {
  process.stdout.write(`tug ${VERSION}\n`);
  return 0;
}
