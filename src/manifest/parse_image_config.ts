// This module is browser compatible.
/**
 * Parsing and validation of an image configuration (image-spec config.md, Docker's image JSON).
 *
 * @module
 */
import { checkDocumentSize, Checker, describe, isObject } from "./_validate.ts";
import { MAX_MANIFEST_SIZE } from "./parse_manifest.ts";
import type { ImageConfig } from "./types.ts";

/** Options for {@linkcode parseImageConfig}. */
export interface ParseImageConfigOptions {
  /** What the bytes are, for error messages: usually the config's digest. */
  source?: string;
}

/**
 * Parses and validates an image configuration, capped at the manifest limit (4 MiB).
 *
 * Checked, as Docker does before it registers layers: a JSON object; `os` and `architecture` non-empty
 * strings; `rootfs` present with `type` exactly `"layers"` and `diff_ids` an array of digests (Docker
 * reports "invalid rootfs in image configuration" otherwise). Optional fields, when present, must have
 * the right JSON type (`variant`, `os.version`, `created`, `author` strings; `config` an object; `history` an array of
 * objects; a `null` config or history is dropped). Unknown fields are kept. All failures are a {@linkcode TugError}
 * `CONFIG_INVALID` naming the field (`MANIFEST_TOO_LARGE` above the cap).
 *
 * Whether `diff_ids` has one entry per layer of the manifest is the puller's check (`LAYERS_MISMATCH`).
 *
 * @example
 * ```ts
 * import { parseImageConfig } from "./parse_image_config.ts";
 *
 * const json = JSON.stringify({
 *   architecture: "amd64",
 *   os: "linux",
 *   rootfs: { type: "layers", diff_ids: [`sha256:${"b".repeat(64)}`] },
 * });
 * const config = parseImageConfig(new TextEncoder().encode(json));
 * console.assert(config.rootfs.diff_ids.length === 1);
 * ```
 */
export function parseImageConfig(bytes: Uint8Array, options: ParseImageConfigOptions = {}): ImageConfig {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`parseImageConfig() expects a Uint8Array, got ${describe(bytes)}`);
  }
  const what = options.source === undefined
    ? "image config"
    : `image config ${JSON.stringify(options.source)}`;
  checkDocumentSize(bytes, MAX_MANIFEST_SIZE, what);
  const check: Checker = new Checker("CONFIG_INVALID", what);
  const doc = check.jsonObject(bytes);

  check.string(doc.os, "os", { nonEmpty: true });
  check.string(doc.architecture, "architecture", { nonEmpty: true });
  check.string(doc.variant, "variant", { optional: true });
  check.string(doc["os.version"], '"os.version"', { optional: true });
  check.stringArray(doc["os.features"], '"os.features"');
  check.string(doc.created, "created", { optional: true });
  check.string(doc.author, "author", { optional: true });

  const rootfs = doc.rootfs;
  if (!isObject(rootfs)) check.fail(`rootfs must be an object, got ${describe(rootfs)}`);
  if (rootfs.type !== "layers") check.fail(`rootfs.type must be "layers", got ${describe(rootfs.type)}`);
  const diffIds = rootfs.diff_ids;
  if (!Array.isArray(diffIds)) check.fail(`rootfs.diff_ids must be an array, got ${describe(diffIds)}`);
  for (let i = 0; i < diffIds.length; i++) check.digest(diffIds[i], `rootfs.diff_ids[${i}]`);

  // A `null` config or history (written by some old tools) is dropped so the result matches ImageConfig.
  if (doc.config === null) delete doc.config;
  if (doc.history === null) delete doc.history;
  if (doc.config !== undefined && !isObject(doc.config)) {
    check.fail(`config must be an object, got ${describe(doc.config)}`);
  }
  const history = doc.history;
  if (history !== undefined) {
    if (!Array.isArray(history)) check.fail(`history must be an array, got ${describe(history)}`);
    for (let i = 0; i < history.length; i++) {
      if (!isObject(history[i])) check.fail(`history[${i}] must be an object, got ${describe(history[i])}`);
    }
  }
  return doc as unknown as ImageConfig;
}
