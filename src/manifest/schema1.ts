// This module is browser compatible.
/**
 * Docker image manifest v2, schema 1 (distribution's manifest-v2-1.md): the legacy format, signed with a
 * JSON Web Signature in libtrust's "pretty" form (a `signatures` key appended to the JSON) or unsigned.
 * Parsing recovers the canonical payload (the bytes that were signed, whose digest is the manifest's
 * digest) and validates the layer chain as Docker's puller does before it trusts the manifest.
 *
 * @module
 */

import { checkDocumentSize, Checker, describe, isDigest, isObject } from "./_validate.ts";
import { isSchema1MediaType } from "./media_types.ts";
import { MAX_MANIFEST_SIZE } from "./parse_manifest.ts";

/** One layer of a schema 1 manifest, as its `v1Compatibility` history entry describes it. */
export interface Schema1Layer {
  /** The legacy v1 image ID (64 hex). */
  readonly id: string;
  /** The v1 ID of the layer below, or undefined for the base layer. */
  readonly parent?: string;
  /** Digest of the compressed layer blob (`fsLayers[].blobSum`). */
  readonly blobSum: string;
  /** Whether the layer is marked `throwaway` (an empty layer Docker does not download or record). */
  readonly throwaway: boolean;
  /** The `v1Compatibility` JSON text, unchanged. */
  readonly v1Compatibility: string;
}

/** A parsed and validated schema 1 manifest. */
export interface Schema1Manifest {
  /** The repository name the manifest says it belongs to. */
  readonly name: string;
  /** The tag it was pushed under. */
  readonly tag: string;
  /** The architecture it declares (may be empty). */
  readonly architecture: string;
  /**
   * The layers, base first (the manifest lists them top first), with consecutive repeats of one ID
   * collapsed as Docker's puller does.
   */
  readonly layers: readonly Schema1Layer[];
  /** Whether the manifest carried a `signatures` key (`+prettyjws`). */
  readonly signed: boolean;
  /** The signed payload: the bytes without the signatures; its digest is the manifest's digest. */
  readonly canonical: Uint8Array;
  /** The bytes as received. */
  readonly bytes: Uint8Array;
}

/** Options for {@linkcode parseSchema1Manifest}. */
export interface ParseSchema1ManifestOptions {
  /** What the bytes are, for error messages (e.g. a reference). */
  source?: string;
}

const decoder = new TextDecoder("utf-8", { fatal: true });
const V1_ID = /^[a-f0-9]{64}$/;

/**
 * Whether a manifest the registry sent is a schema 1 manifest: its `Content-Type` is a schema 1 type, or
 * (registries that label it `application/json`) its JSON says `"schemaVersion": 1`.
 *
 * @example
 * ```ts
 * import { isSchema1Manifest } from "./schema1.ts";
 *
 * const bytes = new TextEncoder().encode('{"schemaVersion": 1}');
 * console.assert(isSchema1Manifest(bytes, "application/json"));
 * console.assert(isSchema1Manifest(new Uint8Array(), "application/vnd.docker.distribution.manifest.v1+prettyjws"));
 * ```
 */
export function isSchema1Manifest(bytes: Uint8Array, contentType = ""): boolean {
  const base = contentType.split(";", 1)[0].trim().toLowerCase();
  if (isSchema1MediaType(base)) return true;
  if (base !== "" && base !== "application/json" && base !== "text/plain") return false;
  try {
    const doc = JSON.parse(decoder.decode(bytes));
    return isObject(doc) && doc.schemaVersion === 1;
  } catch {
    return false;
  }
}

/**
 * Parses a schema 1 manifest, signed or not, and validates it as Docker does before pulling it.
 *
 * The digest of a signed manifest is not over the bytes received but over libtrust's canonical payload:
 * every signature's protected header holds `formatLength` and `formatTail`, and the payload is
 * `bytes[0:formatLength]` followed by the base64url-decoded `formatTail` (the original closing brace
 * and whitespace the `signatures` key was inserted before). The manifest fields are read from that
 * payload, never from the unsigned remainder. Signatures themselves are not verified: like Docker, tug
 * trusts a schema 1 manifest through its digest, not through the throwaway keys that sign it.
 *
 * Validation follows moby's `verifySchema1Manifest` and `fixManifestLayers`: `schemaVersion` 1, as
 * many `fsLayers` as `history` entries, at least one layer, every `blobSum` a digest, every
 * `v1Compatibility` a JSON object with a 64-hex `id`, no parent on the base layer, an ID repeated
 * only right after itself (such repeats are collapsed), and every layer's `parent` the ID below it.
 *
 * @param bytes The manifest as received (at most 4 MiB).
 * @param options `source` names the manifest in error messages.
 * @returns The layers base first, the canonical payload, and the manifest's name, tag and architecture.
 * @throws {TugError} `MANIFEST_TOO_LARGE`, or `MANIFEST_INVALID` naming what is wrong.
 *
 * @example Parse an unsigned schema 1 manifest
 * ```ts
 * import { parseSchema1Manifest } from "./schema1.ts";
 *
 * const id = "a".repeat(64);
 * const json = JSON.stringify({
 *   schemaVersion: 1,
 *   name: "tug/legacy",
 *   tag: "v1",
 *   architecture: "amd64",
 *   fsLayers: [{ blobSum: `sha256:${"b".repeat(64)}` }],
 *   history: [{ v1Compatibility: JSON.stringify({ id, os: "linux" }) }],
 * });
 * const manifest = parseSchema1Manifest(new TextEncoder().encode(json));
 * console.assert(manifest.layers[0].id === id);
 * console.assert(!manifest.signed);
 * ```
 */
export function parseSchema1Manifest(
  bytes: Uint8Array,
  options: ParseSchema1ManifestOptions = {},
): Schema1Manifest {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`parseSchema1Manifest() expects a Uint8Array, got ${describe(bytes)}`);
  }
  const what = options.source === undefined
    ? "schema 1 manifest"
    : `schema 1 manifest ${JSON.stringify(options.source)}`;
  checkDocumentSize(bytes, MAX_MANIFEST_SIZE, what);
  const check: Checker = new Checker("MANIFEST_INVALID", what);
  const outer = check.jsonObject(bytes);
  const signed = outer.signatures !== undefined;
  const canonical = signed ? canonicalPayload(check, bytes, outer.signatures) : bytes;
  const doc = signed ? check.jsonObject(canonical, "the signed payload: ") : outer;

  // moby verifySchema1Manifest.
  if (doc.schemaVersion !== 1) check.fail(`unsupported schema version ${describe(doc.schemaVersion)}`);
  check.string(doc.name, "name", { optional: true });
  check.string(doc.tag, "tag", { optional: true });
  check.string(doc.architecture, "architecture", { optional: true });
  const fsLayers = doc.fsLayers;
  const history = doc.history;
  if (!Array.isArray(fsLayers)) check.fail(`fsLayers must be an array, got ${describe(fsLayers)}`);
  if (!Array.isArray(history)) check.fail(`history must be an array, got ${describe(history)}`);
  if (fsLayers.length !== history.length) {
    check.fail(`length of history (${history.length}) not equal to number of layers (${fsLayers.length})`);
  }
  if (fsLayers.length === 0) check.fail("no FSLayers in manifest");

  // moby fixManifestLayers: decode every v1Compatibility, then check the chain top to bottom.
  const entries = fsLayers.map((layer: unknown, i: number) => {
    if (!isObject(layer) || !isDigest(layer.blobSum)) {
      check.fail(
        `fsLayers[${i}].blobSum must be a digest, got ${describe(isObject(layer) ? layer.blobSum : layer)}`,
      );
    }
    const entry = history[i];
    if (!isObject(entry) || typeof entry.v1Compatibility !== "string") {
      check.fail(`history[${i}].v1Compatibility must be a string`);
    }
    let v1: unknown;
    try {
      v1 = JSON.parse(entry.v1Compatibility);
    } catch (err) {
      check.fail(`history[${i}].v1Compatibility is not valid JSON (${(err as Error).message})`, err);
    }
    if (!isObject(v1)) check.fail(`history[${i}].v1Compatibility must be a JSON object`);
    if (typeof v1.id !== "string" || !V1_ID.test(v1.id)) {
      check.fail(
        `history[${i}].v1Compatibility has an invalid image ID ${describe(v1.id)} (expected 64 hex)`,
      );
    }
    if (v1.parent !== undefined && typeof v1.parent !== "string") {
      check.fail(`history[${i}].v1Compatibility.parent must be a string, got ${describe(v1.parent)}`);
    }
    return {
      id: v1.id,
      parent: (v1.parent as string | undefined) || undefined,
      blobSum: layer.blobSum as string,
      throwaway: v1.throwaway === true,
      v1Compatibility: entry.v1Compatibility,
    } satisfies Schema1Layer;
  });
  if (entries[entries.length - 1].parent !== undefined) {
    check.fail("invalid parent ID in the base layer of the image");
  }
  const seen = new Set<string>();
  let lastId = "";
  for (const entry of entries) {
    // A repeat right after itself is collapsed below; anywhere else it would make a cycle.
    if (entry.id !== lastId && seen.has(entry.id)) {
      check.fail(`ID ${entry.id} appears multiple times in manifest`);
    }
    lastId = entry.id;
    seen.add(entry.id);
  }
  const layers: Schema1Layer[] = [entries[entries.length - 1]];
  for (let i = entries.length - 2; i >= 0; i--) {
    const below = entries[i + 1];
    if (entries[i].id === below.id) continue;
    if (entries[i].parent !== below.id) {
      check.fail(`invalid parent ID. Expected ${below.id}, got ${entries[i].parent ?? ""}`);
    }
    layers.push(entries[i]);
  }
  return {
    name: (doc.name as string | undefined) ?? "",
    tag: (doc.tag as string | undefined) ?? "",
    architecture: (doc.architecture as string | undefined) ?? "",
    layers,
    signed,
    canonical,
    bytes,
  };
}

// libtrust's ParsePrettySignature: every signature's protected header must agree on formatLength and
// formatTail; the payload is the document cut at formatLength with the tail put back.
function canonicalPayload(check: Checker, bytes: Uint8Array, signatures: unknown): Uint8Array {
  if (!Array.isArray(signatures) || signatures.length === 0) {
    check.fail(`signatures must be a non-empty array, got ${describe(signatures)}`);
  }
  let formatLength: number | undefined;
  let formatTail: Uint8Array | undefined;
  for (let i = 0; i < signatures.length; i++) {
    const signature = signatures[i];
    if (!isObject(signature) || typeof signature.protected !== "string") {
      check.fail(`signatures[${i}].protected must be a string`);
    }
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder().decode(base64UrlDecode(signature.protected)));
    } catch (err) {
      check.fail(`signatures[${i}].protected is not base64url-encoded JSON`, err);
    }
    if (!isObject(header)) check.fail(`signatures[${i}].protected is not a JSON object`);
    const length = header.formatLength;
    if (typeof length !== "number" || !Number.isSafeInteger(length) || length < 0) {
      check.fail(`signatures[${i}] has an invalid formatLength ${describe(length)}`);
    }
    if (typeof header.formatTail !== "string") {
      check.fail(`signatures[${i}] has an invalid formatTail ${describe(header.formatTail)}`);
    }
    let tail: Uint8Array;
    try {
      tail = base64UrlDecode(header.formatTail);
    } catch (err) {
      check.fail(`signatures[${i}].formatTail is not base64url`, err);
    }
    if (formatLength === undefined) formatLength = length;
    else if (formatLength !== length) check.fail("conflicting format length in the signatures");
    if (formatTail === undefined || formatTail.length === 0) formatTail = tail;
    else if (!sameBytes(formatTail, tail)) check.fail("conflicting format tail in the signatures");
  }
  if (formatLength! > bytes.length) {
    check.fail(`invalid format length ${formatLength}: the manifest has only ${bytes.length} bytes`);
  }
  const payload = new Uint8Array(formatLength! + formatTail!.length);
  payload.set(bytes.subarray(0, formatLength));
  payload.set(formatTail!, formatLength);
  return payload;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// JOSE base64url without padding (RFC 7515 §2); libtrust adds the padding back before decoding.
function base64UrlDecode(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*=*$/.test(text)) throw new SyntaxError("not base64url");
  const b64 = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
