/**
 * `tug inspect [--store DIR] [--remote] [--platform P] NAME` (also `tug image inspect`): an image's manifest
 * and config as JSON, from the store or, with --remote, from the registry.
 *
 * @module
 */
import process from "node:process";
import { defineCommand } from "../_args.ts";
import { registryFetch } from "./_registry_fetch.ts";
import { openExistingStore, platformFlag, STORE_FLAG } from "./_common.ts";
import { TugError } from "../../../src/errors.ts";
import { parseManifest } from "../../../src/manifest/parse_manifest.ts";
import { parseImageConfig } from "../../../src/manifest/parse_image_config.ts";
import { parsePlatform } from "../../../src/manifest/parse_platform.ts";
import { selectManifest } from "../../../src/manifest/select_manifest.ts";
import type { Descriptor } from "../../../src/manifest/types.ts";
import { parseReference } from "../../../src/reference/parse_reference.ts";
import { inspectRemote } from "../../../src/pull/inspect_remote.ts";
import { dockerCredentials } from "../../fs/docker_config.ts";
import { readSmallBlob } from "../../fs/resolve_image.ts";

const INSPECT = defineCommand({
  synopsis: `Usage: tug inspect [OPTIONS] NAME[:TAG|@DIGEST]

Show an image's manifest and config as JSON, from the store (or from the registry with --remote).`,
  flags: {
    remote: { type: "boolean", help: "Ask the registry instead of the store" },
    platform: {
      type: "string",
      value: "P",
      help: "The platform image of a multi-platform index (default: the host's)",
    },
    "insecure-registry": {
      type: "list",
      value: "H",
      help: "With --remote: a registry that may use plain http (repeatable)",
    },
    store: STORE_FLAG,
  },
  args: { min: 1, max: 1 },
  column: 24,
});

/** `tug inspect [--store DIR] [--remote] [--platform P] NAME`. */
export async function inspectCommand(argv: string[]): Promise<number> {
  const args = INSPECT.parseOrHelp(argv, (text) => process.stdout.write(text));
  if (!args) return 0;
  const { flags, positionals } = args;
  const platform = platformFlag(flags.platform);
  const ref = parseReference(positionals[0]);
  if (flags.remote) {
    const fetch = registryFetch(flags["insecure-registry"] ?? []);
    try {
      const image = await inspectRemote(ref, {
        fetch,
        platform,
        credentials: dockerCredentials(),
        insecureRegistries: flags["insecure-registry"],
      });
      process.stdout.write(JSON.stringify(image, null, 2) + "\n");
    } finally {
      fetch.close();
    }
    return 0;
  }
  const store = await openExistingStore(flags.store);
  const full = ref.tag === undefined && ref.digest === undefined ? `${ref.name}:latest` : ref.toString();
  const key = ref.tag !== undefined && ref.digest !== undefined ? `${ref.name}@${ref.digest}` : full;
  const descriptor = await store.references.get(key);
  if (!descriptor) {
    throw new TugError(
      "NOT_FOUND",
      `No such image in the store: ${ref.familiar} (pull it first, or use --remote)`,
    );
  }
  // The same shape as `--remote` prints: the index (when the reference names one), then the manifest and
  // config of the platform image (--platform, default the host's) when the store holds it.
  const parsed = parseManifest(await readSmallBlob(store, descriptor), { contentType: descriptor.mediaType });
  const out: Record<string, unknown> = { reference: key, descriptor };
  let manifestDescriptor: Descriptor | undefined = descriptor;
  let manifest = parsed.kind === "manifest" ? parsed.manifest : undefined;
  if (parsed.kind === "index") {
    out.index = parsed.index;
    manifestDescriptor = selectManifest(parsed.index, parsePlatform(platform));
    manifest = undefined;
    if (await store.blobs.stat(manifestDescriptor.digest)) {
      const child = parseManifest(await readSmallBlob(store, manifestDescriptor), {
        contentType: manifestDescriptor.mediaType,
      });
      if (child.kind === "manifest") manifest = child.manifest;
    }
  }
  if (manifest && manifestDescriptor) {
    out.manifestDescriptor = manifestDescriptor;
    out.manifest = manifest;
    out.config = parseImageConfig(await readSmallBlob(store, manifest.config));
  }
  process.stdout.write(JSON.stringify(out, null, 2) + "\n");
  return 0;
}
