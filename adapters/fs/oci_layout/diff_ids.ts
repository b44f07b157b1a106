/**
 * The diffIDs found for layer blobs (see `DiffIdStore` in src/store/types.ts), one small file per layer:
 * `DIR/.tug/diffids/<alg>-<hex>` holds the diffID, e.g. `sha256:…`. Written to a temp file and renamed, so a
 * reader sees a whole record or none; a record that does not parse is taken as absent (checked again).
 *
 * @module
 */

import { makeDirs, readText, removeFile, renamePath, writeNewFile } from "../_file_ops.ts";
import { join } from "node:path";
import { parseDigest } from "../../../src/digest/parse_digest.ts";
import type { DiffIdStore } from "../../../src/store/types.ts";
import { errno, ioError, type Paths, tempPath } from "./paths.ts";

/** The `.tug/diffids/` records of one layout. */
export class FsDiffIdStore implements DiffIdStore {
  readonly #dir: string;
  readonly #paths: Paths;

  constructor(paths: Paths) {
    this.#paths = paths;
    this.#dir = join(paths.dir, ".tug", "diffids");
  }

  #path(layerDigest: string): string {
    const d = parseDigest(layerDigest);
    return join(this.#dir, `${d.algorithm}-${d.hex}`);
  }

  async get(layerDigest: string): Promise<string | undefined> {
    let text: string;
    try {
      text = (await readText(this.#path(layerDigest))).trim();
    } catch (err) {
      if (errno(err) === "ENOENT") return undefined;
      throw ioError(`Cannot read the diffID record of ${layerDigest}`, err);
    }
    try {
      return parseDigest(text).toString();
    } catch {
      return undefined;
    }
  }

  async set(layerDigest: string, diffId: string): Promise<void> {
    const path = this.#path(layerDigest);
    const value = parseDigest(diffId).toString();
    const temp = tempPath(this.#paths, "diffid");
    try {
      await makeDirs(this.#dir);
      await writeNewFile(temp, value + "\n", { mode: 0o644 });
      await renamePath(temp, path);
    } catch (err) {
      await removeFile(temp).catch(() => {});
      throw ioError(`Cannot record the diffID of ${layerDigest}`, err);
    }
  }
}
