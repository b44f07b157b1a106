// This module is browser compatible.
/**
 * Normalization of tar member names into clean relative paths.
 *
 * @module
 */

/** The result of {@linkcode normalizeTarPath}. */
export interface NormalizedTarPath {
  /** The clean relative path: no leading `./` or `/`, no `//`, `.` or `..`, no trailing slash; `""` is the root. */
  path: string;
  /** False when `..` would climb above the root; `path` is then clamped at the root, as a chroot would. */
  safe: boolean;
}

/**
 * Turns a tar member name (`./usr//bin/`, `/etc/passwd`, `a/../b`) into a clean path relative to the layer
 * root. Names that climb out of the root (`../x`, `a/../../x`) are flagged rather than refused, so that a
 * listing can still show them; whoever writes to disk must refuse them.
 *
 * @param name The member name as stored in the tar.
 * @returns The clean path and whether it stays inside the root.
 *
 * @example
 * ```ts
 * import { normalizeTarPath } from "./normalize_tar_path.ts";
 *
 * console.assert(normalizeTarPath("./usr//bin/").path === "usr/bin");
 * console.assert(normalizeTarPath("/etc/passwd").path === "etc/passwd");
 * console.assert(normalizeTarPath("../etc/shadow").safe === false);
 * ```
 */
export function normalizeTarPath(name: string): NormalizedTarPath {
  const parts: string[] = [];
  let safe = true;
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) safe = false;
      else parts.pop();
      continue;
    }
    parts.push(part);
  }
  return { path: parts.join("/"), safe };
}
